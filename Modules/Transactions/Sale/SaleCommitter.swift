import Foundation
import Kernel

/// A new-money transaction ready to be written: the acquirer (or rounding) already answered.
struct PreparedSale: Sendable {
    var record: TransactionRecord
    /// Stored-value SALE: the card to debit inside the write transaction (insufficient → DECLINED).
    var storedValueDebit: [UInt8]?
    var releaseTerminal: Bool
}

/// A final record with its JSON built and serialized ONCE: the same bytes are the response body, the
/// stored idempotent response and the payload of its event in the log.
struct WrittenSale: Sendable {
    let record: TransactionRecord
    let json: JSONValue
    let body: [UInt8]

    init(_ record: TransactionRecord) {
        self.record = record
        json = record.json
        body = json.serialized()
    }

    var response: Response { Response(status: 200, headers: ["Content-Type": "application/json"], body: body) }
    var storedResponse: StoredResponse { StoredResponse(response) }
}

/// Writes prepared sales: row + its event in the log + idempotency record in one commit.
///
/// With batching on (group commit, Kernel's `GroupBatcher`), sales that arrive while a batch is being
/// written queue up and are written together by the next one (up to `limits.batchItemsMax`), so N payments
/// share one statement and one COMMIT (one WAL flush) instead of paying N. There is no gathering delay: a
/// sale arriving at an idle committer is written at once, and under load the write in flight is the window
/// (a fixed 1 ms wait was measured: it cost more CPU per sale — a timer wake-up per batch — and gained nothing).
/// Errors stay per request: if a batch fails, each of its items is retried alone and only the failing
/// one sees its error. Every caller is answered only after the transaction holding its row committed.
final class SaleCommitter: Sendable {
    /// Items per batch, concurrent batch writers (each holds one pooled connection while it writes), and
    /// queued sales beyond which callers write alone instead of queueing.
    static let limits = GroupBatcher<Item, WrittenSale>.Limits(batchItemsMax: 64, flushersMax: 4, queueItemsMax: 4_096)

    struct Item: Sendable {
        let prepared: PreparedSale
        let claim: IdempotencyClaim?
        let deferred: DeferredIdempotencyClaim?
        let sale: WrittenSale
    }

    let services: ModuleServices
    let store: TransactionStore
    let batching: Bool
    private let batcher: GroupBatcher<Item, WrittenSale>

    init(services: ModuleServices, store: TransactionStore, batching: Bool) {
        self.services = services
        self.store = store
        self.batching = batching
        batcher = GroupBatcher(limits: Self.limits) { batch in
            await SaleCommitter.write(batch, services: services, store: store)
        }
    }

    /// `deferred`: the request's Idempotency-Key is written, completed, in the same transaction as its
    /// rows; when a duplicate's key committed first this throws `IdempotencyDeferredClaimLost` and
    /// nothing of this sale is written.
    func commit(_ prepared: PreparedSale, claim: IdempotencyClaim?, deferred: DeferredIdempotencyClaim? = nil) async throws
        -> WrittenSale {
        guard batching, prepared.storedValueDebit == nil, !prepared.releaseTerminal else {
            return try await commitOne(prepared, claim: claim, deferred: deferred)
        }
        // Serialized here, before the batcher's queue lock.
        let sale = WrittenSale(prepared.record)
        return try await batcher.submit(Item(prepared: prepared, claim: claim, deferred: deferred, sale: sale))
    }

    /// Writes the batch. Without classic claims (the usual case) the whole batch, its deferred
    /// idempotency keys included, is ONE autocommitted statement (`batchSQL`): one round trip, one
    /// commit. Otherwise one transaction: the keys first, then rows + events, then the claims completed.
    /// If the batch fails, each item is retried alone so only the failing one sees its error.
    private static func write(_ batch: [Item], services: ModuleServices, store: TransactionStore) async
        -> [Result<WrittenSale, any Error>] {
        do {
            let written: Set<String>
            if batch.allSatisfy({ $0.claim == nil }),
               let statement = batchStatement(batch.map(\.sale), deferred: batch.map(\.deferred), services: services) {
                let rows = try await services.database.query(statement)
                written = Set(try rows.map { try $0.decode("resource_id", as: String.self) })
            } else {
                let lost = try await writeInTransaction(batch, services: services)
                written = Set(batch.map(\.sale.record.id).filter { !lost.contains($0) })
            }
            services.eventLog.appendCommitted()
            return batch.map { finish($0, written: written.contains($0.sale.record.id)) }
        } catch {
            return await GroupBatcher.eachAlone(batch) { item in
                try await commitOne(item.prepared, claim: item.claim, deferred: item.deferred, services: services, store: store)
            }
        }
    }

