import AcquirerContract
import Foundation
import IdempotencyContract
import Kernel

/// A new-money transaction ready to be written: the acquirer (or rounding) already answered.
struct PreparedSale: Sendable {
    var record: TransactionRecord
    /// Stored-value SALE: the card to debit inside the write transaction (insufficient → DECLINED).
    var storedValueDebit: [UInt8]?
    var releaseTerminal: Bool
}

/// What a sale's write ended with: written (its row, event and key's answer committed together), or
/// nothing written because a duplicate committed the same deferred Idempotency-Key first.
enum SaleCommit: Sendable {
    case written(WrittenSale)
    case lostKey
}

/// A final record with its JSON built and serialized ONCE: the same bytes are the response body, the
/// stored idempotent response and the payload of its event in the log.
struct WrittenSale: Sendable {
    let record: TransactionRecord
    let body: [UInt8]

    init(_ record: TransactionRecord) {
        self.record = record
        body = record.jsonBytes
    }

    var response: Response { Response(status: 200, headers: ["Content-Type": "application/json"], body: body) }
    /// What `StoredResponse(response)` keeps of `response`, built without the response in between.
    var storedResponse: StoredResponse { StoredResponse(status: 200, headers: ["Content-Type": "application/json"], body: body) }
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
    static let limits = GroupBatcher<Item, SaleCommit>.Limits(batchItemsMax: 64, flushersMax: 4, queueItemsMax: 4_096)

    struct Item: Sendable {
        let prepared: PreparedSale
        /// The request's Idempotency-Key: claimed (completed in the write's transaction) or deferred (written,
        /// completed, by the write itself).
        let key: (any IdempotencyScope)?
        let sale: WrittenSale
    }

    let services: ModuleServices
    let store: TransactionStore
    let batching: Bool
    private let batcher: GroupBatcher<Item, SaleCommit>

    init(services: ModuleServices, store: TransactionStore, batching: Bool) {
        self.services = services
        self.store = store
        self.batching = batching
        batcher = GroupBatcher(limits: Self.limits) { batch in
            await SaleCommitter.write(batch, services: services, store: store)
        }
    }

    /// Writes the sale with its event and its Idempotency-Key's answer in one commit. `.lostKey`: a
    /// duplicate committed the deferred key first and nothing of this sale was written.
    func commit(_ prepared: PreparedSale, key: (any IdempotencyScope)?) async throws -> SaleCommit {
        guard batching, prepared.storedValueDebit == nil, !prepared.releaseTerminal else {
            return try await commitOne(prepared, key: key)
        }
        // Serialized here, before the batcher's queue lock.
        let sale = WrittenSale(prepared.record)
        return try await batcher.submit(Item(prepared: prepared, key: key, sale: sale))
    }

    /// Writes the batch. Without claimed keys (the usual case) the whole batch, its deferred
    /// idempotency keys included, is ONE autocommitted statement (`batchSQL`): one round trip, one
    /// commit. Otherwise one transaction: the deferred keys first, then rows + events, then the claimed
    /// keys completed. If the batch fails, each item is retried alone so only the failing one sees its error.
    private static func write(_ batch: [Item], services: ModuleServices, store: TransactionStore) async
        -> [Result<SaleCommit, any Error>] {
        do {
            let written: Set<String>
            if batch.allSatisfy({ !($0.key?.isClaimed ?? false) }),
               let statement = batchStatement(batch, services: services) {
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
                try await commitOne(item.prepared, key: item.key, services: services, store: store)
            }
        }
    }

    /// A committed batch's answer for one item: written items succeed, the others lost their deferred
    /// key to a duplicate that committed first (nothing of theirs was written).
    private static func finish(_ item: Item, written: Bool) -> Result<SaleCommit, any Error> {
        guard written else { return .success(.lostKey) }
        item.key?.committed()
        return .success(.written(item.sale))
    }

    /// The batch as one statement, or nil when the idempotency module cannot compose its key write.
    private static func batchStatement(_ batch: [Item], services: ModuleServices) -> SQL? {
        let completions = batch.map { $0.key?.pendingCompletion($0.sale.storedResponse) }
        let indices = completions.indices.filter { completions[$0] != nil }
        let sales = batch.map(\.sale)
        if indices.isEmpty {
            return Self.batchSQL(sales, keys: nil, gates: sales.map { _ in .open }, eventLog: services.eventLog)
        }
        guard let keys = services.idempotencyKeys.completionStatement(indices.compactMap { completions[$0] }, bindOffset: 0)
        else { return nil }
        var gates: [Gate] = sales.map { _ in .open }
        for (position, index) in indices.enumerated() { gates[index] = keys.tokens[position].map(Gate.token) ?? .closed }
        return Self.batchSQL(sales, keys: keys.sql, gates: gates, eventLog: services.eventLog)
    }

