/// What the process gives every module before any module is wired: infrastructure behind Kernel
/// protocols (implemented by Postgres, Crypto and the EventLog platform module). Modules build the
/// contracts they provide from these (`FeatureModule.provideContracts`).
public struct PlatformServices: Sendable {
    public let database: any Database
    public let clock: any WallClock
    public let crypto: any CryptoService
    /// The durable event log, for appending events with the changes that cause them.
    public let eventLog: any EventLogWriter
    public let logger: Logger

    public init(database: any Database, clock: any WallClock, crypto: any CryptoService, eventLog: any EventLogWriter,
                logger: Logger) {
        self.database = database
        self.clock = clock
        self.crypto = crypto
        self.eventLog = eventLog
        self.logger = logger
    }
}

/// What the bootstrap hands every feature module once all modules are wired: the platform services and
/// the contracts other modules provide. Contract targets add typed accessors in extensions (e.g.
/// `services.accessGuard` in AccessContract), so this type does not grow per contract.
public struct ModuleServices: Sendable {
    public let platform: PlatformServices
    public let contracts: ContractRegistry

    public init(platform: PlatformServices, contracts: ContractRegistry) {
        self.platform = platform
        self.contracts = contracts
    }

    public var database: any Database { platform.database }
    public var clock: any WallClock { platform.clock }
    public var crypto: any CryptoService { platform.crypto }
    public var eventLog: any EventLogWriter { platform.eventLog }
    public var logger: Logger { platform.logger }
}
