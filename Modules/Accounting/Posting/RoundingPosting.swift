import Foundation
import Kernel

/// A rounding transaction recorded through the cash-rounding API, as the Rounding module describes it in its
/// `rounding.recorded` event (`{recordId, recordType, currency, cashRoundingChange, …}`, integer cents).
struct RoundingMovement: Sendable, Hashable {
    var recordId: String
    var recordType: String
    var currency: String
    /// What the record changes in the merchant's cash rounding: > 0 the drawer holds more than the ledger total
    /// (rounded up), < 0 less.
    var cashRoundingChange: Int64

    /// nil when the payload lacks a field the posting needs (or carries a change without a magnitude: Int64.min).
    init?(payload: JSONValue) {
        guard let recordId = payload["recordId"]?.stringValue, let recordType = payload["recordType"]?.stringValue,
              let currency = payload["currency"]?.stringValue, let change = payload["cashRoundingChange"]?.intValue,
              change != .min else {
            return nil
        }
        self.recordId = recordId
        self.recordType = recordType
        self.currency = currency
        cashRoundingChange = change
    }
}

/// What a rounding-API record does to the ledger: only its rounding, on `cash_rounding` against `cash`, as a cash
/// sale's rounding lines post (docs/accounting.md). The sale itself (revenue, tax) is the point of sale's to book:
/// the rounding API records a calculation, not a payment Atlas took, so its ledger total never reaches the books.
///
/// | cashRoundingChange | debit | credit |
/// |---|---|---|
/// | > 0 (rounded up: more cash than the ledger total) | `cash` | `cash_rounding` |
/// | < 0 (rounded down) | `cash_rounding` | `cash` |
/// | 0 | nothing | |
enum RoundingPosting {
    typealias Line = TransactionPosting.Line

    static func plan(_ movement: RoundingMovement) -> TransactionPosting.Plan {
        let change = movement.cashRoundingChange
        let (debit, credit): (PostingRule, PostingRule) = change > 0 ? (.cash, .cashRounding) : (.cashRounding, .cash)
        return TransactionPosting.balanced("cash rounding of \(movement.recordType.lowercased()) \(movement.recordId)", [
            Line(rule: debit, side: .debit, amount: abs(change)),
            Line(rule: credit, side: .credit, amount: abs(change)),
        ])
    }
}

extension LedgerBooks {
    /// The entry of one rounding-API record (`RoundingPosting`), or nil when it posts nothing (no company, no change).
    func roundingEntry(_ event: DomainEvent, _ movement: RoundingMovement) throws -> JournalStore.NewEntry? {
        guard let (company, key) = ledger(of: event), case .post(let description, let lines) = RoundingPosting.plan(movement) else {
            return nil
        }
        guard movement.currency == company.base.code else {
            throw LedgerPostingConsumer.PostingError.currencyMismatch(eventId: event.id.rawValue, currency: movement.currency,
                                                                      base: company.base.code)
        }
        return entry(event, sourceType: "rounding", sourceId: movement.recordId, reference: movement.recordId,
                     description: description, lines: try resolve(lines, key: key, company: company, eventId: event.id.rawValue))
    }
}
