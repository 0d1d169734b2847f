import Foundation
import Kernel
import Synchronization

/// The limits and timers of `/v1/session` (docs/transactions.md, "Transaction sessions").
struct SessionLimits: Sendable, Hashable {
    /// Numbered events each session keeps for a resume; a POS more than this many events behind is told
    /// (`eventsLost` in its `session` event). A sale is at most 6 events, so this holds every event of
    /// `actionsInFlightMax` running sales many times over.
    var bufferedEventsMax = 256
    /// How long a session outlives its connection: its resume token works until then (by the injected clock).
    var resumeWindowSeconds: TimeInterval = 300
    /// Sessions kept for a resume after their connection ended; beyond it the longest-detached goes first.
    var detachedSessionsMax = 10_000
    /// Actions one session runs at once (a sale, a complete and an abort at the same time); more → SESSION_BUSY.
    var actionsInFlightMax = 8
    /// Between two `heartbeat` events on an open connection.
    var heartbeatIntervalSeconds: Double = 15
    /// Actions (every client message, valid or not) one session may start per second, sustained; beyond the burst,
    /// an action is answered with a 429 `RATE_LIMITED` error event and not run. The socket stays open.
    var actionsPerSecond: Double = 10
    /// Actions one session may start at once before `actionsPerSecond` applies.
    var actionBurstMax = 20
}

/// One session's numbered event stream: every event but `session` and `heartbeat` gets the next `seq` and is
/// kept (the last `bufferedEventsMax`), and goes to the connection attached now, if any. Numbering, buffering
/// and sending happen under one lock, so the wire order is the `seq` order even when several actions emit at
/// once, and a resume's replay cannot interleave with new events.
final class SessionStream: Sendable {
    let id: String
    let token: String
    let tenant: TenantContext
    let limits: SessionLimits

    private struct State {
        var nextSeq: Int64 = 1
        var buffer: [JSONValue] = []
        var connection: (any WebSocketConnection)?
        /// Bumped at each attach, so a connection that ended late cannot detach its successor.
        var generation = 0
        var detachedAt: Date?
        var actionsInFlight = 0
        /// Per session, not per connection: a reconnect (resume) does not refill it.
        var actions: TokenBucket
    }

    private let state: Mutex<State>

    init(id: String, token: String, tenant: TenantContext, limits: SessionLimits) {
        self.id = id
        self.token = token
        self.tenant = tenant
        self.limits = limits
        state = Mutex(State(actions: TokenBucket(capacity: limits.actionBurstMax, refillPerSecond: limits.actionsPerSecond)))
    }

    /// Takes one action's token at `now`: nil when the action may run, else the seconds until one may.
    func admitAction(at now: Date) -> TimeInterval? {
        state.withLock { $0.actions.take(at: now) }
    }

    /// Numbers, keeps and sends one event. A failed send detaches the connection (the event stays buffered).
    func emit(_ event: JSONValue) {
        state.withLock { state in
            guard case .object(var object) = event else { preconditionFailure("session events are objects") }
            object["seq"] = .int(state.nextSeq)
            state.nextSeq += 1
            let numbered = JSONValue.object(object)
            state.buffer.append(numbered)
            if state.buffer.count > limits.bufferedEventsMax { state.buffer.removeFirst(state.buffer.count - limits.bufferedEventsMax) }
            if let connection = state.connection, (try? connection.send(json: numbered)) == nil {
                state.connection = nil
            }
        }
    }

    /// A connection-level event (`heartbeat`): not numbered, not kept. False once the connection is gone.
    func sendUnnumbered(_ event: JSONValue, generation: Int) -> Bool {
        state.withLock { state in
            guard state.generation == generation, let connection = state.connection else { return false }
            guard (try? connection.send(json: event)) != nil else {
                state.connection = nil
                return false
            }
            return true
        }
    }

    /// The last `seq` given out (0 before the first event).
    var lastSeq: Int64 { state.withLock { $0.nextSeq - 1 } }

