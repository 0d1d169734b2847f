import Synchronization

/// Wakes waiting consumer loops when events were appended (a NOTIFY arrived), or lets them sleep until a
/// poll interval ends. A waiter passes the generation it saw before its last read, so a signal that came
/// between that read and the wait is not lost.
final class WakeSignal: Sendable {
    private enum Waiter {
        /// The wait started; its continuation is not registered yet.
        case starting
        case registered(CheckedContinuation<Void, Never>)
        /// The wait ended (timeout) before the continuation registered: resume it as it registers.
        case abandoned
    }

    private struct State {
        var generation: UInt64 = 0
        var nextWaiterId: UInt64 = 0
        /// A waiter leaves this table when its continuation is resumed.
        var waiters: [UInt64: Waiter] = [:]
    }

    private let state = Mutex(State())

    var generation: UInt64 { state.withLock { $0.generation } }

    func signal() {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generation &+= 1
            var woken: [CheckedContinuation<Void, Never>] = []
            for (id, waiter) in state.waiters {
                guard case .registered(let continuation) = waiter else { continue }
                woken.append(continuation)
                state.waiters[id] = nil
            }
            return woken
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns after `milliseconds`, at the next signal, at once when a signal came after `generation`
    /// was read, or when the task is cancelled.
    func wait(milliseconds: Int, unlessSignaledSince generation: UInt64) async {
        let id: UInt64? = state.withLock { state in
            guard state.generation == generation else { return nil }
            state.nextWaiterId &+= 1
            state.waiters[state.nextWaiterId] = .starting
            return state.nextWaiterId
        }
        guard let id else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await withCheckedContinuation { self.register(id, $0, generation: generation) } }
            group.addTask {
                // Cancellation only ends the sleep early, which is what a stopping loop wants.
                try? await Task.sleep(for: .milliseconds(milliseconds))
            }
            await group.next()
            group.cancelAll()
            self.abandon(id)
        }
    }

    private func register(_ id: UInt64, _ continuation: CheckedContinuation<Void, Never>, generation: UInt64) {
        let resumeNow = state.withLock { state -> Bool in
            guard case .starting = state.waiters[id], state.generation == generation else {
                state.waiters[id] = nil
                return true
            }
            state.waiters[id] = .registered(continuation)
            return false
        }
        if resumeNow { continuation.resume() }
    }

    private func abandon(_ id: UInt64) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            switch state.waiters[id] {
            case .registered(let continuation):
                state.waiters[id] = nil
                return continuation
            case .starting:
                state.waiters[id] = .abandoned
                return nil
            case .abandoned, nil:
                return nil
            }
        }
        continuation?.resume()
    }
}
