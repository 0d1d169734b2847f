import CashRoundingContract
import Foundation
import Kernel

/// Audit logs, chain verification, void analytics and abuse, override report, Indiana setting
/// (the fraud scores are `FraudHandlers`).
struct ComplianceHandlers: Sendable {
    static let auditLogLimitDefault = 100
    static let auditLogLimitMax = 1_000
    static let overrideReportLimitMax = 1_000
    /// Void rate (percent) and minimum voids from which a merchant is listed by void-abuse.
    static let voidAbuseRatePercent: Int64 = 10
    static let voidAbuseVoidsMin: Int64 = 3

    /// `event_type` filter values (lower case, as AUD's examples) → chain event names (upper case, as AT's).
    static let eventTypeFilters: [String: [String]] = [
        "transaction": ["SALE"], "sale": ["SALE"], "void": ["VOID"], "refund": ["REFUND"], "override": ["OVERRIDE"],
        "tip": ["TIP_CASH", "TIP_CREDIT_CARD", "TIP_ADJUST"], "tip_adjust": ["TIP_ADJUST"],
        "tip_pool": ["TIP_POOL_CREATE"], "tip_payout": ["TIP_PAYOUT"], "config": ["CONFIG"],
    ]

    let service: RoundingService

    static func date(_ text: String?, _ field: String) throws(AtlasError) -> Date? {
        guard let text else { return nil }
        guard let date = Timestamp.parseISO8601(text) else {
            throw AtlasError.invalidField(field, "\(field) must be an ISO 8601 date-time such as 2026-01-01T00:00:00Z",
                                          constraint: "format")
        }
        return date
    }

    // MARK: Audit logs and verification

    func auditLogs(_ request: Request, _ context: RoundingContext) async throws -> Response {
        let tenant = try await Caller(context, service: service).readTenant(request)
        let query = request.queryParameters
        let limit: Int
        if let text = query["limit"] {
            guard let value = Int(text), (1...ComplianceHandlers.auditLogLimitMax).contains(value) else {
                throw AtlasError.invalidField("limit", "limit must be an integer from 1 to \(ComplianceHandlers.auditLogLimitMax)",
                                              constraint: "range")
            }
            limit = value
        } else {
            limit = ComplianceHandlers.auditLogLimitDefault
        }
        var types: [String]? = nil
        if let filter = query["event_type"] {
            guard let mapped = ComplianceHandlers.eventTypeFilters[filter] else {
                let names = ComplianceHandlers.eventTypeFilters.keys.sorted().joined(separator: ", ")
                throw AtlasError.invalidField("event_type", "event_type must be one of \(names)", constraint: "enum")
            }
            types = mapped
        }
        let userId = try FieldCheck.optionalIdentifier(query["user_id"], "user_id")
        let start = try ComplianceHandlers.date(query["start_date"], "start_date")
        let end = try ComplianceHandlers.date(query["end_date"], "end_date")
        let typeList = types?.joined(separator: ",")
        let rows = try await service.database.query("""
            SELECT * FROM rounding_records WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)\
            \(and: "event_type = ANY (string_to_array(?, ','))", typeList)\(and: "employee_id = ?", userId)\
            \(and: "occurred_at >= ?", start)\(and: "occurred_at <= ?", end)
            ORDER BY chain_position DESC LIMIT \(limit)
            """)
        let entries: [JSONValue] = try rows.map { row in
            let record = try ChainStore.record(from: row)
            let eventType = record.record["event_type"]?.stringValue ?? ""
            return [
                "id": .string(record.recordId), "chainPosition": .int(record.position),
                "event_type": .string(ComplianceHandlers.filterName(eventType)), "event": .string(eventType),
                "occurred_at": record.record["occurred_at"] ?? .null, "user_id": record.record["employee_id"] ?? .null,
                "linked_id": record.record["linked_id"] ?? .null, "auditHash": .string(record.auditHash),
                "previousHash": .string(record.previousHash), "details": TransactionHandlers.publicView(record.record),
            ]
        }
        return .json(["merchant_id": .string(tenant.merchantId), "count": .int(Int64(entries.count)),
                      "limit": .int(Int64(limit)), "entries": .array(entries)])
    }

    static func filterName(_ eventType: String) -> String {
        switch eventType {
        case "SALE": return "transaction"
        case "TIP_CASH", "TIP_CREDIT_CARD": return "tip"
        case "TIP_POOL_CREATE": return "tip_pool"
        default: return eventType.lowercased()
        }
    }

