import CashRoundingContract
import Foundation
import Kernel

/// Reads of chain rows, shared by the routes and the verifier.
enum ChainStore {
    static func head(from row: Row) throws -> ChainHead {
        var counters = FraudCounters()
        counters.sales = try row.decode("sales")
        counters.roundedUp = try row.decode("rounded_up")
        counters.roundedDown = try row.decode("rounded_down")
        counters.netDeltaCents = try row.decode("net_delta_cents")
        counters.overrides = try row.decode("overrides")
        counters.overrideAbsDeltaCents = try row.decode("override_abs_delta_cents")
        counters.voids = try row.decode("voids")
        counters.voidsNearShiftChange = try row.decode("voids_near_shift_change")
        counters.refunds = try row.decode("refunds")
        counters.refundNormalizationFailures = try row.decode("refund_normalization_failures")
        return ChainHead(position: try row.decode("position"), hash: try row.decode("head_hash"), counters: counters,
                         indianaMode: row.text("indiana_mode").flatMap(CashRoundingMode.init(rawValue:)))
    }

    static func parse(_ json: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
    }

    static func record(from row: Row) throws -> ChainRecord {
        guard let record = parse(row.text("record_json") ?? "") else { throw AtlasError.internalError() }
        return ChainRecord(position: try row.decode("chain_position"), recordId: try row.decode("record_id"),
                           auditHash: try row.decode("audit_hash"), previousHash: try row.decode("previous_hash"),
                           record: record)
    }

    /// The typed columns that no longer equal the hashed record (an edit outside the chain).
    static func columnMismatches(_ row: Row, position: Int64) -> [String] {
        guard let record = parse(row.text("record_json") ?? "") else { return ["record_json is not valid JSON"] }
        var problems: [String] = []
        for column in ["record_id", "event_type", "merchant_id", "mode", "linked_id", "employee_id", "reason_code",
                       "payment_method", "compliance_status"] {
            let hashed = record[column]?.stringValue
            if hashed != row.text(column) { problems.append("column \(column) differs from the hashed record") }
        }
        for column in ["ledger_total_cents", "cash_total_cents", "rounding_delta_cents"] {
            if record[column]?.intValue != row.text(column).flatMap({ Int64($0) }) {
                problems.append("column \(column) differs from the hashed record")
            }
        }
        if record["chain_position"]?.intValue != position {
            problems.append("column chain_position differs from the hashed record")
        }
        let hashedTime = record["occurred_at"]?.stringValue.flatMap(Timestamp.parseISO8601)
        let columnTime = row.text("occurred_at").flatMap(PostgresTimestamp.parse)
        if let hashedTime, let columnTime, abs(hashedTime.timeIntervalSince(columnTime)) < 0.001 {
        } else {
            problems.append("column occurred_at differs from the hashed record")
        }
        return problems
    }

    /// A record by id in the caller's mode; `merchantId` nil = any merchant (partner and admin keys).
    static func find(_ executor: any SQLExecutor, recordId: String, mode: Mode, merchantId: String?,
                     eventTypes: [String]) async throws -> (merchantId: String, record: ChainRecord)? {
        let rows = try await executor.query("""
            SELECT * FROM rounding_records WHERE mode = \(mode) AND record_id = \(recordId)\(and: "merchant_id = ?", merchantId)
            """)
        guard let row = rows.first, let type = row.text("event_type"), eventTypes.contains(type) else { return nil }
        return (try row.decode("merchant_id"), try record(from: row))
    }

    /// Every record linked to `recordId` (voids, refunds, overrides, tips, adjustments), oldest first.
    static func linked(_ executor: any SQLExecutor, to recordId: String, tenant: TenantContext) async throws
        -> [ChainRecord] {
        try await executor.query("""
            SELECT * FROM rounding_records WHERE mode = \(tenant.mode) AND merchant_id = \(tenant.merchantId)
              AND linked_id = \(recordId) ORDER BY chain_position
            """).map(record(from:))
    }
}
