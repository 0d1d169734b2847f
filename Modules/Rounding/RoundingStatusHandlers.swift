import Kernel

/// `GET /health` and `GET /version` of the cash-rounding surface (spec §1), and the versions they report.
enum RoundingStatusHandlers {
    static let apiVersion = "3.6.0"
    static let engineVersion = "1.0.0"

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
        .json(["api_version": .string(apiVersion), "engine_version": .string(engineVersion), "base_path": .string(RoundingRoutes.prefix),
               "endpoints": .array(endpoints.map(JSONValue.string))])
    }
}
