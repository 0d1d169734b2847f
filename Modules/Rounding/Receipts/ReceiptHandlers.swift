import Foundation
import Kernel

/// `GET /transaction/{id}/receipt?format=merchant|audit|pos` (RCPT).
struct ReceiptHandlers: Sendable {
    let service: RoundingService

    func receipt(_ request: Request, _ context: RoundingContext) async throws -> Response {
        let caller = Caller(context, service: service)
        let format: ReceiptFormat = try FieldCheck.oneOf(request.queryParameters["format"] ?? "merchant", "format",
                                                         ReceiptFormat.allCases)
        let id = request.pathParameter("id") ?? ""
        guard let found = try await caller.requireAccess(try await ChainStore.find(service.database, recordId: id, mode: caller.mode,
                                                    merchantId: caller.lookupMerchant, eventTypes: ["SALE"]),
                                                              merchantId: { $0.merchantId }) else {
            throw RoundingService.notFound()
        }
        let tenant = TenantContext(merchantId: found.merchantId, mode: caller.mode)
        let state = try await SaleState.load(service.database, sale: found.record, tenant: tenant)
        switch format {
        case .pos: return .json(ReceiptHandlers.pos(state))
        case .merchant: return .json(["format": "merchant", "receipt": ReceiptHandlers.merchant(state)])
        case .audit:
            return .json(["format": "audit", "receipt": ReceiptHandlers.merchant(state), "audit": ReceiptHandlers.audit(state)])
        }
    }

    /// Raw cent values only, for the POS to print its own receipt.
    static func pos(_ state: SaleState) -> JSONValue {
        [
            "transaction_id": .string(state.sale.recordId),
            "subtotal_cents": .int(state.int("subtotal_cents")), "tax_total_cents": .int(state.int("tax_total_cents")),
            "ledger_total_cents": .int(state.ledgerTotalCents), "cash_total_cents": .int(state.effectiveCashTotalCents),
            "rounding_delta_cents": .int(state.effectiveCashTotalCents - state.ledgerTotalCents),
        ]
    }

    /// The customer receipt with the state rounding disclosure.
    static func merchant(_ state: SaleState) -> JSONValue {
        let record = state.sale.record
        let cash = state.effectiveCashTotalCents
        let delta = cash - state.ledgerTotalCents
        let lines: [JSONValue] = [
            line("Subtotal", state.int("subtotal_cents")), line("Tax", state.int("tax_total_cents")),
            line("Total", state.ledgerTotalCents), line("Cash rounding", delta, signed: true), line("Amount due", cash),
        ]
        let disclosureRequired = record["receipt_disclosure_required"]?.boolValue ?? false
        return [
            "transaction_id": .string(state.sale.recordId), "merchant_id": record["merchant_id"] ?? .null,
            "store_id": record["store_id"] ?? .null, "terminal_id": record["terminal_id"] ?? .null,
            "date": record["occurred_at"] ?? .null, "payment_method": record["payment_method"] ?? .null,
            "subtotal_cents": .int(state.int("subtotal_cents")), "tax_total_cents": .int(state.int("tax_total_cents")),
            "ledger_total_cents": .int(state.ledgerTotalCents), "rounding_delta_cents": .int(delta),
            "cash_total_cents": .int(cash), "cash_rounding_mode": record["cash_rounding_mode"] ?? .null,
            "jurisdiction": record["jurisdiction"] ?? .null, "legislation": record["legislation"] ?? .null,
            "lines": .array(lines), "disclosure_required": .bool(disclosureRequired),
            "rounding_disclosure": disclosure(state, delta: delta, required: disclosureRequired).map(JSONValue.string) ?? .null,
            "status": .string(state.voidRecord == nil ? "completed" : "voided"),
            "overridden": .bool(!state.overrides.isEmpty),
        ]
    }

    /// The rounding disclosure: always when a cash total was rounded; for a state that requires one
    /// (WA SHB 2334), also when nothing was rounded.
    static func disclosure(_ state: SaleState, delta: Int64, required: Bool) -> String? {
        let record = state.sale.record
        let law = record["legislation"]?.stringValue ?? record["jurisdiction"]?.stringValue ?? "US"
        let rounded = record["rounding_applied"]?.boolValue ?? false
        if rounded || delta != 0 {
            let mode = record["cash_rounding_mode"]?.stringValue ?? "none"
            return "\(law) cash rounding disclosure: your cash total was rounded from $\(DollarAmount.format(cents: state.ledgerTotalCents)) "
                + "to $\(DollarAmount.format(cents: state.effectiveCashTotalCents)) (\(signed(delta))) using \(mode). "
                + "Only the cash payment is rounded; tax is computed on the unrounded amount."
        }
        return required ? "\(law) cash rounding disclosure: no rounding was applied to this payment." : nil
    }

    static func audit(_ state: SaleState) -> JSONValue {
        let record = state.sale.record
        return [
            "chainPosition": .int(state.sale.position), "auditHash": .string(state.sale.auditHash),
            "previousHash": .string(state.sale.previousHash),
            "fraud_score": record["fraud_score"] ?? .null, "risk_level": record["risk_level"] ?? .null,
            "compliance": record["compliance"] ?? .null, "calculation": record["calculation"] ?? .null,
            "record": TransactionHandlers.publicView(record),
            "linked_records": .array(state.linked.map { linked in
                ["record_id": .string(linked.recordId), "event_type": linked.record["event_type"] ?? .null,
                 "chainPosition": .int(linked.position), "auditHash": .string(linked.auditHash)]
            }),
        ]
    }

    static func line(_ label: String, _ cents: Int64, signed isSigned: Bool = false) -> JSONValue {
        ["label": .string(label), "amount_cents": .int(cents),
         "amount": .string(isSigned ? signed(cents) : "$" + DollarAmount.format(cents: cents))]
    }

    static func signed(_ cents: Int64) -> String {
        (cents < 0 ? "-$" : "+$") + DollarAmount.format(cents: Int64(cents.magnitude))
    }
}

/// `format` values exactly as the spec lists them.
enum ReceiptFormat: String, CaseIterable { case merchant, audit, pos }
