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

    /// Reconciled debits per card and UTC day, from `fromTimestamp` on (the Monday of the earliest week the
    /// batch touches): one range scan of the debit index per card (the LATERAL keeps the planner from scanning
    /// every debit of the tenant and filtering by card, which grew with the tenant's history).
    func debitsByDay(_ tenant: TenantContext, cardIds: [String], fromTimestamp: Int64,
                     on tx: any SQLExecutor) async throws -> [String: [Int64: Int64]] {
        let rows = try await tx.query("""
            SELECT wanted.card_id, daily.day, daily.total
            FROM unnest(string_to_array(\(cardIds.joined(separator: ",")), ',')) AS wanted(card_id)
            CROSS JOIN LATERAL (
                SELECT e.event_timestamp / 86400 AS day, sum(e.amount) AS total FROM reconciliation_card_events e
                WHERE e.merchant_id = \(tenant.merchantId) AND e.mode = \(tenant.mode) AND e.type = 'debit'
                  AND e.card_id = wanted.card_id AND e.event_timestamp >= \(fromTimestamp)
                GROUP BY 1
            ) daily
            """)
        var result: [String: [Int64: Int64]] = [:]
        for row in rows {
            result[try row.decode("card_id"), default: [:]][try row.decode("day")] = try row.decode("total")
        }
        return result
    }

    /// The accepted events, in one statement.
    func insertEvents(_ tenant: TenantContext, _ accepted: [BatchRules.Accepted], batchId: String, terminalId: Int,
                      now: Date, on tx: any SQLExecutor) async throws {
        guard !accepted.isEmpty else { return }
        var text = """
            INSERT INTO reconciliation_card_events (merchant_id, mode, card_id, counter, type, amount, balance_after,
                event_timestamp, hash, batch_id, terminal_id, review_flag, flag_reasons, shortfall, recorded_at) VALUES
            """
        var binds: [SQLValue] = []
        for (index, item) in accepted.enumerated() {
            let event = item.event
            let values: [SQLValue] = [
                .text(tenant.merchantId), .text(tenant.mode.rawValue), .text(event.cardId), .int(event.counter),
                .text(event.type.rawValue), .int(event.amount), .int(event.balanceAfter), .int(event.timestamp),
                .bytes(event.hash), .text(batchId), .int(Int64(terminalId)), .bool(!item.reasons.isEmpty),
                item.reasons.isEmpty ? .null : .text(item.reasons.joined(separator: ",")), .int(item.shortfall), .timestamp(now),
            ]
            text += (index == 0 ? " (" : ", (") + (1...values.count).map { "$\(binds.count + $0)" }.joined(separator: ", ") + ")"
            binds += values
        }
        try await tx.execute(SQL(text, binds: binds))
    }

    /// Writes every changed card in one statement (a batch names up to 500 cards; one UPDATE each was a round
    /// trip each, inside the transaction that holds their locks).
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
            WHERE c.merchant_id = \(tenant.merchantId) AND c.mode = \(tenant.mode) AND c.card_id = changed.card_id
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
