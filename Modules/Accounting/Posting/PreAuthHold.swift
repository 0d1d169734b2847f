import Foundation
import Kernel

/// A card pre-authorization as a pending transfer in TigerBeetle's two-phase sense: the authorization reserves
/// `amount` from card clearing (debit) to sales revenue (credit) without posting it, so no revenue and no balance
/// change exists until the hold is resolved. Completion posts (the completion's own journal entry is the posted
/// transfer; any authorized amount it did not capture is released), a void or an expiry releases everything. A
/// resolved hold never changes again (the `accounting_hold_guard` trigger refuses it in the database too).
///
/// ```
/// pending ──complete {captured}──► posted     the completion's entry posts; amount − captured released
///    ├──────void──────────────────► voided     all released, nothing posted
///    └──────expire────────────────► expired    all released, nothing posted
/// ```
struct PreAuthHold: Sendable, Hashable {
    enum Status: String, Sendable, Hashable, CaseIterable {
        case pending, posted, voided, expired
    }

    /// What a transition did: a hold resolved now (to be written), or nothing (already resolved: a redelivered
    /// or late event, which must not resolve it twice).
    enum Action: Sendable, Hashable {
        case resolved(Status, releasedMinor: Int64)
        case unchanged
    }

    let companyId: String
    let mode: Mode
    let transactionId: String
    let amountMinor: Int64
    let currency: String
    let debitAccountId: String
    let creditAccountId: String
    let authorizedEventId: String
    let authorizedOn: String
    private(set) var status: Status = .pending
    private(set) var capturedMinor: Int64 = 0
    private(set) var resolvedEventId: String?
    private(set) var resolvedByTransactionId: String?
    /// The UTC day of the resolving event (the pending-holds report's "as of").
    private(set) var resolvedOn: String?

    init(companyId: String, mode: Mode, transactionId: String, amountMinor: Int64, currency: String, debitAccountId: String,
         creditAccountId: String, authorizedEventId: String, authorizedOn: String) {
        precondition(amountMinor > 0, "a hold reserves a positive amount")
        self.companyId = companyId
        self.mode = mode
        self.transactionId = transactionId
        self.amountMinor = amountMinor
        self.currency = currency
        self.debitAccountId = debitAccountId
        self.creditAccountId = creditAccountId
        self.authorizedEventId = authorizedEventId
        self.authorizedOn = authorizedOn
    }

    /// A stored hold as read back (its resolution included).
    init(stored hold: PreAuthHold, status: Status, capturedMinor: Int64, resolvedEventId: String?, resolvedByTransactionId: String?,
         resolvedOn: String?) {
        self = hold
        self.status = status
        self.capturedMinor = capturedMinor
        self.resolvedEventId = resolvedEventId
        self.resolvedByTransactionId = resolvedByTransactionId
        self.resolvedOn = resolvedOn
    }

    /// The completion captured `capturedMinor` (its amount, tip excluded: the tip was never authorized).
    mutating func complete(capturedMinor captured: Int64, byTransaction transactionId: String, eventId: String, on day: String) -> Action {
        precondition(captured >= 0, "a completion captures a non-negative amount")
        return resolve(.posted, captured: captured, transactionId: transactionId, eventId: eventId, day: day)
    }

    mutating func void(byTransaction transactionId: String, eventId: String, on day: String) -> Action {
        resolve(.voided, captured: 0, transactionId: transactionId, eventId: eventId, day: day)
    }

    /// Transactions' `transaction.expired`: the pre-authorization ran out of its window uncompleted (its expiry sweep).
    mutating func expire(eventId: String, on day: String) -> Action {
        resolve(.expired, captured: 0, transactionId: nil, eventId: eventId, day: day)
    }

    private mutating func resolve(_ target: Status, captured: Int64, transactionId: String?, eventId: String, day: String) -> Action {
        guard status == .pending else { return .unchanged }
        status = target
        capturedMinor = captured
        resolvedEventId = eventId
        resolvedByTransactionId = transactionId
        resolvedOn = day
        return .resolved(target, releasedMinor: max(0, amountMinor - captured))
    }
}
