import Foundation
import Kernel

/// A change of a stored-value card's balance as Reconciliation's card registry describes it in its `stored_value.*`
/// events (docs/reconciliation.md): integer minor units, the card's balance after the change.
struct StoredValueMovement: Sendable, Hashable {
    enum Kind: String, Sendable, Hashable {
        case loaded = "stored_value.loaded"
        case debited = "stored_value.debited"
    }

    var kind: Kind
    var cardId: String
    var amount: Int64
    var currency: String
    var balanceAfter: Int64
    /// Station top-ups carry it; otherwise it is `balanceAfter ∓ amount`.
    var balanceBefore: Int64
    /// The part of an offline debit the card's balance did not cover (the member owes it).
    var shortfall: Int64
    /// `station`, `online` or `offline`.
    var source: String
    /// An online change's reference: `stored-value-load`, or the id of the `/v1` payment that moved the balance.
    var reference: String?

    /// nil when the payload lacks a field a posting needs, or carries a negative amount.
    init?(type: String, payload: JSONValue) {
        guard let kind = Kind(rawValue: type), let cardId = payload["cardId"]?.stringValue,
              let amount = payload["amount"]?.intValue, amount > 0, let currency = payload["currency"]?.stringValue,
              let after = payload["balanceAfter"]?.intValue else { return nil }
        self.kind = kind
        self.cardId = cardId
        self.amount = amount
        self.currency = currency
        balanceAfter = after
        balanceBefore = payload["balanceBefore"]?.intValue ?? (kind == .loaded ? after - amount : after + amount)
        shortfall = min(amount, max(0, payload["shortfall"]?.intValue ?? 0))
        source = payload["source"]?.stringValue ?? ""
        reference = payload["reference"]?.stringValue
    }

    /// Moved by a `/v1` stored-value payment (a sale, refund or void): that payment's `transaction.approved` posts it.
    var madeByPayment: Bool {
        source == "online" && (reference.map { TypedID(rawValue: $0).prefix == IDPrefix.transaction.rawValue } ?? false)
    }

    /// How much of a credit repays what the card owed (a balance below zero).
    var repaidMinor: Int64 { kind == .loaded ? min(amount, max(0, -balanceBefore)) : 0 }
}

/// What one stored-value balance change does to the ledger, by posting rule (docs/accounting.md). The stored-value
/// liability mirrors the cards' positive balances and the receivable what members owe (negative balances):
///
/// | event | debit | credit |
/// |---|---|---|
/// | load (station top-up, `/v1` load) | `stored_value_funding`: amount | `stored_value_receivable`: the part repaying a debt; `stored_value_liability`: the rest |
/// | offline debit (reconciled spend) | `stored_value_liability`: the covered part; `stored_value_receivable`: the shortfall | `sales_revenue`: amount |
/// | credit by a `/v1` refund or void | `stored_value_liability`: the part repaying a debt | `stored_value_receivable` (the refund's own entry posts the rest) |
/// | debit by a `/v1` sale | nothing: the sale's own entry posts it | |
enum StoredValuePosting {
    typealias Line = TransactionPosting.Line

    static func plan(_ movement: StoredValueMovement) -> TransactionPosting.Plan {
        let repaid = movement.repaidMinor
        switch (movement.kind, movement.madeByPayment) {
        case (.loaded, false):
            return TransactionPosting.balanced("stored-value load \(movement.cardId)", [
                Line(rule: .storedValueFunding, side: .debit, amount: movement.amount),
                Line(rule: .storedValueReceivable, side: .credit, amount: repaid),
                Line(rule: .storedValueLiability, side: .credit, amount: movement.amount - repaid),
            ])
        case (.loaded, true):
            return TransactionPosting.balanced("stored-value credit \(movement.reference ?? "") repays card \(movement.cardId)", [
                Line(rule: .storedValueLiability, side: .debit, amount: repaid),
                Line(rule: .storedValueReceivable, side: .credit, amount: repaid),
            ])
        case (.debited, false):
            return TransactionPosting.balanced("\(movement.source) stored-value spend \(movement.cardId)", [
                Line(rule: .storedValueLiability, side: .debit, amount: movement.amount - movement.shortfall),
                Line(rule: .storedValueReceivable, side: .debit, amount: movement.shortfall),
                Line(rule: .salesRevenue, side: .credit, amount: movement.amount),
            ])
        case (.debited, true):
            return .nothing
        }
    }
}
