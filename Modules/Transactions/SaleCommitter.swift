import Foundation
import Kernel
import Synchronization

/// A new-money transaction ready to be written: the acquirer (or rounding) already answered.
struct PreparedSale: Sendable {
    var record: TransactionRecord
    /// Stored-value SALE: the card to debit inside the write transaction (insufficient → DECLINED).
    var storedValueDebit: [UInt8]?
    var releaseTerminal: Bool
}

/// Writes prepared sales: row + outbox event + idempotency record in one database transaction.
///
/// With batching on (group commit), concurrent sales are collected for up to `batchWindowMicroseconds`
/// or `batchItemsMax` items and written by one transaction with one multi-row INSERT per table, so N
/// payments share one COMMIT (one WAL flush) instead of paying N. Errors stay per request: if a batch
/// fails, each of its items is retried alone and only the failing one sees its error. Every caller is
/// answered only after the transaction holding its row committed.
final class SaleCommitter: Sendable {
    static let batchItemsMax = 64
    static let batchWindowMicroseconds = 1_000
    /// Concurrent batch writers (each holds one pooled connection while it writes).
    static let flushersMax = 4
    /// Bound on queued sales; beyond it callers write alone instead of queueing.
    static let queueItemsMax = 4_096

    private struct Pending: Sendable {
        let prepared: PreparedSale
        let claim: IdempotencyClaim?
        let deferred: DeferredIdempotencyClaim?
        let continuation: CheckedContinuation<TransactionRecord, any Error>
    }

    private struct State {
        var pending: [Pending] = []
        var activeFlushers = 0
    }

    let services: ModuleServices
    let store: TransactionStore
    let batching: Bool
    private let state = Mutex(State())

    init(services: ModuleServices, store: TransactionStore, batching: Bool) {
        self.services = services
        self.store = store
        self.batching = batching
    }

    /// `deferred`: the request's Idempotency-Key is written, completed, in the same transaction as its
    /// rows; when a duplicate's key committed first this throws `IdempotencyDeferredClaimLost` and
    /// nothing of this sale is written.
    func commit(_ prepared: PreparedSale, claim: IdempotencyClaim?, deferred: DeferredIdempotencyClaim? = nil) async throws
        -> TransactionRecord {
        guard batching, prepared.storedValueDebit == nil, !prepared.releaseTerminal else {
            return try await commitOne(prepared, claim: claim, deferred: deferred)
        }
        return try await withCheckedThrowingContinuation { continuation in
            let start: Bool? = state.withLock { state in
                guard state.pending.count < Self.queueItemsMax else { return nil }
                state.pending.append(Pending(prepared: prepared, claim: claim, deferred: deferred, continuation: continuation))
                let wanted = state.activeFlushers == 0
                    || (state.pending.count >= Self.batchItemsMax && state.activeFlushers < Self.flushersMax)
                if wanted { state.activeFlushers += 1 }
                return wanted
            }
            switch start {
            case nil:
                Task {
                    do { continuation.resume(returning: try await self.commitOne(prepared, claim: claim, deferred: deferred)) } catch {
                        continuation.resume(throwing: error)
                    }
                }
            case true?: Task { await self.flushLoop() }
            case false?: break
            }
        }
    }

    /// Takes batches until the queue is empty. The first wait lets concurrent requests join.
    private func flushLoop() async {
        var first = true
        while true {
            if first && state.withLock({ $0.pending.count < Self.batchItemsMax }) {
                try? await Task.sleep(for: .microseconds(Self.batchWindowMicroseconds))
            }
            first = false
            let batch: [Pending] = state.withLock { state in
                let count = min(Self.batchItemsMax, state.pending.count)
                let taken = Array(state.pending.prefix(count))
                state.pending.removeFirst(count)
                if taken.isEmpty { state.activeFlushers -= 1 }
                return taken
            }
            if batch.isEmpty { return }
            await write(batch)
        }
    }

    /// One transaction for the batch. Deferred idempotency keys are inserted FIRST: an item whose key
    /// lost to a duplicate is dropped before any of its rows are written, so the others still commit.
    private func write(_ batch: [Pending]) async {
        let services = services
        let store = store
        let records = batch.map(\.prepared.record)
        let claims = batch.map(\.claim)
        let deferredClaims = batch.map(\.deferred)
        do {
            // Nothing to claim or complete: the batch is ONE autocommitted statement (no BEGIN/COMMIT).
            if deferredClaims.allSatisfy({ $0 == nil }) && claims.allSatisfy({ $0 == nil }) {
                try await services.database.execute(SaleCommitter.rowsAndOutboxSQL(records))
                for pending in batch { pending.continuation.resume(returning: pending.prepared.record) }
                return
            }
            let lost = try await services.database.transaction { tx in
                let lost = try await SaleCommitter.insertDeferred(deferredClaims, records: records, services: services,
                                                                  executor: tx)
                let items = batch.indices.filter { !lost.contains($0) }.map { (records[$0], claims[$0]) }
                if !items.isEmpty {
                    try await SaleCommitter.writeMany(items, services: services, store: store, executor: tx)
                }
                return lost
            }
            for (index, pending) in batch.enumerated() {
                if lost.contains(index) {
                    pending.continuation.resume(throwing: IdempotencyDeferredClaimLost())
                    continue
                }
                pending.claim?.markCommitted()
                pending.deferred?.markCommitted()
                pending.continuation.resume(returning: pending.prepared.record)
            }
        } catch {
            // Isolate the failure: each item alone, each caller gets its own result.
            for pending in batch {
                do {
                    pending.continuation.resume(returning: try await commitOne(pending.prepared, claim: pending.claim,
                                                                               deferred: pending.deferred))
                } catch {
                    pending.continuation.resume(throwing: error)
                }
            }
        }
    }

