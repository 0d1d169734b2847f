import Kernel
import Synchronization

/// The handler's side of one upgraded connection (Kernel's `WebSocketConnection`). Handlers call it from any task;
/// the event loop that owns the socket takes queued frames and control requests from it (`takeWork`) after one
/// wake-up per batch, and hands it received messages (`deliver`). All state sits behind one lock; an idle
/// channel holds no buffers.
final class WebSocketChannel: WebSocketConnection {
    /// What the loop must do for this connection, taken in one lock.
    struct Work {
        var outbound: [UInt8] = []
        /// The handler queued a close frame (it is at the end of `outbound`).
        var closeQueued = false
        /// A send overflowed the queue: cut the connection.
        var abort = false
        /// The handler took messages after the loop paused reading for a full inbound queue.
        var resumeReading = false
    }

    private enum Phase {
        case open
        /// A close frame is queued or sent; no more sends.
        case closing
        /// The connection is gone.
        case ended
    }

    private struct State {
        var phase = Phase.open
        var inbound: [WebSocketMessage] = []
        var receiver: CheckedContinuation<WebSocketMessage?, Never>?
        var inboundEnded = false
        var work = Work()
        /// The loop has been woken and has not taken the work yet (one wake-up per batch).
        var wakePending = false
        /// The loop stopped reading because `inbound` was full.
        var readPaused = false
        var peerCloseCode: WebSocketCloseCode?
    }

    let fd: Int32
    let connectionID: UInt64
    private let limits: WebSocketLimits
    private let wake: @Sendable (WebSocketChannel) -> Void
    private let state = Mutex(State())

    init(fd: Int32, connectionID: UInt64, limits: WebSocketLimits, wake: @escaping @Sendable (WebSocketChannel) -> Void) {
        self.fd = fd
        self.connectionID = connectionID
        self.limits = limits
        self.wake = wake
    }

    // MARK: WebSocketConnection (any task)

    func receive() async -> WebSocketMessage? {
        await withCheckedContinuation { (continuation: CheckedContinuation<WebSocketMessage?, Never>) in
            enum Answer { case now(WebSocketMessage?), later }
            let (answer, notify) = state.withLock { state -> (Answer, Bool) in
                if !state.inbound.isEmpty {
                    let message = state.inbound.removeFirst()
                    return (.now(message), resumeReadingIfRoom(&state))
                }
                // One receiver at a time: a second concurrent receive sees the end.
                if state.inboundEnded || state.receiver != nil { return (.now(nil), false) }
                state.receiver = continuation
                return (.later, resumeReadingIfRoom(&state))
            }
            if notify { wake(self) }
            if case .now(let message) = answer { continuation.resume(returning: message) }
        }
    }

    func send(_ message: WebSocketMessage) throws(WebSocketSendError) { try send(WebSocketEncodedMessage(message)) }

    /// Queues the encoded frame. An empty queue takes the frame's array itself (no copy: a broadcast's connections
    /// share one buffer down to the socket write); a queue that holds frames already appends it.
    func send(_ encoded: WebSocketEncodedMessage) throws(WebSocketSendError) {
        let frame = encoded.frame
        let outcome = state.withLock { state -> (error: WebSocketSendError?, notify: Bool, receiver: CheckedContinuation<WebSocketMessage?, Never>?) in
            guard case .open = state.phase else { return (.closed, false, nil) }
            guard state.work.outbound.count + frame.count <= limits.sendQueueBytesMax else {
                state.phase = .ended
                state.work.abort = true
                state.work.outbound = []
                let receiver = endInbound(&state)
                return (.sendQueueFull, takeWake(&state), receiver)
            }
            if state.work.outbound.isEmpty { state.work.outbound = frame } else { state.work.outbound.append(contentsOf: frame) }
            return (nil, takeWake(&state), nil)
        }
        outcome.receiver?.resume(returning: nil)
        if outcome.notify { wake(self) }
        if let error = outcome.error { throw error }
    }

    func close(code: WebSocketCloseCode, reason: String) {
        let code = code.isSendable ? code : .internalError
        let notify = state.withLock { state -> Bool in
            guard case .open = state.phase else { return false }
            state.phase = .closing
            state.work.outbound.append(contentsOf: WebSocketFrameEncoder.close(code, reason: reason))
            state.work.closeQueued = true
            return takeWake(&state)
        }
        if notify { wake(self) }
    }

    var peerCloseCode: WebSocketCloseCode? { state.withLock { $0.peerCloseCode } }

    // MARK: Event loop side

    /// Queues a received message; true when the inbound queue is now full (the loop pauses reading).
    func deliver(_ message: WebSocketMessage) -> Bool {
        let (receiver, full) = state.withLock { state -> (CheckedContinuation<WebSocketMessage?, Never>?, Bool) in
            if let receiver = state.receiver {
                state.receiver = nil
                return (receiver, false)
            }
            state.inbound.append(message)
            let full = state.inbound.count >= limits.inboundMessagesMax
            if full { state.readPaused = true }
            return (nil, full)
        }
        receiver?.resume(returning: message)
        return full
    }

    /// The loop's share of the work; clears it.
    func takeWork() -> Work {
        state.withLock { state in
            state.wakePending = false
            defer { state.work = Work() }
            return state.work
        }
    }

    /// The peer sent close (or broke the protocol, `code` nil): no more messages; sends stop.
    func peerClosed(code: WebSocketCloseCode?) {
        let receiver = state.withLock { state in
            state.peerCloseCode = code
            if case .open = state.phase { state.phase = .closing }
            return endInbound(&state)
        }
        receiver?.resume(returning: nil)
    }

    /// The loop sent a close frame of its own (protocol error, idle timeout, shutdown): sends stop.
    func loopClosing() {
        state.withLock { state in
            if case .open = state.phase { state.phase = .closing }
        }
    }

    /// The socket is closed: wake a waiting receiver, refuse sends, drop queued frames.
    func finish() {
        let receiver = state.withLock { state in
            state.phase = .ended
            state.work = Work()
            state.inbound = []
            return endInbound(&state)
        }
        receiver?.resume(returning: nil)
    }

    // MARK: Helpers (inside the lock)

    private func endInbound(_ state: inout State) -> CheckedContinuation<WebSocketMessage?, Never>? {
        state.inboundEnded = true
        defer { state.receiver = nil }
        return state.receiver
    }

    private func takeWake(_ state: inout State) -> Bool {
        guard !state.wakePending else { return false }
        state.wakePending = true
        return true
    }

    private func resumeReadingIfRoom(_ state: inout State) -> Bool {
        guard state.readPaused, state.inbound.count < limits.inboundMessagesMax / 2 + 1 else { return false }
        state.readPaused = false
        state.work.resumeReading = true
        return takeWake(&state)
    }
}
