import AccessContract
import Crypto
import Kernel
import Postgres

/// The one composition root: builds an `AtlasApplication` from a module list and the platform services.
/// `Apps/atlas` calls `open`; test fixtures call `assemble` with the modules they need, a test clock,
/// module settings (batching off, a test acquirer) or contract overrides.
public enum AtlasBootstrap {
    /// What a process runs: the database (DATABASE_URL, or the private cluster under `.local/postgres`
    /// when unset), the system clock, OpenSSL, and every product module configured from `configuration`.
    public static func open(_ configuration: AtlasConfiguration) async throws -> AtlasApplication {
        let logger = Logger(label: "atlas", minimumLevel: configuration.logLevel)
        var localCluster: LocalCluster?
        let url: String
        if let configured = configuration.databaseURL {
            url = configured
        } else {
            let cluster = try LocalCluster(dataDirectory: configuration.localDatabaseDirectory,
                                           port: configuration.localDatabasePort, logger: logger)
            url = try await cluster.start()
            logger.info("DATABASE_URL is not set: using the private PostgreSQL cluster",
                        ["directory": .string(cluster.dataDirectory)])
            localCluster = cluster
        }
        let database = PostgresDatabase(configuration: PostgresConfiguration(
            url: url, applicationName: "atlas",
            pool: PoolLimits(connectionsMax: configuration.databaseConnectionsMax,
                             acquireTimeoutSeconds: Double(configuration.databaseAcquireTimeoutSeconds)),
            preparedStatementsMax: configuration.databasePreparedStatementsMax),
            logger: logger)
        return assemble(modules: AtlasModules.all(configuration), database: database, logger: logger,
                        localCluster: localCluster)
    }

    /// Wires `modules` over one database: collects their access declarations into the `AccessCatalog`,
    /// lets each provide its contracts (in order), applies `overrides` (test doubles), builds the event bus
    /// from their handlers, then their routes and background services. No I/O: migrate separately.
    public static func assemble(modules: [any FeatureModule], database: PostgresDatabase,
                                clock: any WallClock = SystemWallClock(), crypto: any CryptoService = OpenSSLCryptoService(),
                                logger: Logger, localCluster: LocalCluster? = nil,
                                overrides: (inout ContractRegistry) -> Void = { _ in }) -> AtlasApplication {
        let platform = PlatformServices(database: database, clock: clock, crypto: crypto, logger: logger)
        var contracts = ContractRegistry()
        contracts.register(AccessCatalog(modules: modules), as: AccessCatalog.self)
        for module in modules { module.provideContracts(platform, into: &contracts) }
        overrides(&contracts)
        // Handlers are built with a bus that delivers nowhere, then the real bus delivers to them.
        let silent = ModuleServices(platform: platform, events: InMemoryEventBus(handlers: []), contracts: contracts)
        let handlers = modules.flatMap { $0.eventHandlers(services: silent) }
        let services = ModuleServices(platform: platform, events: InMemoryEventBus(handlers: handlers), contracts: contracts)
        return AtlasApplication(database: database, localCluster: localCluster, modules: modules, services: services,
                                routeGroups: modules.flatMap { $0.routeGroups(services: services) },
                                backgroundServices: modules.flatMap { $0.backgroundServices(services: services) })
    }
}
