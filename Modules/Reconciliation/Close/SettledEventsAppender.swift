import Foundation
import Kernel

/// Appends the `transaction.settled` events a close owes, after the close has answered (issue 12, performance).
///
/// WHY not in the claim: at 100,000 items the events were half of the claim statement's time and most of its
/// WAL, and nothing that makes the close atomic against concurrent sales needs them. The claim records the debt
/// instead (a row of `reconciliation_settled_events_owed`, in its own transaction), so a crash after its commit
/// loses nothing: the sweep (`sweepLoop`, at startup and every `sweepIntervalSeconds`) appends what is still owed.
///
/// Exactly once: one transaction takes the owed row `FOR UPDATE SKIP LOCKED`, appends every event of the
/// settlement in one INSERT … SELECT and deletes the row. Another appender (the close's own step, another
/// instance's sweep) skips the locked row, or no longer finds it once the first has committed; a rolled-back
/// append leaves the row owed. The event ids derive from the settlement id (`eventIdPrefix`), as they did when
/// the claim appended them, so even a second append would be refused by the log's unique event id.
struct SettledEventsAppender: Sendable {
    /// Every limit of the append and its sweep, named.
    struct Limits: Sendable, Hashable {
        /// The sweep looks for owed settlements at startup and then this often: the longest a crash between a
        /// close's commit and its own append delays the events once the process runs again.
        var sweepIntervalSeconds: Double = 30
        /// Settlements one sweep round appends at most (one transaction each); the rest wait for the next round.
        var sweepSettlementsMax: Int = 100
    }

    static let eventType = "transaction.settled"

    let database: any Database
    let eventLog: any EventLogWriter
    let logger: Logger
    let limits: Limits

    init(services: ModuleServices, limits: Limits = Limits()) {
        database = services.database
        eventLog = services.eventLog
        logger = services.logger
        self.limits = limits
    }

    // MARK: The debt, recorded by the claim

    /// Whether a settlement of `totals` owes events: it holds a line that settles (PRE_AUTHs settle nothing).
    static func owesEvents(_ totals: TransactionTotals) -> Bool {
        totals.saleCount + totals.refundCount + totals.voidCount > 0
    }

    /// Inside the claim's transaction: the settlement's `transaction.settled` events are owed.
    static func owe(_ settlement: SettlementRecord, now: Date, executor: any SQLExecutor) async throws {
        try await executor.execute("""
            INSERT INTO reconciliation_settled_events_owed (settlement_id, merchant_id, mode, owed_since)
            VALUES (\(settlement.id), \(settlement.tenant.merchantId), \(settlement.tenant.mode), \(now))
            """)
    }

    // MARK: Appending

    /// The close's step after it answered: appends the events its settlements owe. A failure is logged and left
    /// to the sweep (the rows stay owed).
    func appendAfterClose(_ settlementIds: [String]) async {
        for settlementId in settlementIds {
            do {
                _ = try await append(settlementId: settlementId)
            } catch {
                logger.warning("settled events not appended after the close; the sweep appends them",
                               ["settlementId": .string(settlementId), "error": .string("\(error)")])
            }
        }
    }

    /// Appends the events `settlementId` owes; returns how many, or nil when nothing is owed for it now
    /// (appended already, being appended by another, or never owed).
    func append(settlementId: String) async throws -> Int? {
        try await appendOwed("""
            SELECT settlement_id FROM reconciliation_settled_events_owed WHERE settlement_id = \(settlementId)
            FOR UPDATE SKIP LOCKED
            """)
    }

    /// Appends the events of the oldest owed settlement no other appender holds; nil when there is none.
    func appendOldestOwed() async throws -> Int? {
        try await appendOwed("""
            SELECT settlement_id FROM reconciliation_settled_events_owed ORDER BY settlement_id LIMIT 1
            FOR UPDATE SKIP LOCKED
            """)
    }

