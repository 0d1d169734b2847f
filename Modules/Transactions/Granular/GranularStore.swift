import Foundation
import Kernel

/// A granular transaction waiting for its issuer answer, as stored in `transactions_granular_pending`.
struct PendingGranular: Sendable {
    /// The final row to be, status AWAITING_COMPLETION (the outcome fills in status and codes).
    var record: TransactionRecord
    let emv: JSONValue
    let expiresAt: Date

    var state: GranularState { GranularState(expiresAt: expiresAt) }

    /// The in-flight view `initiate`, GET and the session's `online_authorization` answer.
    var json: JSONValue {
        guard case .object(var object) = record.json else { return record.json }
        object["emv"] = emv
        object["expiresAt"] = .string(Timestamp.iso8601(expiresAt))
        return .object(object)
    }
}

/// SQL for `transactions_granular_pending`; every statement is scoped by merchant_id and mode.
struct GranularStore: Sendable {
    /// Expired rows one sweep turns into their final ERROR rows (the next sweep takes the rest).
    static let sweepRowsMax = 100

    let database: any Database

    func insert(_ pending: PendingGranular, executor: any SQLExecutor) async throws {
        var binds = pending.record.insertValues
        binds += [.json(String(decoding: pending.emv.serialized(), as: UTF8.self)), .timestamp(pending.expiresAt)]
        let columns = TransactionRecord.insertColumns + ["emv", "expires_at"]
        // Typed like the sale batch's binds (`insertColumnTypes`): text binds for date and jsonb columns.
        let types = TransactionRecord.insertColumnTypes.map(\.type) + ["jsonb", "timestamptz"]
        let placeholders = types.indices.map { "$\($0 + 1)::" + types[$0] }.joined(separator: ", ")
        try await executor.execute(SQL("INSERT INTO transactions_granular_pending (" + columns.joined(separator: ", ")
                                           + ") VALUES (" + placeholders + ")", binds: binds))
    }

    /// The pending transaction, locked for the caller's transaction when `forUpdate`.
    func find(_ id: String, tenant: TenantContext, executor: (any SQLExecutor)? = nil, forUpdate: Bool = false) async throws
        -> PendingGranular? {
        let lock = forUpdate ? " FOR UPDATE" : ""
        let sql = SQL("SELECT \(TransactionRecord.columns), emv::text AS emv, expires_at FROM transactions_granular_pending "
                          + "WHERE id = $1 AND merchant_id = $2 AND mode = $3" + lock,
                      binds: [.text(id), .text(tenant.merchantId), .text(tenant.mode.rawValue)])
        guard let row = try await (executor ?? database).queryFirst(sql) else { return nil }
        let emvText: String = try row.decode("emv")
        let emv = try JSONCoding.decoder().decode(JSONValue.self, from: Data(emvText.utf8))
        return PendingGranular(record: try TransactionRecord(row: row), emv: emv, expiresAt: try row.decode("expires_at"))
    }

    func delete(_ id: String, tenant: TenantContext, executor: any SQLExecutor) async throws {
        let deleted = try await executor.execute("""
            DELETE FROM transactions_granular_pending
            WHERE id = \(id) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            """)
        precondition(deleted == 1, "the locked pending row is deleted exactly once")
    }

    /// Pending transactions whose deadline passed, oldest first, for the expiry sweep.
    func due(now: Date) async throws -> [(id: String, tenant: TenantContext)] {
        let rows = try await database.query("""
            SELECT id, merchant_id, mode FROM transactions_granular_pending WHERE expires_at <= \(now)
            ORDER BY expires_at LIMIT \(Self.sweepRowsMax)
            """)
        return try rows.compactMap { row in
            guard let mode = Mode(rawValue: try row.decode("mode", as: String.self)) else { return nil }
            let id: String = try row.decode("id")
            let merchantId: String = try row.decode("merchant_id")
            return (id: id, tenant: TenantContext(merchantId: merchantId, mode: mode))
        }
    }
}