    /// Deferred keys first (an item whose key lost is dropped before any of its rows are written), then
    /// rows and events, then the claimed keys completed; returns the ids of the items that lost their key.
    private static func writeInTransaction(_ batch: [Item], services: ModuleServices) async throws -> Set<String> {
        try await services.database.transaction { tx in
            let lost = try await SaleCommitter.insertDeferred(batch.map(\.key), sales: batch.map(\.sale),
                                                              services: services, executor: tx)
            // The deferred keys are written; what is left to complete are the claimed ones.
            let items = batch.indices.filter { !lost.contains($0) }
                .map { (batch[$0].sale, batch[$0].key?.isClaimed == true ? batch[$0].key : nil) }
            if !items.isEmpty { try await SaleCommitter.writeMany(items, services: services, executor: tx) }
            return Set(lost.map { batch[$0].sale.record.id })
        }
    }

    /// One sale in its own transaction (stored-value debits, terminal-bound sales, fallback).
    func commitOne(_ prepared: PreparedSale, key: (any IdempotencyScope)?) async throws -> SaleCommit {
        try await Self.commitOne(prepared, key: key, services: services, store: store)
    }

    private static func commitOne(_ prepared: PreparedSale, key: (any IdempotencyScope)?, services: ModuleServices,
                                  store: TransactionStore) async throws -> SaleCommit {
        let committed: WrittenSale
        do {
            committed = try await services.database.transaction { tx in
                var record = prepared.record
                if let hash = prepared.storedValueDebit, record.status == .approved {
                    try await debit(&record, cardHash: hash, store: store, executor: tx)
                }
                // The key is completed last, with the final record: a lost key rolls the whole write back.
                return try await SaleCommitter.write(record, key: key, releaseTerminal: prepared.releaseTerminal,
                                                     services: services, store: store, executor: tx)
            }
        } catch is KeyedWrite.KeyLost {
            return .lostKey
        }
        services.eventLog.appendCommitted()
        key?.committed()
        return .written(committed)
    }

    /// A stored-value SALE: debits the card, or declines it for insufficient funds.
    private static func debit(_ record: inout TransactionRecord, cardHash: [UInt8], store: TransactionStore,
                              executor: any SQLExecutor) async throws {
        if let balance = try await store.debitStoredValue(cardHash: cardHash, amount: record.totalAmount,
                                                          currency: record.currency, reference: record.id,
                                                          tenant: record.tenant,
                                                          now: record.createdAt, executor: executor) {
            record.balance = balance
            record.authorizationCode = SimulatedAcquirer.authorizationCode(for: record.id, operation: .authorize)
            record.responseCode = "00"
        } else {
            record.status = .declined
            record.responseCode = "51"
            record.declineCode = "INSUFFICIENT_FUNDS"
        }
    }

    /// Inserts the items' deferred idempotency keys, completed with the response each client gets;
    /// returns the indices whose key was lost to a duplicate (their rows must not be written).
    static func insertDeferred(_ keys: [(any IdempotencyScope)?], sales: [WrittenSale], services: ModuleServices,
                               executor: any SQLExecutor) async throws -> Set<Int> {
        let completions = keys.indices.map { keys[$0]?.pendingCompletion(sales[$0].storedResponse) }
        let indices = completions.indices.filter { completions[$0] != nil }
        let won = try await services.idempotencyKeys.insertCompleted(indices.compactMap { completions[$0] },
                                                                     executor: executor)
        return Set(zip(indices, won).filter { !$0.1 }.map(\.0))
    }

    /// Inside an open transaction: release the terminal (honouring a pending abort), insert the row and
    /// its event, and complete the Idempotency-Key with the exact response the client gets.
    static func write(_ record: TransactionRecord, key: (any IdempotencyScope)?, releaseTerminal: Bool,
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
        try await writeMany([(sale, key)], services: services, executor: executor)
        return sale
    }

