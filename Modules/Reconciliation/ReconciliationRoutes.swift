import AccessContract
import IdempotencyContract
import Kernel

/// The `/v1` reconciliation routes (commerce-api §2, rows 12–17). Scopes: closing needs
/// `reconciliation:write`; totals and settlements `reconciliation:read`; a settlement's line items and its
/// export show transactions, so they also need `transactions:read`.
struct ReconciliationRoutes: Sendable {
    static let prefix = "/v1"

    let services: ModuleServices
    let close: CloseDayService
    let settlements: SettlementHandlers
    let totals: TotalsHandlers

    func group() -> RouteGroup {
        var group = RouteGroup(prefix: Self.prefix, errorRenderer: SurfaceErrors.renderer(for: .commerce))
        let scopes = { (scopes: Set<String>) in
            services.accessGuard.require(AccessRequirement(surface: .commerce, scopes: scopes))
        }
        let write = [scopes(["reconciliation:write"]), services.idempotencyMiddleware]
        let read = [scopes(["reconciliation:read"])]
        let readTransactions = [scopes(["reconciliation:read", "transactions:read"])]

        group.post("/reconciliation", middleware: write, close.reconcile)
        group.get("/totals", middleware: read, totals.totals)
        group.get("/settlements", middleware: read, settlements.list)
        group.get("/settlements/:id", middleware: read, settlements.get)
        group.get("/settlements/:id/transactions", middleware: readTransactions, settlements.transactions)
        group.get("/settlements/:id/export", middleware: readTransactions, settlements.export)
        return group
    }
}