    func verifyChain(_ request: Request, _ context: RoundingContext) async throws -> Response {
        let tenant = try await Caller(context, service: service).readTenant(request)
        let (result, breakCount) = try await service.chain.verify(service.database, tenant: tenant)
        return .json([
            "merchant_id": .string(tenant.merchantId), "mode": .string(tenant.mode.rawValue),
            "total_count": .int(result.totalCount), "verified_count": .int(result.verifiedCount),
            "break_count": .int(breakCount), "valid": .bool(breakCount == 0),
            "breaks": .array(result.breaks.map(\.json)),
            "verified_at": .string(Timestamp.iso8601(service.clock.now())),
        ])
    }

    // MARK: Voids and overrides

    func voidAnalytics(_ request: Request, _ context: RoundingContext) async throws -> Response {
        let tenant = try await Caller(context, service: service).readTenant(request)
        let counters = try await FraudHandlers.counters(service.database, tenant)
        let sums = try await service.database.queryFirst("""
            SELECT coalesce(sum(CASE WHEN event_type = 'VOID' THEN -cash_total_cents END), 0) AS void_cents,
                   coalesce(sum(CASE WHEN event_type = 'VOID' THEN -rounding_delta_cents END), 0) AS void_delta_cents,
                   coalesce(sum(CASE WHEN event_type = 'REFUND' THEN -cash_total_cents END), 0) AS refund_cents
            FROM rounding_records WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            """)
        return .json([
            "merchant_id": .string(tenant.merchantId), "transaction_count": .int(counters.sales),
            "total_voids": .int(counters.voids),
            "void_rate_percent": .int(counters.sales == 0 ? 0 : counters.voids * 100 / counters.sales),
            "void_amount_cents": .int(try sums?.decode("void_cents") ?? 0),
            "voided_rounding_delta_cents": .int(try sums?.decode("void_delta_cents") ?? 0),
            "voids_near_shift_change": .int(counters.voidsNearShiftChange),
            "total_refunds": .int(counters.refunds), "refund_amount_cents": .int(try sums?.decode("refund_cents") ?? 0),
            "normalization_check": [
                "passed": .int(counters.refunds - counters.refundNormalizationFailures),
                "failed": .int(counters.refundNormalizationFailures),
            ],
        ])
    }

    /// Admin: every merchant of the mode; auditor: its own merchant only.
    func voidAbuse(_ request: Request, _ context: RoundingContext) async throws -> Response {
        let caller = Caller(context, service: service)
        let only: String? = caller.role == "admin" ? request.queryParameters["merchant_id"] : caller.ownTenant.merchantId
        let heads = try await service.database.query("""
            SELECT * FROM rounding_chain_heads WHERE mode = \(caller.mode)\(and: "merchant_id = ?", only) ORDER BY merchant_id
            """)
        var highRate: [JSONValue] = []
        var shift: [JSONValue] = []
        for row in heads {
            let merchant: String = try row.decode("merchant_id")
            let counters = try ChainStore.head(from: row).counters
            let rate = counters.sales == 0 ? 0 : counters.voids * 100 / counters.sales
            if counters.voids >= ComplianceHandlers.voidAbuseVoidsMin && rate >= ComplianceHandlers.voidAbuseRatePercent {
                highRate.append(["merchant_id": .string(merchant), "void_count": .int(counters.voids),
                                 "transaction_count": .int(counters.sales), "void_rate_percent": .int(rate)])
            }
            if counters.voidsNearShiftChange > 0 {
                shift.append(["merchant_id": .string(merchant), "voids_near_shift_change": .int(counters.voidsNearShiftChange),
                              "void_count": .int(counters.voids)])
            }
        }
        let failures = try await service.database.query("""
            SELECT merchant_id, record_id, linked_id, occurred_at FROM rounding_records
            WHERE mode = \(caller.mode) AND event_type = 'REFUND' AND compliance_status = 'WARN'\(and: "merchant_id = ?", only)
            ORDER BY occurred_at DESC LIMIT 1000
            """)
        let failureList: [JSONValue] = try failures.map { row in
            ["merchant_id": .string(try row.decode("merchant_id")), "refund_id": .string(try row.decode("record_id")),
             "original_transaction_id": row.text("linked_id").map(JSONValue.string) ?? .null,
             "occurred_at": .string(Timestamp.iso8601(try row.decode("occurred_at"), fractionalSeconds: true))]
        }
        return .json(["high_void_rate_merchants": .array(highRate), "normalization_failures": .array(failureList),
                      "shift_change_voids": .array(shift),
                      "thresholds": ["void_rate_percent": .int(ComplianceHandlers.voidAbuseRatePercent),
                                     "void_count_min": .int(ComplianceHandlers.voidAbuseVoidsMin),
                                     "shift_change_window_minutes": .int(FraudScoring.shiftChangeWindowSeconds / 60)]])
    }

