import Synchronization

/// Runs concurrent callers' items together: items that arrive while a batch is in flight queue up and go
/// out in the next batch, so N callers share one database round trip (and one commit) instead of paying N.
///
/// WHY: under load the per-statement cost (a worker-thread hand-off, a PostgreSQL backend wake-up, a
/// commit) dominates small statements. There is no gathering delay: an item arriving at an idle batcher
/// goes out at once, and under load the batch in flight is the window. Callers are answered per item by
/// `execute`, which must return exactly one result per item, in order; isolating one item's failure (e.g.
/// retrying the items one by one) is `execute`'s job, so each caller sees only its own error.
///
/// Used for idempotency key claims and lookups (Auth) and sale writes (Transactions).
public final class GroupBatcher<Item: Sendable, Output: Sendable>: Sendable {
    public struct Limits: Sendable {
        /// Items per batch (bounds statement size and bind count).
        public let batchItemsMax: Int
        /// Batches in flight at once (each holds one pooled connection while it runs); a second one starts
        /// only when a full batch is waiting.
        public let flushersMax: Int
        /// Bound on queued items; beyond it a caller's item runs alone instead of queueing.
        public let queueItemsMax: Int

        public init(batchItemsMax: Int = 64, flushersMax: Int = 2, queueItemsMax: Int = 4_096) {
            precondition(batchItemsMax > 0 && flushersMax > 0 && queueItemsMax > 0, "limits must be positive")
            self.batchItemsMax = batchItemsMax
            self.flushersMax = flushersMax
            self.queueItemsMax = queueItemsMax
        }
    }

    public typealias Execute = @Sendable ([Item]) async -> [Result<Output, any Error>]

    private struct Pending: Sendable {
        let item: Item
        let continuation: CheckedContinuation<Output, any Error>
    }

    private struct State {
        var pending: [Pending] = []
        var activeFlushers = 0
    }

    public let limits: Limits
    private let execute: Execute
    private let distinctKey: (@Sendable (Item) -> String)?
    private let state = Mutex(State())

    /// `distinctKey`: items with equal keys never share a batch (e.g. PostgreSQL refuses to update one row
    /// twice in a statement); a later duplicate waits for the next batch.
    public init(limits: Limits = Limits(), distinctKey: (@Sendable (Item) -> String)? = nil,
                execute: @escaping Execute) {
        self.limits = limits
        self.distinctKey = distinctKey
        self.execute = execute
    }

    /// Items waiting for a batch (not counting those in flight); for metrics and tests.
    public var queuedCount: Int { state.withLock { $0.pending.count } }

    /// Queues `item` and returns its result once the batch holding it has run.
    public func submit(_ item: Item) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let startFlusher: Bool? = state.withLock { state in
                guard state.pending.count < limits.queueItemsMax else { return nil }
                state.pending.append(Pending(item: item, continuation: continuation))
                let wanted = state.activeFlushers == 0
                    || (state.pending.count >= limits.batchItemsMax && state.activeFlushers < limits.flushersMax)
                if wanted { state.activeFlushers += 1 }
                return wanted
            }
            switch startFlusher {
            case nil: Task { continuation.resume(with: await self.run([item])[0]) }
            case true?: Task { await self.flushLoop() }
            case false?: break
            }
        }
    }

    /// Takes batches until the queue is empty.
    private func flushLoop() async {
        while true {
            let batch = nextBatch()
            if batch.isEmpty { return }
            let results = await run(batch.map(\.item))
            for (pending, result) in zip(batch, results) { pending.continuation.resume(with: result) }
        }
    }

    /// For `execute` after a failed batch: runs each item alone, so each caller gets only its own error.
    public static func eachAlone(_ items: [Item], _ body: (Item) async throws -> Output) async -> [Result<Output, any Error>] {
        var results: [Result<Output, any Error>] = []
        results.reserveCapacity(items.count)
        for item in items {
            do { results.append(.success(try await body(item))) } catch { results.append(.failure(error)) }
        }
        return results
    }

    private func run(_ items: [Item]) async -> [Result<Output, any Error>] {
        let results = await execute(items)
        precondition(results.count == items.count, "execute must answer every item")
        return results
    }

    /// Up to `batchItemsMax` queued items (distinct keys when asked); ends the flusher when none are left.
    private func nextBatch() -> [Pending] {
        state.withLock { state in
            let taken: [Pending]
            if let distinctKey {
                var seen = Set<String>()
                var kept: [Pending] = []
                var chosen: [Pending] = []
                for pending in state.pending {
                    if chosen.count < limits.batchItemsMax && seen.insert(distinctKey(pending.item)).inserted {
                        chosen.append(pending)
                    } else {
                        kept.append(pending)
                    }
                }
                state.pending = kept
                taken = chosen
            } else {
                let count = min(limits.batchItemsMax, state.pending.count)
                taken = Array(state.pending.prefix(count))
                state.pending.removeFirst(count)
            }
            if taken.isEmpty { state.activeFlushers -= 1 }
            return taken
        }
    }
}
