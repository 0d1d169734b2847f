import Foundation
import Kernel

/// The `/api/v1` cash-rounding surface (spec §1). Every route except health and version needs an
/// `x-api-key` role key; POSTs pass through the idempotency middleware after the access guard.
struct RoundingRoutes: Sendable {
    static let prefix = "/api/v1"
    static let apiVersion = "3.6.0"
    static let engineVersion = "1.0.0"

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
        let export = ComplianceExport(service: service)
        let database = services.database

        group.get("/health") { _, _ in await RoundingRoutes.health(database) }
        group.get("/version") { _, _ in RoundingRoutes.version() }

        group.post("/transaction", middleware: transact, transactions.sale)
        group.post("/transaction/void", middleware: transact, transactions.void)
        group.post("/transaction/refund", middleware: transact, transactions.refund)
        group.post("/transaction/override", middleware: transact, transactions.override)
        group.get("/transaction/:id/receipt", middleware: read, receipts.receipt)

        group.get("/jurisdiction/zip/:zip_code", middleware: read) { request, _ in
            try RoundingRoutes.zip(request, resolver: service.engine.resolver, now: service.clock.now())
        }
        group.get("/jurisdictions", middleware: read) { _, _ in
            .json(.array(JurisdictionRuleTable.enacted.rules.map { $0.jsonObject(includeLookupKey: true) }))
        }

        group.post("/tip/cash", middleware: transact) { try await tips.tip($0, $1, cash: true) }
        group.post("/tip/credit-card", middleware: transact) { try await tips.tip($0, $1, cash: false) }
        group.post("/tip/adjust", middleware: transact, tips.adjust)
        group.post("/tip/pool/create", middleware: transact, tips.createPool)
        group.post("/tip/pool/distribute", middleware: transact, tips.distributePool)

        group.post("/export", middleware: [guardFor(RoundingRoleSets.read), idempotency], export.export)
        group.get("/admin/audit-logs", middleware: audit, compliance.auditLogs)
        group.get("/admin/verify-hash-chain", middleware: audit, compliance.verifyChain)
        group.get("/merchant/:merchant_id/risk-profile", middleware: admin, compliance.riskProfile)
        group.get("/admin/fraud-overview", middleware: admin, compliance.fraudOverview)
        group.post("/admin/merchant/:merchant_id/indiana-method", middleware: admin + [idempotency],
                   compliance.setIndianaMethod)
        group.get("/analytics/voids", middleware: read, compliance.voidAnalytics)
        group.get("/analytics/void-abuse", middleware: audit, compliance.voidAbuse)
        group.get("/overrides/report", middleware: read, compliance.overridesReport)
        return group
    }

    static func zip(_ request: Request, resolver: JurisdictionResolver, now: Date) throws -> Response {
        let zip = request.pathParameter("zip_code") ?? ""
        guard zip.utf8.count == 5, zip.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            throw AtlasError.invalidField("zip_code", "zip_code must be a 5-digit ZIP code", constraint: "format")
        }
        guard let resolution = resolver.resolve(zipCode: zip, on: CivilDate(now)) else {
            throw AtlasError.notFound("ZIP code not found")
        }
        return .json(resolution.rule.jsonObject())
    }

    static func health(_ database: any Database) async -> Response {
        let reachable = await database.isReachable()
        return .json([
            "status": .string(reachable ? "ok" : "degraded"),
            "database": .string(reachable ? "connected" : "unreachable"),
            "api_version": .string(apiVersion), "engine_version": .string(engineVersion),
            "compliance_certifications": .array(JurisdictionRuleTable.enacted.rules.compactMap { $0.legislation }.map(JSONValue.string)),
        ], status: reachable ? 200 : 503)
    }

    static let endpoints: [String] = [
        "GET /health", "GET /version", "POST /transaction", "GET /transaction/{id}/receipt", "POST /transaction/void",
        "POST /transaction/refund", "POST /transaction/override", "GET /jurisdiction/zip/{zip_code}", "GET /jurisdictions",
        "POST /tip/cash", "POST /tip/credit-card", "POST /tip/adjust", "POST /tip/pool/create", "POST /tip/pool/distribute",
        "POST /export", "GET /admin/audit-logs", "GET /admin/verify-hash-chain", "GET /merchant/{merchant_id}/risk-profile",
        "GET /admin/fraud-overview", "POST /admin/merchant/{merchant_id}/indiana-method", "GET /analytics/voids",
        "GET /analytics/void-abuse", "GET /overrides/report",
    ]

    static func version() -> Response {
        .json(["api_version": .string(apiVersion), "engine_version": .string(engineVersion), "base_path": .string(prefix),
               "endpoints": .array(endpoints.map(JSONValue.string))])
    }
}