    /// Attaches `connection`: sends the `session` event, then every kept event after `lastSeq`, in order.
    /// Returns the attach's generation and the connection it took over from (to be closed), if any.
    func attach(_ connection: any WebSocketConnection, lastSeq: Int64?, resumed: Bool) -> (generation: Int, previous: (any WebSocketConnection)?) {
        state.withLock { state in
            let previous = state.connection
            state.connection = connection
            state.generation += 1
            state.detachedAt = nil
            let after = lastSeq ?? 0
            let replay = state.buffer.filter { ($0["seq"]?.intValue ?? 0) > after }
            let oldestKept = state.buffer.first?["seq"]?.intValue ?? state.nextSeq
            let session: JSONValue = [
                "event": "session", "sessionId": .string(id), "resumeToken": .string(token), "resumed": .bool(resumed),
                "lastSeq": .int(state.nextSeq - 1), "eventsLost": .bool(resumed && after + 1 < oldestKept),
                "heartbeatIntervalSeconds": .int(Int64(limits.heartbeatIntervalSeconds.rounded(.up))),
                "resumeWindowSeconds": .int(Int64(limits.resumeWindowSeconds)),
            ]
            for event in [session] + replay where (try? connection.send(json: event)) == nil {
                state.connection = nil
                break
            }
            return (state.generation, previous)
        }
    }

    /// The connection of `generation` ended: the session waits `resumeWindowSeconds` from `now` for a resume.
    func detach(generation: Int, at now: Date) {
        state.withLock { state in
            guard state.generation == generation else { return }
            state.connection = nil
            state.detachedAt = now
        }
    }

    /// When a detached session's token stops working; nil while a connection holds it.
    var expiresAt: Date? {
        state.withLock { $0.detachedAt?.addingTimeInterval(limits.resumeWindowSeconds) }
    }

    /// Takes an action slot; false when `actionsInFlightMax` actions already run.
    func beginAction() -> Bool {
        state.withLock { state in
            guard state.actionsInFlight < limits.actionsInFlightMax else { return false }
            state.actionsInFlight += 1
            return true
        }
    }

    func endAction() {
        state.withLock { state in
            precondition(state.actionsInFlight > 0, "an action ends once")
            state.actionsInFlight -= 1
        }
    }
}

/// Every session of this process by resume token. A token is 32 random bytes (base64url, `rst_` prefix), kept
/// in memory: it resumes only on the instance that issued it, and only for the merchant and mode whose
/// credential opened the session. Expired and surplus detached sessions are pruned on each open.
final class SessionStreams: Sendable {
    static let tokenBytes = 32
    static let sessionPrefix = IDPrefix(rawValue: "wss")

    private let sessions = Mutex<[String: SessionStream]>([:])

    /// A new session for `tenant`.
    func open(tenant: TenantContext, limits: SessionLimits, now: Date) -> SessionStream {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<Self.tokenBytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let token = "rst_" + Encoding.base64URL(bytes)
        let stream = SessionStream(id: TypedID.generate(prefix: Self.sessionPrefix).rawValue,
                                   token: token, tenant: tenant, limits: limits)
        sessions.withLock { sessions in
            Self.prune(&sessions, now: now, detachedMax: limits.detachedSessionsMax)
            sessions[token] = stream
        }
        return stream
    }

    /// The session `token` names, when it exists, has not expired and belongs to `tenant` (merchant and mode).
    func resume(token: String, tenant: TenantContext, now: Date) -> SessionStream? {
        sessions.withLock { sessions in
            guard let stream = sessions[token] else { return nil }
            if let expiresAt = stream.expiresAt, expiresAt <= now {
                sessions.removeValue(forKey: token)
                return nil
            }
            return stream.tenant == tenant ? stream : nil
        }
    }

    var count: Int { sessions.withLock { $0.count } }

    private static func prune(_ sessions: inout [String: SessionStream], now: Date, detachedMax: Int) {
        var detached: [(token: String, expiresAt: Date)] = []
        for (token, stream) in sessions {
            guard let expiresAt = stream.expiresAt else { continue }
            if expiresAt <= now { sessions.removeValue(forKey: token) } else { detached.append((token, expiresAt)) }
        }
        guard detached.count >= detachedMax else { return }
        for (token, _) in detached.sorted(by: { $0.expiresAt < $1.expiresAt }).prefix(detached.count - detachedMax + 1) {
            sessions.removeValue(forKey: token)
        }
    }
}
