import AccessContract
import IdempotencyContract
import Kernel

/// The `/v1` reconciliation routes (commerce-api §2, rows 12–17). Scopes: closing and retrying a FAILED
/// settlement need `reconciliation:write`; totals and settlements `reconciliation:read`; a settlement's line items and its
/// export show transactions, so they also need `transactions:read`.
struct ReconciliationRoutes: Sendable {
    static let prefix = "/v1"

    let services: ModuleServices
    let close: CloseDayService
    let settlements: SettlementHandlers
    let totals: TotalsHandlers
    let matching: MatchingService

    func group() -> RouteGroup {
        var group = RouteGroup(prefix: Self.prefix, surface: .commerce)
        group.schemas = ReconciliationRouteSchemas.components
        typealias Schemas = ReconciliationRouteSchemas
        let scopes = { (scopes: Set<String>) in
            services.accessGuard.require(AccessRequirement(surface: .commerce, scopes: scopes))
        }
        let write = [scopes(["reconciliation:write"]), services.idempotencyMiddleware]
        let read = [scopes(["reconciliation:read"])]
        let readTransactions = [scopes(["reconciliation:read", "transactions:read"])]

        group.post("/reconciliation", middleware: write, schema: Schemas.close, close.reconcile)
        group.get("/totals", middleware: read, schema: Schemas.totals, totals.totals)
        group.get("/settlements", middleware: read, schema: Schemas.list, settlements.list)
        group.get("/settlements/:id", middleware: read, schema: Schemas.get, settlements.get)
        group.get("/settlements/:id/transactions", middleware: readTransactions, schema: Schemas.transactions,
                  settlements.transactions)
        group.get("/settlements/:id/export", middleware: readTransactions, schema: Schemas.export, settlements.export)
        group.get("/settlements/:id/matching", middleware: readTransactions, schema: Schemas.matching, matching.handle)
        group.post("/settlements/:id/retry", middleware: write, schema: Schemas.retry, close.retry)
        return group
    }
}
