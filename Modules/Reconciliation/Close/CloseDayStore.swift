import AcquirerContract
import Foundation
import Kernel

/// SQL of a close: the per-tenant close lock, the claim of the open period, and the acquirer's answer.
///
/// Why a close is atomic against concurrent sales: the event consumer inserts an item and adds it to its
/// totals row in one statement, and the claim transaction first locks the tenant's totals rows. An item
/// committed before the claim's snapshot is claimed and subtracted; an item still being written is not
/// visible to the claim, stays open, and its totals update waits for the claim's commit and then adds to
/// the reduced row. Either way the item lands in exactly one period and the totals stay equal to the
/// open items (`TotalsStore.mismatches`).
struct CloseDayStore: Sendable {
    let database: any Database
    let eventLog: any EventLogWriter

    // MARK: The close lock

    /// True when `holder` now holds the tenant's close lock; false while another unexpired close holds it.
    func lock(_ tenant: TenantContext, holder: String, now: Date, lockSeconds: Double) async throws -> Bool {
        let row = try await database.queryFirst("""
            INSERT INTO reconciliation_close_locks AS existing (merchant_id, mode, holder, locked_until)
            VALUES (\(tenant.merchantId), \(tenant.mode), \(holder), \(now.addingTimeInterval(lockSeconds)))
            ON CONFLICT (merchant_id, mode) DO UPDATE SET holder = EXCLUDED.holder, locked_until = EXCLUDED.locked_until
            WHERE existing.locked_until <= \(now)
            RETURNING holder
            """)
        return row?.text("holder") == holder
    }

    func unlock(_ tenant: TenantContext, holder: String) async throws {
        try await database.execute("""
            DELETE FROM reconciliation_close_locks
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND holder = \(holder)
            """)
    }

    /// Whether an unexpired close holds the tenant's lock (a dry run answers 409 then, as a close would).
    func isLocked(_ tenant: TenantContext, now: Date) async throws -> Bool {
        try await database.queryFirst("""
            SELECT 1 AS one FROM reconciliation_close_locks
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND locked_until > \(now)
            """) != nil
    }

    // MARK: The claim

    /// A new settlement of the claim: its id, currency and the totals it took from the open period.
    struct Claimed: Sendable {
        let id: String
        let totals: TransactionTotals
    }

    /// In one transaction: locks the tenant's totals rows, claims every open item of each currency
    /// (`currencies`, or all open ones when nil) into a new settlement, subtracts what was claimed from the
    /// totals, inserts the settlements, records that each one with a settled line owes its `transaction.settled`
    /// events (`SettledEventsAppender` appends them after the close has answered) and appends `settlement.created`.
    /// With nothing open, one empty settlement in `emptyCurrency` (status SETTLED: there is nothing to submit).
    func claim(_ tenant: TenantContext, currencies requested: [String]?, emptyCurrency: String, terminalId: String,
               now: Date, newId: @escaping @Sendable () -> String) async throws -> [SettlementRecord] {
        let eventLog = eventLog
        return try await database.transaction { tx in
            try await tx.execute("""
                SELECT currency FROM reconciliation_totals WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
                ORDER BY currency FOR UPDATE
                """)
            var currencies = requested ?? []
            if requested == nil {
                currencies = try await tx.query("""
                    SELECT DISTINCT currency FROM reconciliation_items
                    WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND settlement_id IS NULL
                    ORDER BY currency
                    """).map { try $0.decode("currency", as: String.self) }
            }
            var created: [SettlementRecord] = []
            for currency in currencies {
                let id = newId()
                let totals = try await Self.claimItems(currency, into: id, tenant: tenant, executor: tx)
                // A requested currency with nothing open still gets its (empty) settlement; unrequested ones
                // are listed only because they have open items.
                if !totals.isEmpty { try await Self.subtract(totals, tenant: tenant, executor: tx) }
                let submitted = totals.isEmpty
                created.append(SettlementRecord(id: id, tenant: tenant, terminalId: terminalId, totals: totals,
                                                status: submitted ? .settled : .pending, submitted: submitted, closedAt: now))
            }
            if created.isEmpty {
                created.append(SettlementRecord(id: newId(), tenant: tenant, terminalId: terminalId,
                                                totals: TransactionTotals(currency: emptyCurrency), status: .settled,
                                                submitted: true, closedAt: now))
            }
            for settlement in created {
                try await Self.insert(settlement, executor: tx)
                if SettledEventsAppender.owesEvents(settlement.totals) {
                    try await SettledEventsAppender.owe(settlement, now: now, executor: tx)
                }
            }
            try await eventLog.append(created.map { Self.event("settlement.created", $0) }, in: tx)
            return created
        }
    }

