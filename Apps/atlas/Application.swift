import Accounting
import Auth
import Crypto
import EventLog
import Foundation
import HTTPServer
import Kernel
import Postgres
import Reconciliation
import Rounding
import Transactions
import Webhooks

/// Everything a running Atlas process holds: configuration, database, modules and router.
/// Built once by `serve`, `migrate` and `admin`; feature modules come in through one list.
struct Application {
    let configuration: Configuration
    let logger: Logger
    let database: PostgresDatabase
    let localCluster: LocalCluster?
    let clock: any WallClock
    let crypto: OpenSSLCryptoService
    let auth: AuthModule
    let rounding: RoundingModule
    let modules: [any FeatureModule]
    /// Shared by the event log's writer and its background service: a commit wakes local consumers.
    let eventLogWakeUps = EventLogWakeUps()

    static func open(_ configuration: Configuration) async throws -> Application {
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
                             acquireTimeoutSeconds: Double(configuration.databaseAcquireTimeoutSeconds))),
            logger: logger)
        let clock = SystemWallClock()
        let crypto = OpenSSLCryptoService()
        let auth = AuthModule(database: database, crypto: crypto, clock: clock, logger: logger)
        let rounding = RoundingModule()
        let modules: [any FeatureModule] = [
            auth, TransactionsModule(), ReconciliationModule(), rounding, AccountingModule(), WebhooksModule(),
        ]
        return Application(configuration: configuration, logger: logger, database: database, localCluster: localCluster,
                           clock: clock, crypto: crypto, auth: auth, rounding: rounding, modules: modules)
    }

    func migrate() async throws {
        let report = try await MigrationRunner.run(migrations: EventLogService.migrations + modules.flatMap(\.migrations),
                                                   on: database, logger: logger)
        logger.info("migrations done", ["applied": .int(Int64(report.applied.count)),
                                        "alreadyApplied": .int(Int64(report.alreadyApplied))])
    }

    func services() -> ModuleServices {
        ModuleServices(database: database, clock: clock, crypto: crypto, eventLog: EventLogAppendStore(wakeUps: eventLogWakeUps),
                       logger: logger,
                       accessGuard: auth.accessGuard, idempotency: auth.idempotencyStore,
                       cashRounding: rounding.cashRounding, tenants: auth.tenantDirectory)
    }

    /// The event log's background work with every module's consumers (and the probe, when configured).
    func eventLogService() -> EventLogService {
        let services = services()
        var consumers = modules.flatMap { $0.eventConsumers(services: services) }
        if configuration.eventLogProbeConsumer { consumers.append(EventLogService.probeConsumer) }
        var limits = EventLogService.Limits()
        limits.retention.retentionSeconds = Double(configuration.eventLogRetentionSeconds)
        return EventLogService(database: database, consumers: consumers, wakeUps: eventLogWakeUps, limits: limits,
                               logger: logger)
    }

    func router(metrics: Metrics) -> Router {
        let services = services()
        let groups = modules.flatMap { $0.routeGroups(services: services) }
        let system = SystemRoutes.group(database: database, metrics: metrics, gitCommit: SystemRoutes.detectGitCommit())
        return Router(groups: groups + [system], observer: metrics)
    }
}