    /// One sale in its own transaction (stored-value debits, terminal-bound sales, fallback).
    func commitOne(_ prepared: PreparedSale, claim: IdempotencyClaim?, deferred: DeferredIdempotencyClaim? = nil) async throws
        -> TransactionRecord {
        let services = services
        let store = store
        let committed = try await services.database.transaction { tx in
            var record = prepared.record
            if let hash = prepared.storedValueDebit, record.status == .approved {
                if let balance = try await store.debitStoredValue(cardHash: hash, amount: record.totalAmount,
                                                                  currency: record.currency, tenant: record.tenant,
                                                                  now: record.createdAt, executor: tx) {
                    record.balance = balance
                    record.authorizationCode = SimulatedAcquirer.authorizationCode(for: record.id, operation: .authorize)
                    record.responseCode = "00"
                } else {
                    record.status = .declined
                    record.responseCode = "51"
                    record.declineCode = "INSUFFICIENT_FUNDS"
                }
            }
            let written = try await SaleCommitter.write(record, claim: claim, releaseTerminal: prepared.releaseTerminal,
                                                        services: services, store: store, executor: tx)
            // Last, with the final record: a lost key rolls this whole transaction back.
            if try await !SaleCommitter.insertDeferred([deferred], records: [written], services: services,
                                                       executor: tx).isEmpty {
                throw IdempotencyDeferredClaimLost()
            }
            return written
        }
        claim?.markCommitted()
        deferred?.markCommitted()
        return committed
    }

    /// Inserts the items' deferred idempotency keys, completed with the response each client gets;
    /// returns the indices whose key was lost to a duplicate (their rows must not be written).
    static func insertDeferred(_ deferred: [DeferredIdempotencyClaim?], records: [TransactionRecord],
                               services: ModuleServices, executor: any SQLExecutor) async throws -> Set<Int> {
        let indices = deferred.indices.filter { deferred[$0] != nil }
        if indices.isEmpty { return [] }
        let won = try await services.idempotency.insertCompleted(
            indices.compactMap { deferred[$0] }, responses: indices.map { StoredResponse(Response.json(records[$0].json)) },
            executor: executor)
        return Set(zip(indices, won).filter { !$0.1 }.map(\.0))
    }

    /// Inside an open transaction: release the terminal (honouring a pending abort), insert the row and
    /// its outbox event, and complete the idempotency claim with the exact response the client gets.
    static func write(_ record: TransactionRecord, claim: IdempotencyClaim?, releaseTerminal: Bool,
                      services: ModuleServices, store: TransactionStore, executor: any SQLExecutor) async throws
        -> TransactionRecord {
        var record = record
        if releaseTerminal {
            let abortRequested = try await store.releaseTerminal(transactionId: record.id, tenant: record.tenant,
                                                                 executor: executor)
            if abortRequested && record.status == .approved && !record.type.needsOriginal {
                record.status = .aborted
                record.errorCode = "ABORTED"
                record.authorizationCode = nil
            }
        }
        try await writeMany([(record, claim)], services: services, store: store, executor: executor)
        return record
    }

    static func writeMany(_ items: [(TransactionRecord, IdempotencyClaim?)], services: ModuleServices,
                          store: TransactionStore, executor: any SQLExecutor) async throws {
        try await executor.execute(rowsAndOutboxSQL(items.map(\.0)))
        for (record, claim) in items {
            guard let claim else { continue }
            try await services.idempotency.complete(claim, response: StoredResponse(Response.json(record.json)), executor: executor)
        }
    }

    /// The rows and their outbox events in ONE statement: the rows INSERT is a data-modifying CTE of the
    /// outbox INSERT. WHY: one round trip (one worker hand-off) instead of two; a single statement is
    /// atomic on its own, and there is no foreign key between the tables, so the order is irrelevant.
    static func rowsAndOutboxSQL(_ records: [TransactionRecord]) -> SQL {
        let rows = TransactionRecord.insertSQL(records)
        let outbox = outboxSQL(records, bindOffset: rows.binds.count)
        return SQL("WITH written_rows AS (" + rows.text + ") " + outbox.text, binds: rows.binds + outbox.binds)
    }

    /// `bindOffset`: binds already numbered before these ($1 … $bindOffset), when composed into one statement.
    static func outboxSQL(_ records: [TransactionRecord], bindOffset: Int = 0) -> SQL {
        var text = "INSERT INTO transactions_outbox (event_id, merchant_id, mode, event_type, transaction_id, payload, occurred_at) VALUES "
        var binds: [SQLValue] = []
        for (index, record) in records.enumerated() {
            let event = record.event(eventId: "")
            let base = bindOffset + binds.count
            binds += [.text(TypedID.generate(prefix: .event).rawValue), .text(record.tenant.merchantId),
                      .text(record.tenant.mode.rawValue), .text(event.type), .text(record.id),
                      .json(String(decoding: event.payload.serialized(), as: UTF8.self)), .timestamp(record.createdAt)]
            text += (index == 0 ? "(" : ", (") + (1...7).map { "$\(base + $0)" }.joined(separator: ", ") + ")"
        }
        return SQL(text, binds: binds)
    }
}
