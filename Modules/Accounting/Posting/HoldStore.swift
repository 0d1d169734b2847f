import Foundation
import Kernel

/// `accounting_holds`: pre-authorization holds per ledger (`PreAuthHold`). One read per batch, one upsert per batch.
enum HoldStore {
    /// The holds of `transactionIds` in `companyIds`' ledgers, keyed "company|mode|transaction". One primary-key probe
    /// per transaction (all three key columns; `mode IN` is always true), whatever the statistics: with both lists as
    /// `= ANY` the primary key narrowed only by company, and each batch read the company's every hold.
    static func holds(companyIds: [String], transactionIds: [String], executor: any SQLExecutor) async throws -> [String: PreAuthHold] {
        guard !companyIds.isEmpty, !transactionIds.isEmpty else { return [:] }
        let rows = try await executor.query("""
            SELECT company_id, mode, transaction_id, status, amount_minor, captured_minor, currency, debit_account_id,
                   credit_account_id, authorized_event_id, authorized_on::text AS authorized_on, resolved_event_id,
                   resolved_by_transaction_id, resolved_on::text AS resolved_on
            FROM (SELECT DISTINCT unnest(string_to_array(\(transactionIds.joined(separator: ",")), ',')) AS held_transaction_id) AS wanted
            CROSS JOIN LATERAL (
                SELECT * FROM accounting_holds
                WHERE company_id = ANY(string_to_array(\(companyIds.joined(separator: ",")), ',')) AND mode IN ('live', 'test')
                  AND transaction_id = wanted.held_transaction_id OFFSET 0
            ) AS found
            """)
        var result: [String: PreAuthHold] = [:]
        for row in rows {
            guard let mode = Mode(rawValue: try row.decode("mode")),
                  let status = PreAuthHold.Status(rawValue: try row.decode("status")) else {
                throw DatabaseError(kind: .decoding, message: "accounting_holds row has an unknown mode or status")
            }
            let hold = PreAuthHold(companyId: try row.decode("company_id"), mode: mode, transactionId: try row.decode("transaction_id"),
                                   amountMinor: try row.decode("amount_minor"), currency: try row.decode("currency"),
                                   debitAccountId: try row.decode("debit_account_id"), creditAccountId: try row.decode("credit_account_id"),
                                   authorizedEventId: try row.decode("authorized_event_id"), authorizedOn: try row.decode("authorized_on"))
            result[key(hold)] = PreAuthHold(stored: hold, status: status, capturedMinor: try row.decode("captured_minor"),
                                            resolvedEventId: try row.decode("resolved_event_id"),
                                            resolvedByTransactionId: try row.decode("resolved_by_transaction_id"),
                                            resolvedOn: try row.decode("resolved_on"))
        }
        return result
    }

    static func key(_ hold: PreAuthHold) -> String { "\(hold.companyId)|\(hold.mode.rawValue)|\(hold.transactionId)" }

    /// Inserts new holds and writes resolutions in one statement. A hold that is no longer pending in the
    /// database is left alone (`WHERE accounting_holds.status = 'pending'`), so a replay can never resolve twice.
    static func write(_ holds: [PreAuthHold], now: Date, executor: any SQLExecutor) async throws {
        guard !holds.isEmpty else { return }
        var binds: [SQLValue] = []
        func bind(_ value: SQLValue, _ type: String) -> String {
            binds.append(value)
            return "$\(binds.count)::\(type)"
        }
        let rows = holds.map { hold -> String in
            let resolvedAt: SQLValue = hold.status == .pending ? .null : .timestamp(now)
            let values = [
                bind(.text(hold.companyId), "text"), bind(.text(hold.mode.rawValue), "text"), bind(.text(hold.transactionId), "text"),
                bind(.text(hold.status.rawValue), "text"), bind(.int(hold.amountMinor), "bigint"), bind(.int(hold.capturedMinor), "bigint"),
                bind(.text(hold.currency), "text"), bind(.text(hold.debitAccountId), "text"), bind(.text(hold.creditAccountId), "text"),
                bind(.text(hold.authorizedEventId), "text"), bind(.text(hold.authorizedOn), "date"),
                bind(hold.resolvedEventId.sqlValue, "text"), bind(hold.resolvedByTransactionId.sqlValue, "text"),
                bind(resolvedAt, "timestamptz"), bind(.timestamp(now), "timestamptz"), bind(hold.resolvedOn.sqlValue, "date"),
            ]
            return "(" + values.joined(separator: ", ") + ")"
        }
        let text = "INSERT INTO accounting_holds (company_id, mode, transaction_id, status, amount_minor, captured_minor, currency, "
            + "debit_account_id, credit_account_id, authorized_event_id, authorized_on, resolved_event_id, "
            + "resolved_by_transaction_id, resolved_at, created_at, resolved_on) VALUES " + rows.joined(separator: ", ")
            + " ON CONFLICT (company_id, mode, transaction_id) DO UPDATE SET status = EXCLUDED.status, "
            + "captured_minor = EXCLUDED.captured_minor, resolved_event_id = EXCLUDED.resolved_event_id, "
            + "resolved_by_transaction_id = EXCLUDED.resolved_by_transaction_id, resolved_at = EXCLUDED.resolved_at, "
            + "resolved_on = EXCLUDED.resolved_on "
            + "WHERE accounting_holds.status = 'pending' AND EXCLUDED.status <> 'pending'"
        try await executor.execute(SQL(text, binds: binds))
    }
}