    /// A committed batch's answer for one item: written items succeed, the others lost their deferred
    /// key to a duplicate that committed first (nothing of theirs was written).
    private static func finish(_ item: Item, written: Bool) -> Result<WrittenSale, any Error> {
        guard written else { return .failure(IdempotencyDeferredClaimLost()) }
        item.claim?.markCommitted()
        item.deferred?.markCommitted()
        return .success(item.sale)
    }

    /// The batch as one statement, or nil when the idempotency store cannot compose its key write.
    private static func batchStatement(_ sales: [WrittenSale], deferred: [DeferredIdempotencyClaim?],
                                       services: ModuleServices) -> SQL? {
        let indices = deferred.indices.filter { deferred[$0] != nil }
        if indices.isEmpty { return Self.batchSQL(sales, keys: nil, gates: sales.map { _ in .open }, eventLog: services.eventLog) }
        guard let keys = services.idempotency.insertCompletedStatement(
            indices.compactMap { deferred[$0] }, responses: indices.map { sales[$0].storedResponse }, bindOffset: 0)
        else { return nil }
        var gates: [Gate] = sales.map { _ in .open }
        for (position, index) in indices.enumerated() { gates[index] = keys.tokens[position].map(Gate.token) ?? .closed }
        return Self.batchSQL(sales, keys: keys.sql, gates: gates, eventLog: services.eventLog)
    }

    /// Keys first (an item whose key lost is dropped before any of its rows are written), then rows and
    /// events, then the claims completed; returns the ids of the items that lost their key.
    private static func writeInTransaction(_ batch: [Item], services: ModuleServices) async throws -> Set<String> {
        let sales = batch.map(\.sale)
        let claims = batch.map(\.claim)
        let deferredClaims = batch.map(\.deferred)
        return try await services.database.transaction { tx in
            let lost = try await SaleCommitter.insertDeferred(deferredClaims, sales: sales, services: services, executor: tx)
            let items = batch.indices.filter { !lost.contains($0) }.map { (sales[$0], claims[$0]) }
            if !items.isEmpty { try await SaleCommitter.writeMany(items, services: services, executor: tx) }
            return Set(lost.map { sales[$0].record.id })
        }
    }

    /// One sale in its own transaction (stored-value debits, terminal-bound sales, fallback).
    func commitOne(_ prepared: PreparedSale, claim: IdempotencyClaim?, deferred: DeferredIdempotencyClaim? = nil) async throws
        -> WrittenSale {
        try await Self.commitOne(prepared, claim: claim, deferred: deferred, services: services, store: store)
    }

