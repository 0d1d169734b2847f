import Foundation
import Kernel

/// SQL of one reconcile batch, all inside the caller's transaction. The cards the batch names are locked
/// first (`FOR UPDATE`, in card-id order, so two batches never deadlock): a second submission of the same
/// batch waits, then reads the first one's counters and finds every event a duplicate (applied once).
struct BatchStore: Sendable {
    static let reportPrefix = IDPrefix(rawValue: "rpt")
    static let batchPrefix = IDPrefix(rawValue: "rcb")

    /// Locks the batch's cards in the order of `cardIds` (sorted by the caller, so two batches never deadlock).
    /// One primary-key probe per card (the LATERAL LIMIT keeps the planner from scanning the tenant's cards
    /// into a hash join), and the probes run in array order, which is the order the locks are taken in.
    func lockCards(_ tenant: TenantContext, cardIds: [String], on tx: any SQLExecutor) async throws -> [String: CardRecord] {
        precondition(cardIds == cardIds.sorted(), "cards are locked in one global order")
        let rows = try await tx.query("""
            SELECT card.* FROM unnest(string_to_array(\(cardIds.joined(separator: ",")), ',')) WITH ORDINALITY
                AS wanted(card_id, position)
            CROSS JOIN LATERAL (
                SELECT * FROM reconciliation_cards c
                WHERE c.merchant_id = \(tenant.merchantId) AND c.mode = \(tenant.mode) AND c.card_id = wanted.card_id
                FOR UPDATE LIMIT 1
            ) card
            ORDER BY wanted.position
            """)
        var cards: [String: CardRecord] = [:]
        for row in rows {
            let card = try CardRecord(row: row)
            cards[card.cardId] = card
        }
        return cards
    }

    /// Which of these `(card, counter)` pairs the audit log already holds: one primary-key probe per pair, so
    /// the cost follows the batch, not the tenant's history.
    func logged(_ tenant: TenantContext, _ keys: [CounterKey], on tx: any SQLExecutor) async throws -> Set<CounterKey> {
        guard !keys.isEmpty else { return [] }
        let rows = try await tx.query("""
            SELECT wanted.card_id, wanted.counter
            FROM unnest(string_to_array(\(keys.map(\.cardId).joined(separator: ",")), ','),
                        string_to_array(\(keys.map { String($0.counter) }.joined(separator: ",")), ',')::bigint[])
                AS wanted(card_id, counter)
            CROSS JOIN LATERAL (
                SELECT 1 FROM reconciliation_card_events e
                WHERE e.merchant_id = \(tenant.merchantId) AND e.mode = \(tenant.mode) AND e.card_id = wanted.card_id
                  AND e.counter = wanted.counter
                LIMIT 1
            ) hit
            """)
        return Set(try rows.map { CounterKey(cardId: try $0.decode("card_id"), counter: try $0.decode("counter")) })
    }

    /// Reconciled debits per card and UTC day, from day `fromDay` on (the Monday of the earliest week the batch
    /// touches), from `reconciliation_card_daily_debits`: one range of its primary key per card, at most a row per
    /// day. The `OFFSET 0` keeps the LATERAL a per-card probe: flattened into a join, a generic plan without
    /// statistics may walk every row of the tenant and compare it with every card id.
    func debitsByDay(_ tenant: TenantContext, cardIds: [String], fromDay: Int64,
                     on tx: any SQLExecutor) async throws -> [String: [Int64: Int64]] {
        let rows = try await tx.query("""
            SELECT wanted.card_id, daily.day, daily.total
            FROM unnest(string_to_array(\(cardIds.joined(separator: ",")), ',')) AS wanted(card_id)
            CROSS JOIN LATERAL (
                SELECT d.day, d.total FROM reconciliation_card_daily_debits d
                WHERE d.merchant_id = \(tenant.merchantId) AND d.mode = \(tenant.mode) AND d.card_id = wanted.card_id
                  AND d.day >= \(fromDay)
                OFFSET 0
            ) daily
            """)
        var result: [String: [Int64: Int64]] = [:]
        for row in rows {
            result[try row.decode("card_id"), default: [:]][try row.decode("day")] = try row.decode("total")
        }
        return result
    }

