import Foundation
import Kernel
import StoredValueContract

/// SQL for transactions and terminal locks (stored-value cards: StoredValue/). Every statement is scoped by
/// merchant_id and mode.
struct TransactionStore: Sendable {
    /// A terminal lock outlives any acquirer call; after this a crashed holder's lock is taken over.
    static let terminalLockSeconds: TimeInterval = 120

    let database: any Database
    /// The card registry's one stored-value balance per card, when wired (see TransactionStore+StoredValue).
    var ledger: (any StoredValueLedger)? = nil

    func find(_ id: String, tenant: TenantContext, executor: (any SQLExecutor)? = nil, forUpdate: Bool = false) async throws
        -> TransactionRecord? {
        let lock = forUpdate ? " FOR UPDATE" : ""
        let sql = SQL("SELECT \(TransactionRecord.columns) FROM transactions WHERE id = $1 AND merchant_id = $2 AND mode = $3" + lock,
                      binds: [.text(id), .text(tenant.merchantId), .text(tenant.mode.rawValue)])
        return try await (executor ?? database).queryFirst(sql).map(TransactionRecord.init(row:))
    }

    struct ListFilter: Sendable {
        var type: String?
        var status: String?
        var terminalId: String?
        var from: Date?
        var to: Date?
        var beforeId: String?
        var limit: Int
    }

    /// Newest first (ids are ULIDs, so id order is creation order); fetches limit + 1 to know hasMore.
    func list(_ filter: ListFilter, tenant: TenantContext) async throws -> [TransactionRecord] {
        let sql = Self.listSQL(filter, tenant: tenant)
        return try await database.query(sql).map(TransactionRecord.init(row:))
    }

    /// Only the filters present are in the text, so the cursor is an index bound in every plan.
    static func listSQL(_ filter: ListFilter, tenant: TenantContext) -> SQL {
        """
        SELECT \(literal: TransactionRecord.columns) FROM transactions
        WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)\(and: "type = ?", filter.type)\
        \(and: "status = ?", filter.status)\(and: "terminal_id = ?", filter.terminalId)\
        \(and: "created_at >= ?", filter.from)\(and: "created_at < ?", filter.to)\(and: "id < ?", filter.beforeId)
        ORDER BY id DESC LIMIT \(filter.limit + 1)
        """
    }

    // MARK: Terminal locks (one in-flight transaction per terminal)

    /// True when this transaction now holds the terminal; false when another live lock holds it.
    func claimTerminal(_ terminalId: String, transactionId: String, type: TransactionType, amount: Int64, currency: String,
                       tenant: TenantContext, now: Date) async throws -> Bool {
        let row = try await database.queryFirst("""
            INSERT INTO transactions_terminal_locks AS existing (merchant_id, mode, terminal_id, transaction_id, type, amount,
                currency, started_at, locked_until)
            VALUES (\(tenant.merchantId), \(tenant.mode), \(terminalId), \(transactionId), \(type.rawValue), \(amount),
                \(currency), \(now), \(now.addingTimeInterval(Self.terminalLockSeconds)))
            ON CONFLICT (merchant_id, mode, terminal_id) DO UPDATE SET transaction_id = EXCLUDED.transaction_id,
                type = EXCLUDED.type, amount = EXCLUDED.amount, currency = EXCLUDED.currency,
                started_at = EXCLUDED.started_at, locked_until = EXCLUDED.locked_until, abort_requested = false
            WHERE existing.locked_until <= \(now)
            RETURNING transaction_id
            """)
        return row?.text("transaction_id") == transactionId
    }

    /// Removes the lock inside the final transaction; returns whether an abort was requested meanwhile.
    func releaseTerminal(transactionId: String, tenant: TenantContext, executor: any SQLExecutor) async throws -> Bool {
        let row = try await executor.queryFirst("""
            DELETE FROM transactions_terminal_locks
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND transaction_id = \(transactionId)
            RETURNING abort_requested
            """)
        return try row?.decode("abort_requested", as: Bool.self) ?? false
    }

    /// Releases a lock when the request failed before its final transaction.
    func abandonTerminal(transactionId: String, tenant: TenantContext) async {
        _ = try? await database.execute("""
            DELETE FROM transactions_terminal_locks
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND transaction_id = \(transactionId)
            """)
    }

    /// The in-flight view of a transaction that holds a terminal, for GET and abort.
    func inFlight(_ id: String, tenant: TenantContext) async throws -> Row? {
        try await database.queryFirst("""
            SELECT terminal_id, type, amount, currency, started_at, abort_requested FROM transactions_terminal_locks
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND transaction_id = \(id)
            """)
    }

    func requestAbort(_ id: String, tenant: TenantContext) async throws -> Bool {
        try await database.execute("""
            UPDATE transactions_terminal_locks SET abort_requested = true
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND transaction_id = \(id)
            """) > 0
    }

    // MARK: Follow-up effects

    func apply(_ effect: OriginalEffect, originalId: String, followUpId: String, tenant: TenantContext,
               executor: any SQLExecutor) async throws {
        switch effect {
        case .refund(let total):
            try await executor.execute("""
                UPDATE transactions SET refunded_amount = \(total)
                WHERE id = \(originalId) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
                """)
        case .void:
            try await executor.execute("""
                UPDATE transactions SET status = 'VOIDED', void_transaction_id = \(followUpId)
                WHERE id = \(originalId) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
                """)
        case .complete:
            try await executor.execute("""
                UPDATE transactions SET completion_transaction_id = \(followUpId)
                WHERE id = \(originalId) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
                """)
        }
    }

    /// Undoes a voided refund's share of its sale's `refunded_amount`.
    func reduceRefunded(_ saleId: String, by amount: Int64, tenant: TenantContext, executor: any SQLExecutor) async throws {
        try await executor.execute("""
            UPDATE transactions SET refunded_amount = refunded_amount - \(amount)
            WHERE id = \(saleId) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            """)
    }
}