    /// Rows and events of `items`, then each item's key completed in the same transaction; a deferred key
    /// lost to a duplicate throws `KeyedWrite.KeyLost` (the caller's transaction rolls back).
    static func writeMany(_ items: [(WrittenSale, (any IdempotencyScope)?)], services: ModuleServices,
                          executor: any SQLExecutor) async throws {
        try await executor.execute(batchSQL(items.map(\.0), keys: nil, gates: items.map { _ in .open },
                                            eventLog: services.eventLog))
        for (sale, key) in items { try await KeyedWrite.complete(key, with: sale.response, in: executor) }
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
    ///          item AS (SELECT * FROM unnest(<one array per column>) AS item(gate, …)),
    ///          written_rows AS (INSERT INTO transactions SELECT … FROM item WHERE gate allows it RETURNING id, …),
    ///          new_events AS (SELECT … FROM written_rows JOIN unnest(<event arrays>) AS event …)
    ///     <the event log's append from new_events> RETURNING resource_id
    ///
    /// WHY one statement: autocommitted, it is one round trip (one worker hand-off) and one commit for the whole batch,
    /// instead of BEGIN, keys, rows and COMMIT. An item whose key lost is filtered out before its row is inserted, so
    /// its event (joined to the written rows) is never appended either; the returned resource ids are exactly the
    /// transactions written. No foreign keys join these tables.
    /// WHY arrays: the text is the same for every batch size (two texts: with and without keys), so each pooled
    /// connection prepares it once. A VALUES list of 35 parameters per sale had a text per size, up to 64 per
    /// connection, parsed and planned again and again (texts over the cache's 32 KB limit were never kept). The JSON
    /// payloads go as one binary blob (`SQLByteSlices`), not escaped in an array literal.
    static func batchSQL(_ sales: [WrittenSale], keys: SQL?, gates: [Gate], eventLog: any EventLogWriter) -> SQL {
        precondition(sales.count == gates.count, "one gate per sale")
        var binds = keys?.binds ?? []
        func parameter(_ literal: String, _ type: String) -> String {
            binds.append(.text(literal))
            return "$" + String(binds.count) + "::" + type + "[]"
        }
        let gateTokens: [String?] = gates.map { gate in
            switch gate {
            case .open: nil
            case .token(let token): token
            case .closed: ""
            }
        }
        var arrays = [parameter(SQLArrayLiteral.text(gateTokens), "text")]
        var selected: [String] = []
        var columnLiterals = SQLArrayColumns(count: TransactionRecord.insertColumnTypes.count, rowsExpected: sales.count)
        for sale in sales { columnLiterals.append(sale.record.insertValues) }
        for (column, literal) in zip(TransactionRecord.insertColumnTypes, columnLiterals.literals) {
            if column.type == "timestamptz" {
                arrays.append(parameter(literal, "bigint"))
                selected.append("timestamptz 'epoch' + item." + column.name + " * interval '1 microsecond'")
            } else {
                arrays.append(parameter(literal, column.type))
                selected.append("item." + column.name)
            }
        }
        let columns = TransactionRecord.insertColumns.joined(separator: ", ")
        var text = keys.map { "WITH won_keys AS (" + $0.text + "), " } ?? "WITH "
        text += "item AS (SELECT * FROM unnest(" + arrays.joined(separator: ", ") + ") AS item(gate, " + columns + ")), "
        text += "written_rows AS (INSERT INTO transactions (" + columns + ") SELECT " + selected.joined(separator: ", ")
            + " FROM item WHERE item.gate IS NULL"
        if keys != nil { text += " OR item.gate IN (SELECT claim_token FROM won_keys)" }
        let payloads = SQLByteSlices(sales.map(\.body))
        let events = [
            parameter(SQLArrayLiteral.text(sales.map(\.record.id)), "text"),
            parameter(SQLArrayLiteral.text(sales.map { _ in TypedID.generate(prefix: .event).rawValue }), "text"),
            parameter(SQLArrayLiteral.text(sales.map(\.record.eventType)), "text"),
            parameter(payloads.starts, "integer"), parameter(payloads.lengths, "integer"),
        ]
        binds.append(.bytes(payloads.blob))
        let payload = "convert_from(substring($\(binds.count)::bytea FROM event.payload_start FOR event.payload_length), 'UTF8')::json"
        text += " RETURNING id, merchant_id, mode, created_at), new_events AS (SELECT event.event_id, event.event_type, "
            + "written_rows.merchant_id, written_rows.mode, written_rows.id AS resource_id, " + payload + " AS payload, "
            + "written_rows.created_at AS occurred_at FROM written_rows JOIN unnest(" + events.joined(separator: ", ")
            + ") AS event(transaction_id, event_id, event_type, payload_start, payload_length) "
            + "ON event.transaction_id = written_rows.id) "
        let append = eventLog.appendStatement(selectingFrom: "new_events")
        precondition(append.binds.isEmpty, "the event log's append statement has no binds of its own")
        text += append.text
        return SQL(text, binds: binds)
    }
}
