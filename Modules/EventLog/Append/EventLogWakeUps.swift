import Foundation
import Kernel
import Synchronization

/// Carries "events were committed" to consumers: at once to this process's runners, and to other
/// instances through one NOTIFY per `notifyIntervalMilliseconds` at most, sent outside any appending
/// transaction (see `EventLogWriter.appendCommitted`). A lost wake-up only costs a poll interval.
public final class EventLogWakeUps: Sendable {
    /// The most NOTIFYs one instance sends: one per this interval while events keep being committed.
    public static let notifyIntervalMilliseconds = 50

    let local = WakeSignal()
    private let notifyPending = Atomic<Bool>(false)
    private let pendingSignal = WakeSignal()

    public init() {}

    func appended() {
        local.signal()
        if !notifyPending.exchange(true, ordering: .acquiringAndReleasing) { pendingSignal.signal() }
    }

    /// Sends the NOTIFYs other instances wait for, until cancelled.
    func notifyOtherInstances(database: any Database, logger: Logger) async {
        while !Task.isCancelled {
            let generation = pendingSignal.generation
            guard notifyPending.exchange(false, ordering: .acquiringAndReleasing) else {
                await pendingSignal.wait(milliseconds: 1_000, unlessSignaledSince: generation)
                continue
            }
            do {
                try await database.notify(channel: EventLogSchema.channel, payload: "")
            } catch {
                logger.warning("event log: NOTIFY failed; other instances poll instead",
                               ["error": .string(String(describing: error))])
            }
            do { try await Task.sleep(for: .milliseconds(Self.notifyIntervalMilliseconds)) } catch { return }
        }
    }
}
