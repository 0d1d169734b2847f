import Foundation
import Kernel

/// Marks the pre-authorizations nobody completed or voided within their window as EXPIRED and appends one
/// `transaction.expired` event each (payload: the transaction JSON, status EXPIRED), in the same database
/// transaction, so the ledger releases the hold (Accounting's `PreAuthHold`) exactly once.
///
/// Completion racing expiry: a completion or void holds `SELECT … FOR UPDATE` on the PRE_AUTH for its whole
/// transaction; the sweep takes its rows `FOR UPDATE SKIP LOCKED` and updates only rows still APPROVED and not
/// completed. So either the completion commits first (the sweep skips the locked row, and later finds it completed)
/// or the sweep commits first (the completion then reads EXPIRED and answers 409 `PRE_AUTH_EXPIRED`): exactly one
/// wins. Two sweeps (two instances) never take the same row.
struct PreAuthExpirySweeper: Sendable {
    static let eventType = "transaction.expired"

    let services: ModuleServices
    let limits: PreAuthExpiryLimits

    /// One round: expires at most `limits.sweepRowsMax` pre-authorizations, oldest first; returns how many.
    func expireDue() async throws -> Int {
        let now = services.clock.now()
        let sql = Self.expireSQL(authorizedAtOrBefore: limits.authorizedAtOrBefore(now: now), now: now,
                                 rowsMax: limits.sweepRowsMax)
        let eventLog = services.eventLog
        let expired = try await services.database.transaction { tx in
            let records = try await tx.query(sql).map(TransactionRecord.init(row:))
            let events = records.map { record in
                precondition(record.type == .preAuth && record.status == .expired, "the sweep expires approved pre-authorizations only")
                return DomainEvent(type: Self.eventType, tenant: record.tenant, resourceId: record.id, occurredAt: now,
                                   payload: record.json)
            }
            if !events.isEmpty { try await eventLog.append(events, in: tx) }
            return records.count
        }
        if expired > 0 { eventLog.appendCommitted() }
        return expired
    }

    /// Rounds of `expireDue` until one finds fewer than a full batch or `sweepRoundsMax` ran; returns the total.
    func sweep() async throws -> Int {
        try await ExpirySweep.batches(max: limits.sweepRoundsMax, batchMax: limits.sweepRowsMax) { try await expireDue() }
    }

    /// The background service "transactions.pre-auth-expiry".
    func sweepLoop() async {
        await ExpirySweep.loop(everySeconds: limits.sweepIntervalSeconds, logger: services.logger,
                               failureMessage: "pre-authorization expiry sweep failed") {
            let expired = try await sweep()
            if expired > 0 { services.logger.info("pre-authorizations expired", ["count": .int(Int64(expired))]) }
        }
    }

    /// One statement: lock the due rows (skipping rows a completion or void holds), mark them EXPIRED, return them.
    /// The partial index `transactions_open_pre_auths` holds exactly the candidates, oldest first.
    static func expireSQL(authorizedAtOrBefore cutoff: Date, now: Date, rowsMax: Int) -> SQL {
        """
        WITH due AS (
            SELECT id AS due_id FROM transactions
            WHERE type = 'PRE_AUTH' AND status = 'APPROVED' AND completion_transaction_id IS NULL AND created_at <= \(cutoff)
            ORDER BY created_at LIMIT \(rowsMax) FOR UPDATE SKIP LOCKED
        )
        UPDATE transactions SET status = 'EXPIRED', expired_at = \(now)
        FROM due WHERE id = due.due_id AND status = 'APPROVED' AND completion_transaction_id IS NULL
        RETURNING \(literal: TransactionRecord.columns)
        """
    }
}
