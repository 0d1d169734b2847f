/// What the process gives every module before any module is wired: infrastructure behind Kernel
/// protocols. Modules build the contracts they provide from these (`FeatureModule.provideContracts`).
public struct PlatformServices: Sendable {
    public let database: any Database
    public let clock: any WallClock
    public let crypto: any CryptoService
    public let logger: Logger

    public init(database: any Database, clock: any WallClock, crypto: any CryptoService, logger: Logger) {
        self.database = database
        self.clock = clock
        self.crypto = crypto
        self.logger = logger
    }
}

/// What the bootstrap hands every feature module once all modules are wired: the platform services,
/// the event bus and the contracts other modules provide. Contract targets add typed accessors in
/// extensions (e.g. `services.accessGuard` in AccessContract), so this type does not grow per contract.
public struct ModuleServices: Sendable {
    public let platform: PlatformServices
    public let events: any EventBus
    public let contracts: ContractRegistry

    public init(platform: PlatformServices, events: any EventBus, contracts: ContractRegistry) {
        self.platform = platform
        self.events = events
        self.contracts = contracts
    }

    public var database: any Database { platform.database }
    public var clock: any WallClock { platform.clock }
    public var crypto: any CryptoService { platform.crypto }
    public var logger: Logger { platform.logger }
}

extension ModuleServices {
    /// Durable Idempotency-Key storage (provided by Auth until idempotency becomes its own platform module).
    public var idempotency: any IdempotencyStore { contracts.require((any IdempotencyStore).self) }

    /// The idempotency middleware bound to this process's store and hash.
    public var idempotencyMiddleware: IdempotencyMiddleware {
        let crypto = crypto
        return IdempotencyMiddleware(store: idempotency, hash: { crypto.sha256($0) })
    }

    /// The idempotency middleware with deferred claims (see `IdempotencyMiddleware.deferredClaim`).
    public func idempotencyMiddleware(deferredClaim: Bool) -> IdempotencyMiddleware {
        let crypto = crypto
        return IdempotencyMiddleware(store: idempotency, hash: { crypto.sha256($0) }, deferredClaim: deferredClaim)
    }
}
