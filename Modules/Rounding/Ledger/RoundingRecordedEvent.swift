import Foundation
import Kernel

/// The `rounding.recorded` event: one per rounding transaction recorded in the audit chain (SALE, VOID, REFUND,
/// OVERRIDE), appended by `AuditChain.append` in the transaction that writes the record, so Accounting can post the
/// rounding into the merchant's company ledger (docs/accounting.md "Rounding-API records"). Tip and tip-pool records
/// carry no rounding and append none.
///
/// Payload, integer cents of `currency` (the rounding API is USD):
/// `{recordId, recordType, linkedId, currency, paymentMethod, ledgerTotal, cashTotal, roundingDelta, cashRoundingChange}`.
/// `roundingDelta` is the record's own `rounding_delta_cents` (cash − ledger); `cashRoundingChange` is what this record
/// changes in the merchant's cash rounding, the amount the ledger posts:
///
/// | record | cashRoundingChange |
/// |---|---|
/// | SALE | its delta (cash total − ledger total) |
/// | VOID | its delta: the sale's settled delta reversed (after an override, the overridden one) |
/// | REFUND | its delta (the completing refund reverses the sale's rounding) |
/// | OVERRIDE | new cash total − the previous settled cash total (the sale's delta moves by that much) |
///
/// So a sale, its overrides and its void sum to zero, and a sale with its refunds to what the refunds did not reverse.
enum RoundingRecordedEvent {
    static let type = "rounding.recorded"
    static let currency = "USD"
    static let recordTypes: Set<String> = ["SALE", "VOID", "REFUND", "OVERRIDE"]

    /// The event of `draft` once stored at `recordId`; nil for records that are not rounding transactions.
    static func make(_ draft: RecordDraft, tenant: TenantContext, occurredAt: Date) -> DomainEvent? {
        guard recordTypes.contains(draft.eventType), let ledger = draft.ledgerTotalCents, let cash = draft.cashTotalCents,
              let delta = draft.roundingDeltaCents, let change = cashRoundingChange(draft) else { return nil }
        let payload: JSONValue = [
            "recordId": .string(draft.recordId), "recordType": .string(draft.eventType),
            "linkedId": draft.linkedId.map(JSONValue.string) ?? .null, "currency": .string(currency),
            "paymentMethod": draft.paymentMethod.map(JSONValue.string) ?? .null,
            "ledgerTotal": .int(ledger), "cashTotal": .int(cash), "roundingDelta": .int(delta),
            "cashRoundingChange": .int(change),
        ]
        return DomainEvent(type: type, tenant: tenant, resourceId: draft.recordId, occurredAt: occurredAt, payload: payload)
    }

    /// See the table above; nil when an override lacks its cash totals (never written that way).
    static func cashRoundingChange(_ draft: RecordDraft) -> Int64? {
        guard draft.eventType == "OVERRIDE" else { return draft.roundingDeltaCents }
        guard let new = draft.fields["new_cash_total_cents"]?.intValue,
              let previous = draft.fields["previous_cash_total_cents"]?.intValue else { return nil }
        return new - previous
    }
}
