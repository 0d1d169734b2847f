import AccessContract
import Foundation
import IdempotencyContract
import Kernel

/// The `/api/v1` cash-rounding surface (spec §1). Every route except health and version needs an
/// `x-api-key` role key; POSTs pass through the idempotency middleware after the access guard. The
/// handlers live in the sub-feature folders (Transactions/, Receipts/, Jurisdictions/, Tips/, Compliance/,
/// Fraud/); health and version in `RoundingStatusHandlers`.
struct RoundingRoutes: Sendable {
    static let prefix = "/api/v1"

    let services: ModuleServices
    let service: RoundingService

    func group() -> RouteGroup {
        var group = RouteGroup(prefix: RoundingRoutes.prefix, errorRenderer: SurfaceErrors.renderer(for: .rounding))
        let guardFor = { (roles: Set<String>) in
            services.accessGuard.require(AccessRequirement(surface: .rounding, roles: roles))
        }
        let idempotency = services.idempotencyMiddleware
        let transact: [any Middleware] = [guardFor(RoundingRoleSets.transact), idempotency]
        let read = [guardFor(RoundingRoleSets.read)]
        let audit = [guardFor(RoundingRoleSets.audit)]
        let admin = [guardFor(RoundingRoleSets.admin)]
        let transactions = TransactionHandlers(service: service)
        let receipts = ReceiptHandlers(service: service)
        let tips = TipHandlers(service: service)
        let compliance = ComplianceHandlers(service: service)
        let fraud = FraudHandlers(service: service)
        let export = ComplianceExport(service: service)
        let database = services.database

        group.get("/health") { _, _ in await RoundingStatusHandlers.health(database) }
        group.get("/version") { _, _ in RoundingStatusHandlers.version() }

        group.post("/transaction", middleware: transact, transactions.sale)
        group.post("/transaction/void", middleware: transact, transactions.void)
        group.post("/transaction/refund", middleware: transact, transactions.refund)
        group.post("/transaction/override", middleware: transact, transactions.override)
        group.get("/transaction/:id/receipt", middleware: read, receipts.receipt)

        group.get("/jurisdiction/zip/:zip_code", middleware: read) { request, _ in
            try JurisdictionHandlers.zip(request, resolver: service.engine.resolver, now: service.clock.now())
        }
        group.get("/jurisdictions", middleware: read) { _, _ in JurisdictionHandlers.list() }

        group.post("/tip/cash", middleware: transact) { try await tips.tip($0, $1, cash: true) }
        group.post("/tip/credit-card", middleware: transact) { try await tips.tip($0, $1, cash: false) }
        group.post("/tip/adjust", middleware: transact, tips.adjust)
        group.post("/tip/pool/create", middleware: transact, tips.createPool)
        group.post("/tip/pool/distribute", middleware: transact, tips.distributePool)

        group.post("/export", middleware: [guardFor(RoundingRoleSets.read), idempotency], export.export)
        group.get("/admin/audit-logs", middleware: audit, compliance.auditLogs)
        group.get("/admin/verify-hash-chain", middleware: audit, compliance.verifyChain)
        group.get("/merchant/:merchant_id/risk-profile", middleware: admin, fraud.riskProfile)
        group.get("/admin/fraud-overview", middleware: admin, fraud.fraudOverview)
        group.post("/admin/merchant/:merchant_id/indiana-method", middleware: admin + [idempotency],
                   compliance.setIndianaMethod)
        group.get("/analytics/voids", middleware: read, compliance.voidAnalytics)
        group.get("/analytics/void-abuse", middleware: audit, compliance.voidAbuse)
        group.get("/overrides/report", middleware: read, compliance.overridesReport)
        return group
    }
}
