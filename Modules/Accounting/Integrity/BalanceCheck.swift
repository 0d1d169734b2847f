import Kernel

/// Recomputes every account's per-day debit and credit totals from the posted lines and compares them with
/// `accounting_account_days` (what the reports read). Any difference is drift: a bug or a hand edit.
/// Run by `atlas admin accounting-check-balances` and by the tests after concurrent postings.
struct BalanceCheck: Sendable {
    struct Drift: Sendable, Hashable {
        var companyId: String
        var mode: String
        var accountId: String
        var day: String
        var storedDebit: Int64
        var storedCredit: Int64
        var lineDebit: Int64
        var lineCredit: Int64
    }

    let database: any Database

    func drifts() async throws -> [Drift] {
        let rows = try await database.query("""
            WITH from_lines AS (
                SELECT l.company_id, l.mode, l.account_id, e.posting_date AS day,
                       sum(CASE WHEN l.side = 'debit' THEN l.base_amount_minor ELSE 0 END)::bigint AS debit,
                       sum(CASE WHEN l.side = 'credit' THEN l.base_amount_minor ELSE 0 END)::bigint AS credit,
                       sum(CASE WHEN l.side = 'debit' AND e.entry_type = 'closing' THEN l.base_amount_minor ELSE 0 END)::bigint
                           AS closing_debit,
                       sum(CASE WHEN l.side = 'credit' AND e.entry_type = 'closing' THEN l.base_amount_minor ELSE 0 END)::bigint
                           AS closing_credit
                FROM accounting_journal_lines l JOIN accounting_journal_entries e ON e.id = l.entry_id
                WHERE e.status IN ('posted', 'void')
                GROUP BY l.company_id, l.mode, l.account_id, e.posting_date)
            SELECT coalesce(f.company_id, d.company_id) AS company_id, coalesce(f.mode, d.mode) AS mode,
                   coalesce(f.account_id, d.account_id) AS account_id, coalesce(f.day, d.day)::text AS day,
                   coalesce(d.debit_minor, 0) AS stored_debit, coalesce(d.credit_minor, 0) AS stored_credit,
                   coalesce(f.debit, 0) AS line_debit, coalesce(f.credit, 0) AS line_credit
            FROM from_lines f FULL JOIN accounting_account_days d
              ON d.company_id = f.company_id AND d.mode = f.mode AND d.account_id = f.account_id AND d.day = f.day
            WHERE coalesce(d.debit_minor, 0) <> coalesce(f.debit, 0) OR coalesce(d.credit_minor, 0) <> coalesce(f.credit, 0)
               OR coalesce(d.closing_debit_minor, 0) <> coalesce(f.closing_debit, 0)
               OR coalesce(d.closing_credit_minor, 0) <> coalesce(f.closing_credit, 0)
            ORDER BY 1, 2, 3, 4
            """)
        return try rows.map { row in
            Drift(companyId: try row.decode("company_id"), mode: try row.decode("mode"), accountId: try row.decode("account_id"),
                  day: try row.decode("day"), storedDebit: try row.decode("stored_debit"),
                  storedCredit: try row.decode("stored_credit"), lineDebit: try row.decode("line_debit"),
                  lineCredit: try row.decode("line_credit"))
        }
    }

    static var adminCommand: AdminCommand {
        AdminCommand(name: "accounting-check-balances",
                     usage: "admin accounting-check-balances  (recompute every account balance from its lines; report drift)") { _, services in
            let drifts = try await BalanceCheck(database: services.database).drifts()
            for drift in drifts {
                print("drift company=\(drift.companyId) mode=\(drift.mode) account=\(drift.accountId) day=\(drift.day) "
                      + "stored=\(drift.storedDebit)/\(drift.storedCredit) lines=\(drift.lineDebit)/\(drift.lineCredit)")
            }
            print("accounting balances: \(drifts.isEmpty ? "no drift" : "\(drifts.count) drifting account-days")")
            if !drifts.isEmpty { throw CommandUsageError("account balances drift from their lines") }
        }
    }
}
