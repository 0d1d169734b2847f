import CashRoundingContract
import Foundation
import Kernel

/// The per-merchant, per-mode SHA-256 hash chain (docs/rounding-audit-chain.md):
/// `audit_hash = hex(SHA-256(previous_hash_hex ‖ canonical_json(record)))`, genesis = 64 × "0".
struct AuditChain: Sendable {
    static let genesisHash = String(repeating: "0", count: 64)

    let crypto: any CryptoService
    /// Where rounding transactions announce themselves (`RoundingRecordedEvent`), in the append's own transaction.
    let eventLog: any EventLogWriter

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

    /// Appends `draft` after `head` and moves the head (with the updated counters) in the same transaction, with the
    /// record's `rounding.recorded` event when it is a rounding transaction (the caller calls `appendCommitted()`).
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
        if let event = RoundingRecordedEvent.make(draft, tenant: tenant, occurredAt: occurredAt) {
            try await eventLog.append([event], in: executor)
        }
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
