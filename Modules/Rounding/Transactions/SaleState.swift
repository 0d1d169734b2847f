import CashRoundingContract
import Kernel

/// The state of a sale derived from its linked records (the sale record itself is never modified).
struct SaleState: Sendable {
    let sale: ChainRecord
    let linked: [ChainRecord]

    func int(_ key: String) -> Int64 { sale.record[key]?.intValue ?? 0 }
    var ledgerTotalCents: Int64 { int("ledger_total_cents") }
    /// The engine's cash total (before any override).
    var calculatedCashTotalCents: Int64 { int("cash_total_cents") }
    var voidRecord: ChainRecord? { linked.first { $0.record["event_type"]?.stringValue == "VOID" } }
    var refunds: [ChainRecord] { linked.filter { $0.record["event_type"]?.stringValue == "REFUND" } }
    var overrides: [ChainRecord] { linked.filter { $0.record["event_type"]?.stringValue == "OVERRIDE" } }
    /// The cash total used for settlement: the latest override's `new_cash_total_cents`, else the engine's.
    var effectiveCashTotalCents: Int64 {
        overrides.last?.record["new_cash_total_cents"]?.intValue ?? calculatedCashTotalCents
    }
    var refundedCashCents: Int64 { refunds.reduce(0) { $0 + ($1.record["refund_amount_cents"]?.intValue ?? 0) } }
    var refundedLedgerCents: Int64 { refunds.reduce(0) { $0 - ($1.record["ledger_total_cents"]?.intValue ?? 0) } }
    var refundDeltaSumCents: Int64 { refunds.reduce(0) { $0 + ($1.record["rounding_delta_cents"]?.intValue ?? 0) } }
    var calculation: JSONValue { sale.record["calculation"] ?? .null }

    static func load(_ executor: any SQLExecutor, sale: ChainRecord, tenant: TenantContext) async throws -> SaleState {
        SaleState(sale: sale, linked: try await ChainStore.linked(executor, to: sale.recordId, tenant: tenant))
    }
}

extension CashRoundingResult {
    /// The `calculation` object of §1.2 (plus the cash-portion fields for split tenders).
    func calculationJSON(subtotalCents: Int64, taxTotalCents: Int64, paymentMethod: TenderType, split: Bool) -> JSONValue {
        var object: [String: JSONValue] = [
            "subtotal_cents": .int(subtotalCents), "tax_total_cents": .int(taxTotalCents),
            "ledger_total_cents": .int(ledgerTotalMinorUnits), "cash_total_cents": .int(cashTotalMinorUnits),
            "rounding_delta_cents": .int(deltaMinorUnits), "payment_method": .string(paymentMethod.rawValue),
            "cash_rounding_mode": .string(mode.rawValue), "jurisdiction": .string(jurisdictionID),
            "rounding_applied": .bool(roundingApplied),
        ]
        if let ebtComplianceFlag { object["ebt_compliance_flag"] = .string(ebtComplianceFlag) }
        if split {
            object["is_split_tender"] = .bool(true)
            object["cash_portion_cents"] = .int(cashPortionLedgerMinorUnits)
            object["cash_portion_rounded_cents"] = .int(cashPortionRoundedMinorUnits)
        }
        return .object(object)
    }
}
