import AccessContract
import Foundation
import IdempotencyContract
import Kernel

/// The `/api/v1` cash-rounding surface (spec §1). Every route except health and version needs an
/// `x-api-key` role key; POSTs pass through the idempotency middleware after the access guard. The
/// handlers live in the sub-feature folders (Transactions/, Receipts/, Jurisdictions/, Tips/, Compliance/,
/// Fraud/); health and version in `RoundingStatusHandlers`. Each route's contract for the OpenAPI document is in
/// `RoundingRouteSchemas`.
struct RoundingRoutes: Sendable {
    static let prefix = "/api/v1"

    let services: ModuleServices
    let service: RoundingService

    func group() -> RouteGroup {
        var group = RouteGroup(prefix: RoundingRoutes.prefix, surface: .rounding)
        group.schemas = RoundingRouteSchemas.components
        typealias Schemas = RoundingRouteSchemas
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

        group.get("/health", schema: Schemas.health) { _, _ in await RoundingStatusHandlers.health(database) }
        group.get("/version", schema: Schemas.version) { _, _ in RoundingStatusHandlers.version() }

        group.post("/transaction", middleware: transact, schema: Schemas.sale, transactions.sale)
        group.post("/transaction/void", middleware: transact, schema: Schemas.void, transactions.void)
        group.post("/transaction/refund", middleware: transact, schema: Schemas.refund, transactions.refund)
        group.post("/transaction/override", middleware: transact, schema: Schemas.override, transactions.override)
        group.get("/transaction/:id/receipt", middleware: read, schema: Schemas.receipt, receipts.receipt)

        group.get("/jurisdiction/zip/:zip_code", middleware: read, schema: Schemas.zip) { request, _ in
            try JurisdictionHandlers.zip(request, resolver: service.engine.resolver, now: service.clock.now())
        }
        group.get("/jurisdictions", middleware: read, schema: Schemas.jurisdictions) { _, _ in JurisdictionHandlers.list() }

        group.post("/tip/cash", middleware: transact, schema: Schemas.tip(cash: true)) { (request, context: RoundingContext) in
            try await tips.tip(request, context, cash: true)
        }
        group.post("/tip/credit-card", middleware: transact, schema: Schemas.tip(cash: false)) { (request, context: RoundingContext) in
            try await tips.tip(request, context, cash: false)
        }
        group.post("/tip/adjust", middleware: transact, schema: Schemas.tipAdjust, tips.adjust)
        group.post("/tip/pool/create", middleware: transact, schema: Schemas.poolCreate, tips.createPool)
        group.post("/tip/pool/distribute", middleware: transact, schema: Schemas.poolDistribute, tips.distributePool)

        group.post("/export", middleware: [guardFor(RoundingRoleSets.read), idempotency], schema: Schemas.export,
                   export.export)
        group.get("/admin/audit-logs", middleware: audit, schema: Schemas.auditLogs, compliance.auditLogs)
        group.get("/admin/verify-hash-chain", middleware: audit, schema: Schemas.verifyChain, compliance.verifyChain)
        group.get("/merchant/:merchant_id/risk-profile", middleware: admin, schema: Schemas.riskProfile, fraud.riskProfile)
        group.get("/admin/fraud-overview", middleware: admin, schema: Schemas.fraudOverview, fraud.fraudOverview)
        group.post("/admin/merchant/:merchant_id/indiana-method", middleware: admin + [idempotency],
                   schema: Schemas.setIndianaMethod, compliance.setIndianaMethod)
        group.get("/analytics/voids", middleware: read, schema: Schemas.voidAnalytics, compliance.voidAnalytics)
        group.get("/analytics/void-abuse", middleware: audit, schema: Schemas.voidAbuse, compliance.voidAbuse)
        group.get("/overrides/report", middleware: read, schema: Schemas.overridesReport, compliance.overridesReport)
        return group
    }
}