    /// Adds the batch's accepted debits to their cards' daily totals. The batch holds its cards' locks, so no other
    /// batch writes these rows until it commits; rows are written in (card, day) order all the same.
    func addDailyDebits(_ tenant: TenantContext, _ totals: [BatchRules.DayTotal], on tx: any SQLExecutor) async throws {
        guard !totals.isEmpty else { return }
        func joined(_ values: (BatchRules.DayTotal) -> String) -> String { totals.map(values).joined(separator: ",") }
        try await tx.execute("""
            INSERT INTO reconciliation_card_daily_debits AS d (merchant_id, mode, card_id, day, total)
            SELECT \(tenant.merchantId), \(tenant.mode), added.card_id, added.day, added.total
            FROM unnest(string_to_array(\(joined(\.cardId)), ','), string_to_array(\(joined { String($0.day) }), ',')::integer[],
                        string_to_array(\(joined { String($0.total) }), ',')::bigint[]) AS added(card_id, day, total)
            ON CONFLICT (merchant_id, mode, card_id, day) DO UPDATE SET total = d.total + EXCLUDED.total
            """)
    }

    /// The accepted events, in one statement of constant text (one array per column), so the server keeps it
    /// prepared: 500 rows of VALUES were 7,500 parameters to parse and plan on every batch.
    func insertEvents(_ tenant: TenantContext, _ accepted: [BatchRules.Accepted], batchId: String, terminalId: Int,
                      now: Date, on tx: any SQLExecutor) async throws {
        guard !accepted.isEmpty else { return }
        func joined(_ separator: String = ",", _ values: (BatchRules.Accepted) -> String) -> String {
            accepted.map(values).joined(separator: separator)
        }
        // Review reasons hold commas, so that column separates rows by ';'; an empty entry is NULL (no reason), and
        // so is a missing one (a one-event batch without reasons sends an empty list; unnest pads it with NULL).
        try await tx.execute("""
            INSERT INTO reconciliation_card_events (merchant_id, mode, card_id, counter, type, amount, balance_after,
                event_timestamp, hash, batch_id, terminal_id, review_flag, flag_reasons, shortfall, recorded_at)
            SELECT \(tenant.merchantId), \(tenant.mode), logged.card_id, logged.counter, logged.type, logged.amount,
                logged.balance_after, logged.event_timestamp, decode(logged.hash, 'hex'), \(batchId), \(terminalId),
                logged.flag_reasons IS NOT NULL, logged.flag_reasons, logged.shortfall, \(now)
            FROM unnest(string_to_array(\(joined { $0.event.cardId }), ','),
                        string_to_array(\(joined { String($0.event.counter) }), ',')::bigint[],
                        string_to_array(\(joined { $0.event.type.rawValue }), ','),
                        string_to_array(\(joined { String($0.event.amount) }), ',')::bigint[],
                        string_to_array(\(joined { String($0.event.balanceAfter) }), ',')::bigint[],
                        string_to_array(\(joined { String($0.event.timestamp) }), ',')::bigint[],
                        string_to_array(\(joined { Encoding.hex($0.event.hash) }), ','),
                        string_to_array(\(joined(";") { $0.reasons.joined(separator: ",") }), ';', ''),
                        string_to_array(\(joined { String($0.shortfall) }), ',')::bigint[])
                AS logged(card_id, counter, type, amount, balance_after, event_timestamp, hash, flag_reasons, shortfall)
            """)
    }

