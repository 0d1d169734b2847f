import AcquirerContract
import Foundation
import Synchronization

/// Acquirer calls in flight in this process, by transaction id, so `abort` can cancel them. An abort may
/// arrive after the sale claimed its terminal but before its acquirer call started; it is remembered and
/// cancels the call as it registers, so the abort takes effect at once instead of after the call.
final class InFlightAcquirerCalls: Sendable {
    /// Early aborts older than this are forgotten (their sale ran on another instance, or ended).
    static let earlyAbortLifetimeSeconds: Double = 60
    /// A bound on remembered early aborts; the oldest go first.
    static let earlyAbortsMax = 10_000

    private struct State {
        var tasks: [String: Task<AcquirerOutcome, any Error>] = [:]
        var earlyAborts: [String: ContinuousClock.Instant] = [:]
    }

    private let state = Mutex(State())

    /// Registers a started call; cancels it at once when its abort came first.
    func register(_ transactionId: String, _ task: Task<AcquirerOutcome, any Error>) {
        let abortedEarly = state.withLock { state in
            state.tasks[transactionId] = task
            return state.earlyAborts.removeValue(forKey: transactionId) != nil
        }
        if abortedEarly { task.cancel() }
    }

    func finished(_ transactionId: String) {
        state.withLock { _ = $0.tasks.removeValue(forKey: transactionId) }
    }

    /// Cancels the transaction's call, or remembers the abort for a call not started yet.
    func abort(_ transactionId: String) {
        let now = ContinuousClock.now
        let task = state.withLock { state -> Task<AcquirerOutcome, any Error>? in
            if let task = state.tasks[transactionId] { return task }
            state.earlyAborts = state.earlyAborts.filter { now - $0.value < .seconds(Self.earlyAbortLifetimeSeconds) }
            if state.earlyAborts.count >= Self.earlyAbortsMax,
               let oldest = state.earlyAborts.min(by: { $0.value < $1.value })?.key {
                state.earlyAborts.removeValue(forKey: oldest)
            }
            state.earlyAborts[transactionId] = now
            return nil
        }
        task?.cancel()
    }

    /// The sale is over: an early abort it never reached is dropped.
    func saleEnded(_ transactionId: String) {
        state.withLock { _ = $0.earlyAborts.removeValue(forKey: transactionId) }
    }
}