    /// Claims the open items of one currency in one statement (set-based: a close of 100,000 transactions is one
    /// statement, not 100,000 binds) and returns the claimed totals. Their `transaction.settled` events are no
    /// longer appended here: they were half of this statement's time at 100,000 items (`SettledEventsAppender`).
    private static func claimItems(_ currency: String, into settlementId: String, tenant: TenantContext,
                                   executor: any SQLExecutor) async throws -> TransactionTotals {
        let sql: SQL = """
            WITH claimed AS (
                UPDATE reconciliation_items SET settlement_id = \(settlementId)
                WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND currency = \(currency)
                  AND settlement_id IS NULL
                RETURNING type, amount
            ) SELECT \(literal: TransactionTotals.sumsSQL) FROM claimed
            """
        guard let row = try await executor.queryFirst(sql) else {
            throw DatabaseError(kind: .decoding, message: "a claim returns one row of sums")
        }
        return try TransactionTotals(row: row, currency: currency)
    }

    /// The claimed totals leave the open period. The rows' CHECK (≥ 0) constraints catch any drift.
    private static func subtract(_ totals: TransactionTotals, tenant: TenantContext, executor: any SQLExecutor) async throws {
        let updated = try await executor.execute("""
            UPDATE reconciliation_totals SET sale_count = sale_count - \(totals.saleCount),
                sale_amount = sale_amount - \(totals.saleAmount), refund_count = refund_count - \(totals.refundCount),
                refund_amount = refund_amount - \(totals.refundAmount), void_count = void_count - \(totals.voidCount),
                void_amount = void_amount - \(totals.voidAmount), pre_auth_count = pre_auth_count - \(totals.preAuthCount),
                pre_auth_amount = pre_auth_amount - \(totals.preAuthAmount)
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND currency = \(totals.currency)
            """)
        precondition(updated == 1, "claimed items always have their totals row")
    }

    private static func insert(_ settlement: SettlementRecord, executor: any SQLExecutor) async throws {
        let totals = settlement.totals
        try await executor.execute("""
            INSERT INTO reconciliation_settlements (id, merchant_id, mode, terminal_id, currency, status, submission,
                sale_count, sale_amount, refund_count, refund_amount, void_count, void_amount, pre_auth_count,
                pre_auth_amount, net_amount, closed_at)
            VALUES (\(settlement.id), \(settlement.tenant.merchantId), \(settlement.tenant.mode), \(settlement.terminalId),
                \(settlement.currency), \(settlement.status.rawValue), \(settlement.submitted ? "SUBMITTED" : "CLAIMED"),
                \(totals.saleCount), \(totals.saleAmount), \(totals.refundCount), \(totals.refundAmount),
                \(totals.voidCount), \(totals.voidAmount), \(totals.preAuthCount), \(totals.preAuthAmount),
                \(totals.netAmount), \(settlement.closedAt))
            """)
    }

    /// A `settlement.*` event: the Settlement object, with its `attempt`.
    static func event(_ type: String, _ settlement: SettlementRecord, at occurredAt: Date? = nil) -> DomainEvent {
        var payload = settlement.json
        if case .object(var fields) = payload {
            fields["attempt"] = .int(Int64(settlement.attempt))
            payload = .object(fields)
        }
        return DomainEvent(type: type, tenant: settlement.tenant, resourceId: settlement.id,
                           occurredAt: occurredAt ?? settlement.closedAt, payload: payload)
    }

    // MARK: Retry