    /// One transaction: lock the owed row `lock` selects, append its settlement's events, delete the row.
    private func appendOwed(_ lock: SQL) async throws -> Int? {
        let eventLog = eventLog
        let appended: Int? = try await database.transaction { tx in
            guard let owed = try await tx.queryFirst(lock) else { return nil }
            let settlementId = try owed.decode("settlement_id", as: String.self)
            guard let row = try await tx.queryFirst(Self.appendSQL(settlementId, eventLog: eventLog)) else {
                throw DatabaseError(kind: .decoding, message: "an append returns one row with its count")
            }
            let count = try row.decode("appended", as: Int.self)
            try await tx.execute("DELETE FROM reconciliation_settled_events_owed WHERE settlement_id = \(settlementId)")
            return count
        }
        if let appended, appended > 0 { eventLog.appendCommitted() }
        return appended
    }

    /// Event ids: "evt_" + the settlement id's ULID time part and the first 9 characters of its random part + the
    /// line's row number (every item but PRE_AUTHs, by transaction id) in 7 hex digits. Unique as the settlement id
    /// is, and ascending within a settlement, so the event id index takes them at one end instead of at random
    /// places (a quarter of the append's cost at 100,000 items).
    static func eventIdPrefix(_ settlementId: String) -> String {
        let ulid = settlementId.dropFirst("stl_".count)
        let prefix = String(ulid.prefix(10)) + String(ulid.dropFirst(10).prefix(9))
        precondition(prefix.count == 19, "a settlement id holds a 26-character ULID")
        return prefix
    }

    /// One statement: a `transaction.settled` event per settled line of the settlement (payload: transactionId,
    /// settlementId, type, amount, currency; occurred at the close), appended set-based, and their count. Reads
    /// the tenant, currency and close time from the settlement row, so the events are the ones the claim used to
    /// append, to the byte.
    static func appendSQL(_ settlementId: String, eventLog: any EventLogWriter) -> SQL {
        let head: SQL = """
            WITH new_events AS (
                SELECT 'evt_' || \(eventIdPrefix(settlementId))::text
                        || upper(lpad(to_hex(row_number() OVER (ORDER BY i.transaction_id)), 7, '0')) AS event_id,
                    'transaction.settled'::text AS event_type, i.merchant_id, i.mode, i.transaction_id AS resource_id,
                    jsonb_build_object('transactionId', i.transaction_id, 'settlementId', s.id, 'type', i.type,
                        'amount', i.amount, 'currency', s.currency) AS payload,
                    s.closed_at AS occurred_at
                FROM reconciliation_settlements s
                JOIN reconciliation_items i ON i.settlement_id = s.id AND i.merchant_id = s.merchant_id AND i.mode = s.mode
                WHERE s.id = \(settlementId) AND i.type <> 'PRE_AUTH'
            ), appended AS (
            """
        let append = eventLog.appendStatement(selectingFrom: "new_events")
        precondition(append.binds.isEmpty, "the event log's append statement has no binds of its own")
        return SQL(head.text + append.text + ") SELECT count(*) AS appended FROM appended", binds: head.binds)
    }

    // MARK: The sweep

    /// Appends owed settlements, oldest first, until none is left or `sweepSettlementsMax` were appended; returns
    /// how many settlements it appended.
    func sweep() async throws -> Int {
        var settlements = 0
        while settlements < limits.sweepSettlementsMax, try await appendOldestOwed() != nil { settlements += 1 }
        return settlements
    }

    /// The background service "reconciliation.settled-events": a sweep at startup, then every `sweepIntervalSeconds`,
    /// until cancelled. A failed round is logged; the rows stay owed for the next one.
    func sweepLoop() async {
        while !Task.isCancelled {
            do {
                let appended = try await sweep()
                if appended > 0 { logger.info("owed settled events appended", ["settlements": .int(Int64(appended))]) }
            } catch {
                logger.warning("settled events sweep failed", ["error": .string("\(error)")])
            }
            try? await Task.sleep(for: .milliseconds(Int(limits.sweepIntervalSeconds * 1000)))
        }
    }
}
