import Foundation
import Kernel

/// The head of one merchant's chain (per mode), read under its row lock.
struct ChainHead: Sendable {
    var position: Int64
    var hash: String
    var counters: FraudCounters
    var indianaMode: CashRoundingMode?
}

/// A record about to be appended: the event fields (hashed) plus the typed copies for indexes.
struct RecordDraft: Sendable {
    var recordId: String
    var eventType: String
    var linkedId: String?
    var employeeId: String?
    var reasonCode: String?
    var paymentMethod: String?
    var complianceStatus: String?
    var ledgerTotalCents: Int64?
    var cashTotalCents: Int64?
    var roundingDeltaCents: Int64?
    /// Event-specific fields; the chain adds the common ones (see `AuditChain.recordObject`).
    var fields: [String: JSONValue]
}

/// A record as stored.
struct ChainRecord: Sendable {
    let position: Int64
    let recordId: String
    let auditHash: String
    let previousHash: String
    let record: JSONValue
}

/// The per-merchant, per-mode SHA-256 hash chain (docs/rounding-audit-chain.md):
/// `audit_hash = hex(SHA-256(previous_hash_hex ‖ canonical_json(record)))`, genesis = 64 × "0".
struct AuditChain: Sendable {
    static let genesisHash = String(repeating: "0", count: 64)

    let crypto: any CryptoService

    /// Creates the head row if missing, then locks it until the caller's transaction ends. Every append
    /// for this merchant and mode waits here, so positions are gap-free and the chain cannot fork.
    func lockHead(_ executor: any SQLExecutor, tenant: TenantContext) async throws -> ChainHead {
        try await executor.execute("""
            INSERT INTO rounding_chain_heads (merchant_id, mode, head_hash)
            VALUES (\(tenant.merchantId), \(tenant.mode), \(AuditChain.genesisHash))
            ON CONFLICT (merchant_id, mode) DO NOTHING
            """)
        guard let row = try await executor.queryFirst("""
            SELECT * FROM rounding_chain_heads WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            FOR UPDATE
            """) else { throw AtlasError.internalError() }
        return try ChainStore.head(from: row)
    }

    /// Appends `draft` after `head` and moves the head (with the updated counters) in the same transaction.
    func append(_ executor: any SQLExecutor, tenant: TenantContext, head: ChainHead, draft: RecordDraft,
                occurredAt: Date, counters: FraudCounters, indianaMode: CashRoundingMode?) async throws -> ChainRecord {
        let position = head.position + 1
        let record = AuditChain.recordObject(draft, tenant: tenant, position: position, occurredAt: occurredAt)
        let canonical = CanonicalJSON.bytes(record)
        let hash = hashRecord(previousHash: head.hash, canonical: canonical)
        let json = String(decoding: canonical, as: UTF8.self)
        try await executor.execute("""
            INSERT INTO rounding_records (merchant_id, mode, chain_position, record_id, event_type, occurred_at, linked_id,
                employee_id, reason_code, payment_method, compliance_status, ledger_total_cents, cash_total_cents,
                rounding_delta_cents, record_json, previous_hash, audit_hash)
            VALUES (\(tenant.merchantId), \(tenant.mode), \(position), \(draft.recordId), \(draft.eventType), \(occurredAt),
                \(draft.linkedId), \(draft.employeeId), \(draft.reasonCode), \(draft.paymentMethod), \(draft.complianceStatus),
                \(draft.ledgerTotalCents), \(draft.cashTotalCents), \(draft.roundingDeltaCents), \(json), \(head.hash), \(hash))
            """)
        try await executor.execute("""
            UPDATE rounding_chain_heads SET position = \(position), head_hash = \(hash),
                sales = \(counters.sales), rounded_up = \(counters.roundedUp), rounded_down = \(counters.roundedDown),
                net_delta_cents = \(counters.netDeltaCents), overrides = \(counters.overrides),
                override_abs_delta_cents = \(counters.overrideAbsDeltaCents), voids = \(counters.voids),
                voids_near_shift_change = \(counters.voidsNearShiftChange), refunds = \(counters.refunds),
                refund_normalization_failures = \(counters.refundNormalizationFailures),
                indiana_mode = \(indianaMode?.rawValue), updated_at = \(occurredAt)
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            """)
        return ChainRecord(position: position, recordId: draft.recordId, auditHash: hash, previousHash: head.hash,
                           record: record)
    }

    func hashRecord(previousHash: String, canonical: [UInt8]) -> String {
        Encoding.hex(crypto.sha256(Array(previousHash.utf8) + canonical))
    }

