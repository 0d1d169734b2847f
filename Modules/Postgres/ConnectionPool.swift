import Foundation
import Kernel
import Synchronization

/// Pool limits. Every queue has a named bound.
public struct PoolLimits: Sendable {
    /// Connections open at once (idle + in use + being opened).
    public var connectionsMax: Int
    /// How long `acquire` waits for a free connection before failing with `.poolTimeout`.
    public var acquireTimeoutSeconds: Double
    /// Tasks allowed to wait for a connection; beyond that `acquire` fails at once (load shedding).
    public var waitersMax: Int

    public init(connectionsMax: Int = 10, acquireTimeoutSeconds: Double = 5, waitersMax: Int = 1_000) {
        precondition(connectionsMax > 0 && waitersMax >= 0 && acquireTimeoutSeconds > 0)
        self.connectionsMax = connectionsMax
        self.acquireTimeoutSeconds = acquireTimeoutSeconds
        self.waitersMax = waitersMax
    }
}

/// A snapshot for metrics.
public struct PoolStats: Sendable, Equatable {
    public let inUse: Int
    public let idle: Int
    public let opening: Int
    public let waiters: Int
    public let connectionsMax: Int
}

/// A bounded connection pool as a small state machine guarded by one mutex.
///
/// Every connection slot is in exactly one state: `idle` (in the idle list), `opening` (a task is running
/// PQconnectdb for it) or `inUse` (leased). `idle + opening + inUse <= connectionsMax`. Transitions:
///
///     acquire:  idle → inUse            (after a non-blocking liveness check; dead ones are closed)
///               free slot → opening → inUse | released on failure
///               otherwise → wait (FIFO, ≤ waitersMax, ≤ acquireTimeoutSeconds)
///     release:  inUse → handed to the oldest waiter | idle
///               broken inUse → closed; its slot goes to the oldest waiter as `opening`
///     close:    waiters fail with .poolClosed, idle closed, in-use closed when released
///
/// State changes happen under the lock; continuations resume and connections close outside it.
final class ConnectionPool: Sendable {
    let limits: PoolLimits
    private let settings: ConnectionSettings
    private let logger: Logger?
    private let state: Mutex<State>
    private let nextConnectionID = Atomic<Int>(1)

    /// What a waiter is given: a ready connection, or permission to open one in a freed slot.
    private enum Grant {
        case connection(PGConnection)
        case openSlot
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Result<Grant, DatabaseError>, Never>
        let timer: Task<Void, Never>
    }

    private struct State: ~Copyable {
        var idle: [PGConnection] = []
        var inUse = 0
        var opening = 0
        var waiters: [Waiter] = []
        var closed = false
        var nextWaiterID: UInt64 = 1
        /// Waiters whose cancellation fired before they were queued (removed when acquire returns).
        var cancelledWaiterIDs: Set<UInt64> = []

        var total: Int { idle.count + inUse + opening }
    }

    init(settings: ConnectionSettings, limits: PoolLimits, logger: Logger?) {
        self.settings = settings
        self.limits = limits
        self.logger = logger
        self.state = Mutex(State())
    }

    var stats: PoolStats {
        state.withLock { state in
            PoolStats(inUse: state.inUse, idle: state.idle.count, opening: state.opening,
                      waiters: state.waiters.count, connectionsMax: limits.connectionsMax)
        }
    }

    // MARK: - Acquire

    /// Returns a live, leased connection. Pair every successful call with `release`.
    func acquire() async -> Result<PGConnection, DatabaseError> {
        // Each loop turn either returns or discards one dead connection, so it ends after at most
        // connectionsMax + 1 turns in practice; the bound only guards against a logic error.
        for _ in 0...(limits.connectionsMax * 2 + 2) {
            let grant: Grant
            switch await waitForGrant() {
            case .failure(let error): return .failure(error)
            case .success(let value): grant = value
            }
            switch grant {
            case .connection(let connection):
                if connection.isUsable() { return .success(connection) }
                logger?.info("postgres connection found dead on acquire; replacing", ["connection": .int(Int64(connection.id))])
                release(connection)
            case .openSlot:
                return await openInReservedSlot()
            }
        }
        return .failure(DatabaseError(kind: .connectionFailed, message: "no live connection after repeated attempts"))
    }

    private func openInReservedSlot() async -> Result<PGConnection, DatabaseError> {
        let id = nextConnectionID.add(1, ordering: .relaxed).oldValue
        switch await PGConnection.connect(id: id, settings: settings) {
        case .success(let connection):
            let stillOpen = state.withLock { state -> Bool in
                state.opening -= 1
                guard !state.closed else { return false }
                state.inUse += 1
                return true
            }
            guard stillOpen else {
                connection.close()
                return .failure(Self.closedError)
            }
            return .success(connection)
        case .failure(let error):
            logger?.warning("postgres connect failed", ["error": .string(error.message)])
            slotFreed { $0.opening -= 1 }
            return .failure(error)
        }
    }