    func overridesReport(_ request: Request, _ context: RoundingContext) async throws -> Response {
        let tenant = try await Caller(context, service: service).readTenant(request)
        let rows = try await service.database.query("""
            SELECT * FROM rounding_records WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
              AND event_type = 'OVERRIDE' ORDER BY chain_position DESC LIMIT \(ComplianceHandlers.overrideReportLimitMax)
            """)
        var reasons: [String: Int64] = [:]
        var absDelta: Int64 = 0
        let overrides: [JSONValue] = try rows.map { row in
            let stored = try ChainStore.record(from: row)
            let record = stored.record
            reasons[record["reason"]?.stringValue ?? "unknown", default: 0] += 1
            absDelta += Int64((record["override_delta_cents"]?.intValue ?? 0).magnitude)
            return [
                "override_id": .string(stored.recordId), "transaction_id": record["transaction_id"] ?? .null,
                "employee_id": record["employee_id"] ?? .null, "employee_name": record["employee_name"] ?? .null,
                "reason": record["reason"] ?? .null,
                "calculated_cash_total_cents": record["calculated_cash_total_cents"] ?? .null,
                "new_cash_total_cents": record["new_cash_total_cents"] ?? .null,
                "delta_cents": record["override_delta_cents"] ?? .null, "occurred_at": record["occurred_at"] ?? .null,
                "chainPosition": .int(stored.position), "auditHash": .string(stored.auditHash),
            ]
        }
        return .json(["merchant_id": .string(tenant.merchantId), "total_overrides": .int(Int64(overrides.count)),
                      "reason_codes": .object(reasons.mapValues(JSONValue.int)),
                      "total_absolute_delta_cents": .int(absDelta), "overrides": .array(overrides)])
    }

    // MARK: Indiana method

    struct IndianaBody: Decodable {
        let roundingMode: String?
        enum CodingKeys: String, CodingKey { case roundingMode = "rounding_mode" }
    }

    /// Sets the merchant's Indiana SB 243 method (one of the rule's operator choices); a CONFIG chain record.
    func setIndianaMethod(_ request: Request, _ context: RoundingContext) async throws -> Response {
        let caller = Caller(context, service: service)
        let merchantId = try FieldCheck.identifier(request.pathParameter("merchant_id"), "merchant_id")
        let body = try FieldCheck.decode(IndianaBody.self, from: request)
        let choices = JurisdictionRuleTable.enacted.rules.first { $0.jurisdictionID == "US-IN" }?.merchantSelectableModes ?? []
        let mode: CashRoundingMode = try FieldCheck.oneOf(body.roundingMode, "rounding_mode", choices)
        let tenant = TenantContext(merchantId: merchantId, mode: caller.mode)
        let service = service
        let stored = try await service.appending { executor in
            let head = try await service.chain.lockHead(executor, tenant: tenant)
            let now = service.clock.now()
            let fields: [String: JSONValue] = [
                "setting": "indiana_rounding_mode", "previous_value": head.indianaMode.map { .string($0.rawValue) } ?? .null,
                "new_value": .string(mode.rawValue), "created_by": caller.attribution,
            ]
            let draft = RecordDraft(recordId: service.recordId("CFG", on: now), eventType: "CONFIG", linkedId: nil,
                                    employeeId: nil, reasonCode: nil, paymentMethod: nil, complianceStatus: nil,
                                    ledgerTotalCents: nil, cashTotalCents: nil, roundingDeltaCents: nil, fields: fields)
            return try await service.chain.append(executor, tenant: tenant, head: head, draft: draft, occurredAt: now,
                                                  counters: head.counters, indianaMode: mode)
        }
        return .json(["success": true, "merchant_id": .string(merchantId), "indiana_rounding_mode": .string(mode.rawValue),
                      "record_id": .string(stored.recordId), "chainPosition": .int(stored.position),
                      "auditHash": .string(stored.auditHash)])
    }
}