    private static func commitOne(_ prepared: PreparedSale, claim: IdempotencyClaim?, deferred: DeferredIdempotencyClaim?,
                                  services: ModuleServices, store: TransactionStore) async throws -> WrittenSale {
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
            if try await !SaleCommitter.insertDeferred([deferred], sales: [written], services: services,
                                                       executor: tx).isEmpty {
                throw IdempotencyDeferredClaimLost()
            }
            return written
        }
        services.eventLog.appendCommitted()
        claim?.markCommitted()
        deferred?.markCommitted()
        return committed
    }

    /// Inserts the items' deferred idempotency keys, completed with the response each client gets;
    /// returns the indices whose key was lost to a duplicate (their rows must not be written).
    static func insertDeferred(_ deferred: [DeferredIdempotencyClaim?], sales: [WrittenSale],
                               services: ModuleServices, executor: any SQLExecutor) async throws -> Set<Int> {
        let indices = deferred.indices.filter { deferred[$0] != nil }
        if indices.isEmpty { return [] }
        let won = try await services.idempotency.insertCompleted(
            indices.compactMap { deferred[$0] }, responses: indices.map { sales[$0].storedResponse }, executor: executor)
        return Set(zip(indices, won).filter { !$0.1 }.map(\.0))
    }

    /// Inside an open transaction: release the terminal (honouring a pending abort), insert the row and
    /// its event, and complete the idempotency claim with the exact response the client gets.
    static func write(_ record: TransactionRecord, claim: IdempotencyClaim?, releaseTerminal: Bool,
                      services: ModuleServices, store: TransactionStore, executor: any SQLExecutor) async throws
        -> WrittenSale {
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
        let sale = WrittenSale(record)
        try await writeMany([(sale, claim)], services: services, executor: executor)
        return sale
    }

    static func writeMany(_ items: [(WrittenSale, IdempotencyClaim?)], services: ModuleServices,
                          executor: any SQLExecutor) async throws {
        try await executor.execute(batchSQL(items.map(\.0), keys: nil, gates: items.map { _ in .open },
                                            eventLog: services.eventLog))
        for (sale, claim) in items {
            guard let claim else { continue }
            try await services.idempotency.complete(claim, response: sale.storedResponse, executor: executor)
        }
    }

    /// Whether a batch item's rows are written: always (no deferred key), only when its key's token is
    /// among the keys the statement won, or never (an earlier item of the batch has its key).
    enum Gate {
        case open
        case token(String)
        case closed
    }

    /// Deferred keys (optional), rows and their events in ONE statement, atomic on its own:
    ///
    ///     WITH won_keys AS (<the idempotency store's key INSERT> RETURNING claim_token),
    ///          written_rows AS (INSERT INTO transactions SELECT … FROM (VALUES …) AS item(gate, …)
    ///                           WHERE gate allows it RETURNING id, …),
    ///          new_events AS (SELECT … FROM written_rows JOIN (VALUES …) AS event …)
    ///     <the event log's append from new_events> RETURNING resource_id
    ///
    /// WHY: autocommitted, it is one round trip (one worker hand-off) and one commit for the whole batch,
    /// instead of BEGIN, keys, rows and COMMIT. An item whose key lost is filtered out before its row is
    /// inserted, so its event (joined to the written rows) is never appended either; the returned
    /// resource ids are exactly the transactions written. No foreign keys join these tables.
    static func batchSQL(_ sales: [WrittenSale], keys: SQL?, gates: [Gate], eventLog: any EventLogWriter) -> SQL {
        precondition(sales.count == gates.count, "one gate per sale")
        var binds = keys?.binds ?? []
        let columns = TransactionRecord.insertColumns.joined(separator: ", ")
        var text = keys.map { "WITH won_keys AS (" + $0.text + "), written_rows AS (" } ?? "WITH written_rows AS ("
        text += "INSERT INTO transactions (" + columns + ") SELECT " + columns + " FROM (VALUES "
        for (index, sale) in sales.enumerated() {
            let gate: SQLValue = switch gates[index] {
            case .open: .null
            case .token(let token): .text(token)
            case .closed: .text("")
            }
            binds.append(gate)
            text += (index == 0 ? "($" : ", ($") + String(binds.count) + "::text"
            for (value, column) in zip(sale.record.insertValues, TransactionRecord.insertColumnTypes) {
                binds.append(value)
                text += ", $" + String(binds.count) + "::" + column.type
            }
            text += ")"
        }
        text += ") AS item(gate, " + columns + ") WHERE item.gate IS NULL"
        if keys != nil { text += " OR item.gate IN (SELECT claim_token FROM won_keys)" }
        text += " RETURNING id, merchant_id, mode, created_at), new_events AS (SELECT event.event_id, event.event_type, "
            + "written_rows.merchant_id, written_rows.mode, written_rows.id AS resource_id, event.payload, "
            + "written_rows.created_at AS occurred_at FROM written_rows JOIN (VALUES "
        for (index, sale) in sales.enumerated() {
            binds += [.text(sale.record.id), .text(TypedID.generate(prefix: .event).rawValue), .text(sale.record.eventType),
                      .json(String(decoding: sale.body, as: UTF8.self))]
            let base = binds.count - 4
            text += (index == 0 ? "(" : ", (") + "$\(base + 1)::text, $\(base + 2)::text, $\(base + 3)::text, $\(base + 4)::jsonb)"
        }
        text += ") AS event(transaction_id, event_id, event_type, payload) ON event.transaction_id = written_rows.id) "
        let append = eventLog.appendStatement(selectingFrom: "new_events")
        precondition(append.binds.isEmpty, "the event log's append statement has no binds of its own")
        text += append.text
        return SQL(text, binds: binds)
    }
}
