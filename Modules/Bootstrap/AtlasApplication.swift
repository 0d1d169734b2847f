public import Auth
public import EventLog
public import Idempotency
public import Kernel
public import OpenAPI
public import Postgres

/// One assembled Atlas: its modules wired over one database. Built only by `AtlasBootstrap`; the app
/// serves its router and runs its background services and admin commands, tests drive its router.
public struct AtlasApplication: Sendable {
    public let database: PostgresDatabase
    /// The private cluster the database runs in, when DATABASE_URL was unset.
    public let localCluster: LocalCluster?
    public let modules: [any FeatureModule]
    public let services: ModuleServices
    /// The event log's consumers (run among the background services) and its lag samples for `/metrics`.
    public let eventLog: EventLogService
    /// Idempotency-Keys (their purge runs among the background services).
    public let idempotency: IdempotencyService
    /// Every module's route groups, built once (modules keep per-assembly state such as batchers in them).
    public let routeGroups: [RouteGroup]
    public let backgroundServices: [any BackgroundService]

    public var logger: Logger { services.logger }

    /// Auth's runtime (administration for the admin CLI's sandbox and for tests).
    public var auth: AuthService { services.contracts.require(AuthService.self) }

    /// The platform modules' migrations (event log, idempotency keys): every assembly has them.
    public static var platformMigrations: [Migration] { EventLogService.migrations + IdempotencyService.migrations }

    /// Applies the platform's and every module's pending migrations (under the runner's advisory lock).
    @discardableResult
    public func migrate() async throws -> MigrationReport {
        let report = try await MigrationRunner.run(migrations: Self.platformMigrations + modules.flatMap(\.migrations),
                                                   on: database, logger: logger)
        logger.info("migrations done", ["applied": .int(Int64(report.applied.count)),
                                        "alreadyApplied": .int(Int64(report.alreadyApplied))])
        return report
    }

    /// The router over every module's routes, the API documents (`GET /openapi/<surface>.json`), then
    /// `extraGroups` (the app's operational endpoints, a test's probes).
    public func router(adding extraGroups: [RouteGroup] = [], observer: (any RequestObserver)? = nil) -> Router {
        Router(groups: routeGroups + [OpenAPIPublishing.group(servedDocuments())] + extraGroups, observer: observer)
    }

    /// Every surface's OpenAPI document, generated from the module routes' declarations.
    public func apiDocuments() throws(OpenAPIError) -> [GeneratedDocument] { try AtlasAPIDocuments.generate(routeGroups) }

    /// Invalid declarations must not stop the server: they are logged, and the documents are not served
    /// (`OpenAPITests` fails on them first).
    private func servedDocuments() -> [GeneratedDocument] {
        do {
            return try apiDocuments()
        } catch {
            logger.error("OpenAPI documents not generated", ["problems": .array(error.problems.map(JSONValue.string))])
            return []
        }
    }

    /// Starts every background service; `serve` stops them once the server has drained.
    public func startBackgroundServices() -> RunningBackgroundServices {
        RunningBackgroundServices(backgroundServices, logger: logger)
    }

    /// With the private cluster: the "sandbox" merchant (created on first use) and a fresh test key for it.
    public func createSandboxKey() async throws -> (merchantId: String, secret: String) {
        let merchantId = try await auth.sandboxMerchant()
        let key = try await auth.createSecretKey(merchantId: merchantId, mode: .test, name: "sandbox")
        return (merchantId, key.secret)
    }

    public func close() { database.close() }
}