    /// The hashed object: the event fields plus the common fields, which win over same-named event fields.
    static func recordObject(_ draft: RecordDraft, tenant: TenantContext, position: Int64, occurredAt: Date) -> JSONValue {
        var object = draft.fields
        object["record_id"] = .string(draft.recordId)
        object["event_type"] = .string(draft.eventType)
        object["chain_position"] = .int(position)
        object["merchant_id"] = .string(tenant.merchantId)
        object["mode"] = .string(tenant.mode.rawValue)
        object["occurred_at"] = .string(Timestamp.iso8601(occurredAt, fractionalSeconds: true))
        object["linked_id"] = draft.linkedId.map(JSONValue.string) ?? .null
        object["employee_id"] = draft.employeeId.map(JSONValue.string) ?? .null
        object["reason_code"] = draft.reasonCode.map(JSONValue.string) ?? .null
        object["payment_method"] = draft.paymentMethod.map(JSONValue.string) ?? .null
        object["compliance_status"] = draft.complianceStatus.map(JSONValue.string) ?? .null
        object["ledger_total_cents"] = draft.ledgerTotalCents.map(JSONValue.int) ?? .null
        object["cash_total_cents"] = draft.cashTotalCents.map(JSONValue.int) ?? .null
        object["rounding_delta_cents"] = draft.roundingDeltaCents.map(JSONValue.int) ?? .null
        return .object(object)
    }
}

/// One break found by verification.
struct ChainBreak: Sendable {
    let position: Int64
    let recordId: String?
    let previousRecordId: String?
    let reason: String

    var json: JSONValue {
        ["chain_position": .int(position), "record_id": recordId.map(JSONValue.string) ?? .null,
         "previous_record_id": previousRecordId.map(JSONValue.string) ?? .null,
         "affected_entry_ids": .array([previousRecordId, recordId].compactMap { $0 }.map(JSONValue.string)),
         "reason": .string(reason)]
    }
}

struct ChainVerification: Sendable {
    var totalCount: Int64 = 0
    var verifiedCount: Int64 = 0
    var breaks: [ChainBreak] = []
}

extension AuditChain {
    /// Rows read per query while verifying, so memory stays flat however long the chain is.
    static let verifyBatchRows = 2_000
    /// Breaks listed in one report; the count is always exact.
    static let reportedBreaksMax = 100

    /// Walks the chain from genesis without locks (a plain snapshot read per batch): recomputes every
    /// hash, checks each link, gaps in positions, the typed columns against the hashed record, and the head.
    func verify(_ database: any Database, tenant: TenantContext) async throws -> (ChainVerification, Int64) {
        var result = ChainVerification()
        var breakCount: Int64 = 0
        var expectedPosition: Int64 = 1
        var previousHash = AuditChain.genesisHash
        var previousId: String? = nil
        var after: Int64 = 0
        func report(_ item: ChainBreak) {
            breakCount += 1
            if result.breaks.count < AuditChain.reportedBreaksMax { result.breaks.append(item) }
        }
        while true {
            let rows = try await database.query("""
                SELECT * FROM rounding_records WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
                  AND chain_position > \(after) ORDER BY chain_position LIMIT \(AuditChain.verifyBatchRows)
                """)
            for row in rows {
                let position: Int64 = try row.decode("chain_position")
                let recordId = row.text("record_id")
                result.totalCount += 1
                var problems: [String] = []
                if position != expectedPosition {
                    problems.append("positions \(expectedPosition)…\(position - 1) are missing")
                }
                let storedPrevious = row.text("previous_hash") ?? ""
                if storedPrevious != previousHash { problems.append("previous_hash does not match the preceding record") }
                let json = row.text("record_json") ?? ""
                let recomputed = hashRecord(previousHash: storedPrevious, canonical: Array(json.utf8))
                let stored = row.text("audit_hash") ?? ""
                if recomputed != stored { problems.append("audit_hash does not match the record contents") }
                problems += ChainStore.columnMismatches(row, position: position)
                if problems.isEmpty {
                    result.verifiedCount += 1
                } else {
                    report(ChainBreak(position: position, recordId: recordId, previousRecordId: previousId,
                                      reason: problems.joined(separator: "; ")))
                }
                expectedPosition = position + 1
                previousHash = stored
                previousId = recordId
                after = position
            }
            if rows.count < AuditChain.verifyBatchRows { break }
        }
        if let head = try await database.queryFirst("""
            SELECT position, head_hash FROM rounding_chain_heads
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            """) {
            let headPosition: Int64 = try head.decode("position")
            if headPosition != after || (head.text("head_hash") ?? "") != previousHash {
                report(ChainBreak(position: headPosition, recordId: nil, previousRecordId: previousId,
                                  reason: "chain head (position \(headPosition)) does not match the last record (position \(after)): records removed or head altered"))
            }
        }
        return (result, breakCount)
    }
}