    /// Takes an idle connection or a free slot at once, else queues until one is released.
    private func waitForGrant() async -> Result<Grant, DatabaseError> {
        // Fast path without a continuation or timer: most acquires find an idle connection.
        if let immediate = state.withLock({ tryGrant(&$0) }) { return immediate }
        let waiterID = state.withLock { state -> UInt64 in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<Grant, DatabaseError>, Never>) in
                let timer = Task { [self] in
                    try? await Task.sleep(for: .seconds(limits.acquireTimeoutSeconds))
                    if Task.isCancelled { return }
                    expireWaiter(waiterID, error: Self.timeoutError(limits.acquireTimeoutSeconds))
                }
                let immediate = state.withLock { state -> Result<Grant, DatabaseError>? in
                    if state.cancelledWaiterIDs.contains(waiterID) {
                        return .failure(DatabaseError(kind: .poolTimeout, message: "acquire cancelled"))
                    }
                    // Re-check: a connection may have been released since the fast path.
                    if let granted = tryGrant(&state) { return granted }
                    state.waiters.append(Waiter(id: waiterID, continuation: continuation, timer: timer))
                    return nil
                }
                if let immediate {
                    timer.cancel()
                    continuation.resume(returning: immediate)
                }
            }
        } onCancel: { [self] in
            expireWaiter(waiterID, error: DatabaseError(kind: .poolTimeout, message: "acquire cancelled"))
        }
        state.withLock { _ = $0.cancelledWaiterIDs.remove(waiterID) }
        return result
    }

    /// Under the lock: a grant now, a failure now, or nil when the caller has to wait.
    private func tryGrant(_ state: inout State) -> Result<Grant, DatabaseError>? {
        if state.closed { return .failure(Self.closedError) }
        if let connection = state.idle.popLast() {
            state.inUse += 1
            return .success(.connection(connection))
        }
        if state.total < limits.connectionsMax {
            state.opening += 1
            return .success(.openSlot)
        }
        if state.waiters.count >= limits.waitersMax {
            return .failure(DatabaseError(kind: .poolTimeout,
                                          message: "connection pool queue full (\(limits.waitersMax) waiters)"))
        }
        return nil
    }

    private func expireWaiter(_ waiterID: UInt64, error: DatabaseError) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == waiterID }) else {
                state.cancelledWaiterIDs.insert(waiterID)
                return nil
            }
            return state.waiters.remove(at: index)
        }
        guard let waiter else { return }
        waiter.timer.cancel()
        waiter.continuation.resume(returning: .failure(error))
    }

    // MARK: - Release

    /// Returns a leased connection. Broken or closed-pool connections are closed; a connection left inside
    /// a transaction block must be cleaned (ROLLBACK) by the caller first, else it is discarded here.
    func release(_ connection: PGConnection) {
        let reusable = !connection.isBroken && connection.transactionIsIdle()
        if !reusable {
            connection.close()
            slotFreed { $0.inUse -= 1 }
            return
        }
        enum Next { case handOff(Waiter), keptIdle, closePoolClosed }
        let next = state.withLock { state -> Next in
            if state.closed {
                state.inUse -= 1
                return .closePoolClosed
            }
            if !state.waiters.isEmpty { return .handOff(state.waiters.removeFirst()) }
            state.inUse -= 1
            state.idle.append(connection)
            return .keptIdle
        }
        switch next {
        case .handOff(let waiter):
            waiter.timer.cancel()
            waiter.continuation.resume(returning: .success(.connection(connection)))
        case .closePoolClosed:
            connection.close()
        case .keptIdle:
            break
        }
    }

    /// Frees one slot (via `update`) and, when tasks wait, lets the oldest open a replacement connection.
    private func slotFreed(_ update: (inout State) -> Void) {
        let waiter = state.withLock { state -> Waiter? in
            update(&state)
            guard !state.closed, !state.waiters.isEmpty else { return nil }
            state.opening += 1
            return state.waiters.removeFirst()
        }
        guard let waiter else { return }
        waiter.timer.cancel()
        waiter.continuation.resume(returning: .success(.openSlot))
    }

    // MARK: - Close

    /// Fails all waiters, closes idle connections; leased ones close when released.
    func close() {
        let (idle, waiters) = state.withLock { state -> ([PGConnection], [Waiter]) in
            state.closed = true
            defer {
                state.idle.removeAll()
                state.waiters.removeAll()
            }
            return (state.idle, state.waiters)
        }
        for waiter in waiters {
            waiter.timer.cancel()
            waiter.continuation.resume(returning: .failure(Self.closedError))
        }
        idle.forEach { $0.close() }
    }

    static let closedError = DatabaseError(kind: .poolClosed, message: "connection pool is closed")

    static func timeoutError(_ seconds: Double) -> DatabaseError {
        DatabaseError(kind: .poolTimeout, message: "no database connection free within \(seconds)s")
    }
}