    /// Writes every changed card in one statement (a batch names up to 500 cards; one UPDATE each was a round
    /// trip each, inside the transaction that holds their locks). Each card is found by one primary-key probe
    /// (the LATERAL LIMIT) and updated by its row address: joined on `card_id` instead, the cached generic plan
    /// (no statistics yet on a freshly filled table) walked every card of the tenant and re-read the arrays for
    /// each, 40,000 comparisons for 50 cards among 800, which made this the slowest statement of a batch. The
    /// address cannot move under us: `lockCards` holds these rows `FOR UPDATE` until the transaction ends.
    func updateCards(_ tenant: TenantContext, _ cards: [CardRecord], now: Date, on tx: any SQLExecutor) async throws {
        guard !cards.isEmpty else { return }
        func joined(_ values: (CardRecord) -> String) -> String { cards.map(values).joined(separator: ",") }
        let updated = try await tx.execute("""
            UPDATE reconciliation_cards c SET status = changed.status, balance = changed.balance,
                card_balance = changed.card_balance, counter = changed.counter, chain_hash = decode(changed.chain_hash, 'hex'),
                chain_timestamp = changed.chain_timestamp, last_activity_at = \(now),
                blocked_at = CASE WHEN changed.status = 'ACTIVE' THEN c.blocked_at ELSE COALESCE(c.blocked_at, \(now)) END
            FROM unnest(string_to_array(\(joined(\.cardId)), ','), string_to_array(\(joined(\.status.rawValue)), ','),
                        string_to_array(\(joined { String($0.balance) }), ',')::bigint[],
                        string_to_array(\(joined { String($0.cardBalance) }), ',')::bigint[],
                        string_to_array(\(joined { String($0.counter) }), ',')::bigint[],
                        string_to_array(\(joined { Encoding.hex($0.chainHash) }), ','),
                        string_to_array(\(joined { String($0.chainTimestamp) }), ',')::bigint[])
                AS changed(card_id, status, balance, card_balance, counter, chain_hash, chain_timestamp)
            CROSS JOIN LATERAL (
                SELECT t.ctid AS row_address FROM reconciliation_cards t
                WHERE t.merchant_id = \(tenant.merchantId) AND t.mode = \(tenant.mode) AND t.card_id = changed.card_id
                LIMIT 1
            ) target
            WHERE c.ctid = target.row_address AND c.merchant_id = \(tenant.merchantId) AND c.mode = \(tenant.mode)
            """)
        assert(updated == cards.count, "every changed card is locked by this batch, so every one is updated")
    }

    func insertBatch(_ tenant: TenantContext, batchId: String, terminalId: Int, deviceId: String, eventCount: Int,
                     plan: BatchRules.Plan, now: Date, on tx: any SQLExecutor) async throws {
        try await tx.execute("""
            INSERT INTO reconciliation_batches (batch_id, merchant_id, mode, terminal_id, device_id, account_id, submitted_at,
                event_count, accepted, rejected, flagged)
            VALUES (\(batchId), \(tenant.merchantId), \(tenant.mode), \(terminalId), \(deviceId), NULL, \(now), \(eventCount),
                \(plan.accepted.count), \(plan.rejected), \(plan.flagged))
            """)
    }
}

/// Writes terminal reports: the ones terminals send and the tamper reports reconciliation creates.
struct ReportStore: Sendable {
    struct Report: Sendable {
        let terminalId: Int
        let deviceId: String
        let cardId: String?
        let eventType: String
        let details: String
        let counter: Int64?
        let timestamp: Int64
        let source: String
        let action: String
    }

    func insert(_ tenant: TenantContext, _ report: Report, now: Date, on executor: any SQLExecutor) async throws {
        try await executor.execute("""
            INSERT INTO reconciliation_terminal_reports (id, merchant_id, mode, terminal_id, device_id, card_id, event_type,
                details, counter, event_timestamp, source, action, received_at)
            VALUES (\(TypedID.generate(prefix: BatchStore.reportPrefix)), \(tenant.merchantId), \(tenant.mode), \(report.terminalId),
                \(report.deviceId), \(report.cardId), \(report.eventType), \(report.details), \(report.counter), \(report.timestamp),
                \(report.source), \(report.action), \(now))
            """)
    }
}
