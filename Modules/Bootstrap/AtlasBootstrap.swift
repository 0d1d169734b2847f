import AccessContract
public import Crypto
public import EventLog
import Idempotency
import IdempotencyContract
public import Kernel
public import Postgres

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
                        idempotencyBatching: configuration.idempotencyBatching, eventLogLimits: configuration.eventLogLimits,
                        extraConsumers: configuration.eventLogProbeConsumer ? [EventLogService.probeConsumer] : [],
                        localCluster: localCluster)
    }

    /// Wires `modules` over one database: collects their access declarations into the `AccessCatalog`,
    /// lets each provide its contracts (in order), applies `overrides` (test doubles), then builds their
    /// routes, the event log's consumer service (their consumers plus `extraConsumers`) and the background
    /// services. No I/O: migrate separately.
    public static func assemble(modules: [any FeatureModule], database: PostgresDatabase,
                                clock: any WallClock = SystemWallClock(), crypto: any CryptoService = OpenSSLCryptoService(),
                                logger: Logger, idempotencyBatching: Bool = true,
                                eventLogLimits: EventLogService.Limits = EventLogService.Limits(),
                                extraConsumers: [EventConsumer] = [], localCluster: LocalCluster? = nil,
                                overrides: (inout ContractRegistry) -> Void = { _ in }) -> AtlasApplication {
        // Shared by the writer and the consumer service: a commit on this instance wakes its consumers at once.
        let wakeUps = EventLogWakeUps()
        let platform = PlatformServices(database: database, clock: clock, crypto: crypto,
                                        eventLog: EventLogAppendStore(wakeUps: wakeUps), logger: logger)
        var contracts = ContractRegistry()
        // The platform modules' contracts first: every feature may use them.
        let idempotency = IdempotencyService(database: database, clock: clock, crypto: crypto, logger: logger,
                                             batching: idempotencyBatching)
        contracts.register(idempotency, as: (any IdempotencyProvider).self)
        contracts.register(AccessCatalog(modules: modules), as: AccessCatalog.self)
        for module in modules { module.provideContracts(platform, into: &contracts) }
        overrides(&contracts)
        let services = ModuleServices(platform: platform, contracts: contracts)
        let eventLog = EventLogService(database: database,
                                       consumers: modules.flatMap { $0.eventConsumers(services: services) } + extraConsumers,
                                       wakeUps: wakeUps, limits: eventLogLimits, logger: logger)
        let background = modules.flatMap { $0.backgroundServices(services: services) }
            + [BackgroundTask(name: "event-log") { await eventLog.run() },
               BackgroundTask(name: "idempotency.purge") { await idempotency.runBackgroundTasks() }]
        return AtlasApplication(database: database, localCluster: localCluster, modules: modules, services: services,
                                eventLog: eventLog, idempotency: idempotency, routeGroups: modules.flatMap { $0.routeGroups(services: services) },
                                backgroundServices: background)
    }
}
