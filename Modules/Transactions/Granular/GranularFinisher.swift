import Foundation
import IdempotencyContract
import Kernel

/// Ends granular transactions: completion, abort and expiry each lock the pending row, ask `GranularState`
/// what to do, and write the final row through `SaleCommitter.write` (the sale engine's write: row, event
/// and Idempotency-Key answer in one commit) together with the pending row's deletion. So a granular sale
/// reaches events, totals and the ledger exactly like an orchestrated one, and two racing completions
/// serialize on the row lock: one writes, the other finds nothing pending.
struct GranularFinisher: Sendable {
    /// Between two expiry sweeps (`sweepLoop`).
    static let sweepIntervalSeconds: Double = 5

    enum Finish: Sendable {
        case written(WrittenSale)
        /// A deferred Idempotency-Key was committed first by a duplicate: its answer, replayed.
        case replayed(Response)
        /// The deadline had passed: the ERROR row is written, the request is refused.
        case expired
        /// Still awaiting completion (a sweep before the deadline).
        case pending(PendingGranular)
        /// No pending row: never granular, already final, or unknown.
        case notPending
    }

    let services: ModuleServices
    let store: TransactionStore
    let pendingStore: GranularStore

    init(services: ModuleServices, store: TransactionStore) {
        self.services = services
        self.store = store
        pendingStore = GranularStore(database: services.database)
    }

    /// Runs `transition` on the locked pending row and writes what it asks for, in one transaction.
    func finish(_ id: String, tenant: TenantContext, key: (any IdempotencyScope)?,
                _ transition: @escaping @Sendable (inout GranularState, Date) -> GranularState.Action) async throws -> Finish {
        let now = services.clock.now()
        let services = services
        let store = store
        let pendingStore = pendingStore
        let finish: Finish
        do {
            finish = try await services.database.transaction { tx in
                guard let pending = try await pendingStore.find(id, tenant: tenant, executor: tx, forUpdate: true) else {
                    return Finish.notPending
                }
                var state = pending.state
                let outcome: GranularState.Outcome?
                switch transition(&state, now) {
                case .write(let chosen): outcome = chosen
                case .expire: outcome = nil
                case .none, .refuseFinished: return .pending(pending)
                }
                let record = GranularState.finalRecord(pending.record, outcome: outcome)
                // An expiry answers 409, so the key (if any) is left to the middleware to store that answer.
                let written = try await SaleCommitter.write(record, key: outcome == nil ? nil : key,
                                                            releaseTerminal: record.terminalId != nil,
                                                            services: services, store: store, executor: tx)
                try await pendingStore.delete(id, tenant: tenant, executor: tx)
                return outcome == nil ? .expired : .written(written)
            }
        } catch is KeyedWrite.KeyLost {
            guard let key else { preconditionFailure("only a key can be lost") }
            return .replayed(try await key.answerAfterLoss())
        }
        switch finish {
        case .written:
            services.eventLog.appendCommitted()
            key?.committed()
        case .expired:
            services.eventLog.appendCommitted()
        case .pending, .notPending, .replayed:
            break
        }
        return finish
    }

    /// Why there is nothing to complete or abort: expired, final, orchestrated and running, or unknown.
    func refusal(_ id: String, tenant: TenantContext) async throws -> AtlasError {
        if let final = try await store.find(id, tenant: tenant) {
            return final.errorCode == GranularErrors.completionTimeoutCode ? GranularErrors.expired : GranularErrors.notInProgress
        }
        if try await store.inFlight(id, tenant: tenant) != nil { return GranularErrors.notAwaitingCompletion }
        return AtlasError.notFound("Transaction not found")
    }

    /// Turns every pending transaction past its deadline into its final ERROR row; returns how many.
    func expireDue() async throws -> Int {
        var expired = 0
        for (id, tenant) in try await pendingStore.due(now: services.clock.now()) {
            if case .expired = try await finish(id, tenant: tenant, key: nil, { state, now in state.expireIfDue(at: now) }) {
                expired += 1
            }
        }
        return expired
    }

    /// The expiry sweep beside the server ("transactions.granular-expiry"): a transaction nobody completes
    /// still ends, with its `transaction.failed` event. Readers (GET, complete, abort) expire on their own too.
    func sweepLoop() async {
        await ExpirySweep.loop(everySeconds: Self.sweepIntervalSeconds, logger: services.logger,
                               failureMessage: "granular expiry sweep failed") { _ = try await expireDue() }
    }
}