    /// What a retry found: the settlement claimed for one more submission, or why not.
    enum RetryClaim: Sendable {
        case claimed(SettlementRecord)
        case notFound
        case notFailed(SettlementStatus)
    }

    /// In one transaction: a FAILED settlement of the tenant goes back to CLAIMED with one more attempt (the
    /// same attempt when its last retry never reached the acquirer: that submission is simply sent again), and
    /// `settlement.retried` is appended. Its status stays FAILED until the acquirer answers.
    func claimRetry(_ settlementId: String, tenant: TenantContext, now: Date) async throws -> RetryClaim {
        let eventLog = eventLog
        return try await database.transaction { tx in
            guard let row = try await tx.queryFirst("""
                UPDATE reconciliation_settlements SET submission = 'CLAIMED',
                    attempt = CASE WHEN submission = 'SUBMITTED' THEN attempt + 1 ELSE attempt END
                WHERE id = \(settlementId) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND status = 'FAILED'
                RETURNING \(literal: SettlementRecord.columns)
                """) else {
                let existing = try await tx.queryFirst("""
                    SELECT status FROM reconciliation_settlements
                    WHERE id = \(settlementId) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
                    """)
                guard let status = try existing.flatMap({ SettlementStatus(rawValue: try $0.decode("status")) }) else {
                    return .notFound
                }
                return .notFailed(status)
            }
            let settlement = try SettlementRecord(row: row)
            try await eventLog.append([Self.event("settlement.retried", settlement, at: now)], in: tx)
            return .claimed(settlement)
        }
    }

    // MARK: Submission

    /// Settlements of the tenant claimed but not yet answered by the acquirer, oldest first (this close's,
    /// and any a crashed close left behind).
    func unsubmitted(_ tenant: TenantContext) async throws -> [SettlementRecord] {
        try await database.query("""
            SELECT \(literal: SettlementRecord.columns) FROM reconciliation_settlements
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND submission = 'CLAIMED'
            ORDER BY id
            """).map(SettlementRecord.init(row:))
    }

    /// The lines the acquirer settles (every claimed item but PRE_AUTHs), in id order.
    func lines(of settlementId: String, tenant: TenantContext) async throws -> [SettlementLine] {
        try await database.query("""
            SELECT transaction_id, type, amount, authorization_code FROM reconciliation_items
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND settlement_id = \(settlementId)
              AND type <> 'PRE_AUTH'
            ORDER BY transaction_id
            """).map { row in
            SettlementLine(transactionId: try row.decode("transaction_id"), type: try row.decode("type"),
                           amountMinorUnits: try row.decode("amount"), authorizationCode: try row.decode("authorization_code"))
        }
    }

    /// Stores the acquirer's answer once (a second answer for the same settlement changes nothing) and
    /// appends `settlement.updated` with it; returns the stored settlement.
    func record(_ outcome: SettlementOutcome, for settlement: SettlementRecord) async throws -> SettlementRecord {
        var updated = settlement
        updated.status = outcome.status
        updated.submitted = true
        updated.acquirerBatchRef = outcome.acquirerBatchRef
        updated.fundingDate = outcome.fundingDate
        let rejected = SQLValue.json(String(decoding: JSONValue.array(outcome.rejectedTransactionIds.map { .string($0) })
            .serialized(), as: UTF8.self))
        let eventLog = eventLog
        let answered = updated
        let written = try await database.transaction { tx in
            let changed = try await tx.execute("""
                UPDATE reconciliation_settlements SET status = \(outcome.status.rawValue), submission = 'SUBMITTED',
                    acquirer_batch_ref = \(outcome.acquirerBatchRef), funding_date = \(outcome.fundingDate),
                    rejected_transaction_ids = \(rejected)
                WHERE id = \(settlement.id) AND merchant_id = \(settlement.tenant.merchantId)
                  AND mode = \(settlement.tenant.mode) AND submission = 'CLAIMED'
                """)
            if changed == 1 { try await eventLog.append([Self.event("settlement.updated", answered)], in: tx) }
            return changed == 1
        }
        if written { eventLog.appendCommitted() }
        return updated
    }
}
