import Foundation
import Kernel

/// A payment as the Transactions module describes it in its `transaction.approved` event (the payload is
/// the Commerce API's transaction JSON, docs/transactions.md): integer minor units throughout.
struct PaymentMovement: Sendable, Hashable {
    var transactionId: String
    var type: String
    var tender: String
    var amount: Int64
    var tip: Int64
    var cashback: Int64
    var currency: String
    var originalTransactionId: String?
    /// The cash actually handed over after rounding (cash tenders in post-penny jurisdictions).
    var cashTotal: Int64?

    /// The payload members `init(payload:)` reads: only these are parsed (`DomainEvent.payload(keeping:)`).
    static let payloadKeys = JSONValue.KeySelection(["transactionId", "type", "tender", "amount", "currency", "tipAmount",
                                                     "cashbackAmount", "originalTransactionId", "rounding"])

    /// nil when the payload lacks a field a posting needs (then nothing can be posted from it).
    init?(payload: JSONValue) {
        guard let id = payload["transactionId"]?.stringValue, let type = payload["type"]?.stringValue,
              let tender = payload["tender"]?.stringValue, let amount = payload["amount"]?.intValue,
              let currency = payload["currency"]?.stringValue else { return nil }
        transactionId = id
        self.type = type
        self.tender = tender
        self.amount = amount
        tip = payload["tipAmount"]?.intValue ?? 0
        cashback = payload["cashbackAmount"]?.intValue ?? 0
        self.currency = currency
        originalTransactionId = payload["originalTransactionId"]?.stringValue
        cashTotal = payload["rounding"]?["cashTotal"]?.intValue
    }

    init(transactionId: String, type: String, tender: String, amount: Int64, tip: Int64 = 0, cashback: Int64 = 0,
         currency: String = "USD", originalTransactionId: String? = nil, cashTotal: Int64? = nil) {
        self.transactionId = transactionId
        self.type = type
        self.tender = tender
        self.amount = amount
        self.tip = tip
        self.cashback = cashback
        self.currency = currency
        self.originalTransactionId = originalTransactionId
        self.cashTotal = cashTotal
    }
}

/// What one approved payment does to the ledger, by posting rule (docs/accounting.md, "Automatic posting").
/// Pure, so every case is a unit test:
///
/// | payment | debit | credit |
/// |---|---|---|
/// | card SALE / PRE_AUTH_COMPLETE | card clearing: amount + tip + cashback | sales revenue: amount; tips payable: tip; cash: cashback |
/// | cash SALE | cash: cash total after rounding; rounding: the shortfall | sales revenue; tips payable; rounding: the excess |
/// | stored-value SALE | stored-value liability: amount + tip | sales revenue; tips payable |
/// | REFUND | sales returns: amount | card clearing / cash (rounded) / stored-value liability |
/// | VOID | the reversal of the original's entry | |
/// | PRE_AUTH | nothing: a hold is not revenue until completed (the consumer keeps it as a pending `PreAuthHold`) | |
enum TransactionPosting {
    struct Line: Sendable, Hashable {
        var rule: PostingRule
        var side: LedgerLine.Side
        var amount: Int64
    }

    enum Plan: Sendable, Hashable {
        case post(description: String, lines: [Line])
        case reverseOriginal(transactionId: String)
        case nothing
    }

    static func plan(_ movement: PaymentMovement) -> Plan {
        precondition(movement.amount >= 0 && movement.tip >= 0 && movement.cashback >= 0, "payments carry non-negative amounts")
        switch movement.type {
        case "SALE", "PRE_AUTH_COMPLETE": return sale(movement)
        case "REFUND": return refund(movement)
        case "VOID":
            guard let original = movement.originalTransactionId else { return .nothing }
            return .reverseOriginal(transactionId: original)
        default: return .nothing
        }
    }

    private static func sale(_ movement: PaymentMovement) -> Plan {
        var lines: [Line] = []
        let kind = movement.type == "SALE" ? "sale" : "pre-auth completion"
        switch movement.tender {
        case "CARD":
            lines.append(Line(rule: .cardClearing, side: .debit, amount: movement.amount + movement.tip + movement.cashback))
            lines.append(Line(rule: .cash, side: .credit, amount: movement.cashback))
        case "CASH":
            let ledger = movement.amount + movement.tip
            let cash = movement.cashTotal ?? ledger
            lines.append(Line(rule: .cash, side: .debit, amount: cash))
            lines.append(Line(rule: .cashRounding, side: cash < ledger ? .debit : .credit, amount: abs(cash - ledger)))
        case "STORED_VALUE":
            lines.append(Line(rule: .storedValueLiability, side: .debit, amount: movement.amount + movement.tip))
        default: return .nothing
        }
        lines.append(Line(rule: .salesRevenue, side: .credit, amount: movement.amount))
        lines.append(Line(rule: .tipsPayable, side: .credit, amount: movement.tip))
        return balanced("\(movement.tender.lowercased()) \(kind) \(movement.transactionId)", lines)
    }

    private static func refund(_ movement: PaymentMovement) -> Plan {
        var lines = [Line(rule: .salesReturns, side: .debit, amount: movement.amount)]
        switch movement.tender {
        case "CARD": lines.append(Line(rule: .cardClearing, side: .credit, amount: movement.amount))
        case "CASH":
            let cash = movement.cashTotal ?? movement.amount
            lines.append(Line(rule: .cash, side: .credit, amount: cash))
            lines.append(Line(rule: .cashRounding, side: cash > movement.amount ? .debit : .credit, amount: abs(cash - movement.amount)))
        case "STORED_VALUE": lines.append(Line(rule: .storedValueLiability, side: .credit, amount: movement.amount))
        default: return .nothing
        }
        return balanced("\(movement.tender.lowercased()) refund \(movement.transactionId)", lines)
    }

    /// Drops zero lines; a movement that moves nothing posts nothing.
    static func balanced(_ description: String, _ lines: [Line]) -> Plan {
        let kept = lines.filter { $0.amount > 0 }
        let debits = kept.filter { $0.side == .debit }.reduce(Int64(0)) { $0 + $1.amount }
        let credits = kept.filter { $0.side == .credit }.reduce(Int64(0)) { $0 + $1.amount }
        precondition(debits == credits, "an automatic posting balances")
        guard debits > 0 else { return .nothing }
        return .post(description: description, lines: kept)
    }
}
