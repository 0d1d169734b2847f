import Foundation
import Kernel

/// `GET /merchant/{merchant_id}/risk-profile` and `GET /admin/fraud-overview`: the fraud score of one
/// merchant, or of every merchant of the mode ranked, from the counters kept on each chain head.
struct FraudHandlers: Sendable {
    static let fraudOverviewMerchantsMax = 1_000

    let service: RoundingService

    static func counters(_ executor: any SQLExecutor, _ tenant: TenantContext) async throws -> FraudCounters {
        guard let row = try await executor.queryFirst("""
            SELECT * FROM rounding_chain_heads WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            """) else { return FraudCounters() }
        return try ChainStore.head(from: row).counters
    }

    func riskProfile(_ request: Request, _ context: RoundingContext) async throws -> Response {
        let caller = Caller(context, service: service)
        let merchantId = try FieldCheck.identifier(request.pathParameter("merchant_id"), "merchant_id")
        let tenant = TenantContext(merchantId: merchantId, mode: caller.mode)
        let counters = try await FraudHandlers.counters(service.database, tenant)
        let reasonRows = try await service.database.query("""
            SELECT reason_code, count(*) AS n FROM rounding_records
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND event_type = 'OVERRIDE'
            GROUP BY reason_code ORDER BY reason_code
            """)
        var reasons: [String: JSONValue] = [:]
        for row in reasonRows { reasons[row.text("reason_code") ?? "unknown"] = .int(try row.decode("n")) }
        return .json(FraudHandlers.profile(merchantId: merchantId, counters, reasons: .object(reasons)))
    }

    static func profile(merchantId: String, _ counters: FraudCounters, reasons: JSONValue? = nil) -> JSONValue {
        let score = FraudScoring.score(counters)
        var overrides: [String: JSONValue] = [
            "override_count": .int(counters.overrides),
            "override_rate_percent": .int(FraudScoring.ratePercent(counters.overrides, sales: counters.sales)),
            "average_override_delta_cents": .int(FraudScoring.averageOverrideDeltaCents(counters)),
            "points": .int(Int64(score.overrideFrequency + score.overrideDelta)),
        ]
        if let reasons { overrides["reason_codes"] = reasons }
        return [
            "merchant_id": .string(merchantId), "fraud_score": .int(Int64(score.total)),
            "risk_level": .string(score.riskLevel.rawValue), "transaction_count": .int(counters.sales),
            "rounding_analysis": [
                "rounded_up_count": .int(counters.roundedUp), "rounded_down_count": .int(counters.roundedDown),
                "round_up_ratio_percent": .int(FraudScoring.roundUpPercent(counters)),
                "net_rounding_delta_cents": .int(counters.netDeltaCents), "points": .int(Int64(score.rounding)),
            ],
            "override_patterns": .object(overrides),
            "void_rates": [
                "void_count": .int(counters.voids),
                "void_rate_percent": .int(FraudScoring.ratePercent(counters.voids, sales: counters.sales)),
                "voids_near_shift_change": .int(counters.voidsNearShiftChange),
                "refund_count": .int(counters.refunds),
                "refund_normalization_failures": .int(counters.refundNormalizationFailures),
                "points": .int(Int64(score.voidRate + score.normalizationFailures + score.shiftChangeVoids)),
            ],
        ]
    }

    func fraudOverview(_ request: Request, _ context: RoundingContext) async throws -> Response {
        let caller = Caller(context, service: service)
        let rows = try await service.database.query("""
            SELECT * FROM rounding_chain_heads WHERE mode = \(caller.mode)
            ORDER BY merchant_id LIMIT \(FraudHandlers.fraudOverviewMerchantsMax)
            """)
        var ranked: [(score: Int, merchant: String, profile: JSONValue)] = []
        for row in rows {
            let merchant: String = try row.decode("merchant_id")
            let counters = try ChainStore.head(from: row).counters
            ranked.append((FraudScoring.score(counters).total, merchant, FraudHandlers.profile(merchantId: merchant, counters)))
        }
        ranked.sort { $0.score != $1.score ? $0.score > $1.score : $0.merchant < $1.merchant }
        var levels: [String: JSONValue] = [:]
        for level in RiskLevel.allCases {
            levels[level.rawValue] = .int(Int64(ranked.filter { RiskLevel(score: $0.score) == level }.count))
        }
        return .json(["merchant_count": .int(Int64(ranked.count)), "risk_level_counts": .object(levels),
                      "merchants": .array(ranked.map(\.profile))])
    }
}
