import AcquirerContract
import Kernel

/// The steps of one close under the lock, as a value (tested without a database): each transition returns
/// what the service does next. claim → submit each unsubmitted settlement (this close's, and any a crashed
/// close left) → answer with this close's settlements.
struct CloseDayRun: Sendable {
    enum Action: Sendable, Equatable {
        case claim
        case submit(SettlementRecord)
        /// `status`: SUCCESS, FAILED or PARTIAL (`CloseDayRun.status`); `settlements`: this close's, answered.
        case answer(status: String, settlements: [SettlementRecord])
    }

    private enum State: Sendable {
        case idle
        case claiming
        case submitting(created: [SettlementRecord], queue: [SettlementRecord], answered: [String: SettlementRecord])
        case finished
    }

    private var state: State = .idle

    mutating func start() -> Action {
        guard case .idle = state else { preconditionFailure("start once") }
        state = .claiming
        return .claim
    }

    /// The claim committed `created` (at least one settlement); `unsubmitted` are the tenant's settlements
    /// still waiting for the acquirer, `created` among them unless empty.
    mutating func claimed(_ created: [SettlementRecord], unsubmitted: [SettlementRecord]) -> Action {
        guard case .claiming = state else { preconditionFailure("claimed() without a claim") }
        precondition(!created.isEmpty, "a close creates at least one settlement")
        state = .submitting(created: created, queue: unsubmitted, answered: [:])
        return next()
    }

    /// The acquirer answered the submission in flight (`stored`), or nil when it could not be reached: the
    /// settlement stays unsubmitted for the next close.
    mutating func submitted(_ stored: SettlementRecord?) -> Action {
        guard case .submitting(let created, var queue, var answered) = state, !queue.isEmpty else {
            preconditionFailure("submitted() without a submission")
        }
        let sent = queue.removeFirst()
        if let stored {
            precondition(stored.id == sent.id && stored.submitted, "the answer is the submitted settlement's")
            answered[sent.id] = stored
        }
        state = .submitting(created: created, queue: queue, answered: answered)
        return next()
    }

    private mutating func next() -> Action {
        guard case .submitting(let created, let queue, let answered) = state else { preconditionFailure("not submitting") }
        if let first = queue.first { return .submit(first) }
        state = .finished
        let final = created.map { answered[$0.id] ?? $0 }
        return .answer(status: Self.status(final), settlements: final)
    }

    /// SUCCESS when every settlement was accepted (SETTLED or PENDING funding), FAILED when none was
    /// (FAILED, or not answered), PARTIAL otherwise.
    static func status(_ settlements: [SettlementRecord]) -> String {
        let accepted = settlements.filter { $0.submitted && ($0.status == .settled || $0.status == .pending) }.count
        let refused = settlements.filter { !$0.submitted || $0.status == .failed }.count
        if accepted == settlements.count { return "SUCCESS" }
        if refused == settlements.count { return "FAILED" }
        return "PARTIAL"
    }
}
