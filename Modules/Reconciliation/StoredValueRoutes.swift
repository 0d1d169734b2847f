import AccessContract
import IdempotencyContract
import Kernel

/// The `/api` routes of the offline stored-value backend (terminal-api A.1), beside Auth's `/api` device
/// routes. Roles per the permission matrix (rule 6): every device reads cards (scout included); cards are
/// registered, topped up, blocked and reissued by stations only; terminals and stations reconcile, gates too
/// (each event type needs the role's operation: a gate submits check-ins and check-outs only); reports come
/// from terminals, gates and stations. An unmet role is 403 `insufficient_role`.
struct StoredValueRoutes: Sendable {
    let services: ModuleServices
    let cards: CardHandlers
    let batches: BatchHandlers
    let reports: ReportHandlers

    func group() -> RouteGroup {
        var group = RouteGroup(prefix: "/api", surface: .terminal)
        group.schemas = StoredValueRouteSchemas.components
        typealias Schemas = StoredValueRouteSchemas
        let roles = { (roles: Set<String>) in
            [services.accessGuard.require(AccessRequirement(surface: .terminal, roles: roles))]
        }
        let anyDevice = [services.accessGuard.require(AccessRequirement(surface: .terminal))]
        let station = roles(["station"])
        let submitters = roles(["terminal", "gate", "station"])

        group.post("/cards", middleware: station, schema: Schemas.register, cards.register)
        group.get("/cards/:cardId", middleware: anyDevice, schema: Schemas.read, cards.read)
        // A top-up moves money once per Idempotency-Key (optional, as on every Atlas POST that takes one).
        group.post("/cards/:cardId/topup", middleware: station + [services.idempotencyMiddleware], schema: Schemas.topUp,
                   cards.topUp)
        group.post("/cards/:cardId/block", middleware: station, schema: Schemas.block, cards.block)
        group.post("/cards/:cardId/reissue", middleware: station, schema: Schemas.reissue, cards.reissue)
        // Counted in the device's batch-upload bucket (a backlog goes up at once; docs/reconciliation.md).
        let uploaders = [services.accessGuard.require(AccessRequirement(
            surface: .terminal, roles: ["terminal", "gate", "station"], rateLimitBucket: .batchUpload))]
        group.post("/reconcile", middleware: uploaders, schema: Schemas.reconcile, batches.reconcile)
        group.post("/terminal-report", middleware: submitters, schema: Schemas.report, reports.report)
        return group
    }
}
