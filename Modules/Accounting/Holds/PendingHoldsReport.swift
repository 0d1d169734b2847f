import Foundation
import Kernel

/// `GET /reports/pending-holds`: the card pre-authorizations held but not yet resolved on a day, per account and one
/// page of holds (docs/accounting.md "Pre-authorizations as pending holds"). In TigerBeetle's terms each account's
/// `debits_pending` / `credits_pending`: amounts reserved on it that no balance shows yet.
struct PendingHoldsReport: Sendable {
    let database: any Database
    let scope: CompanyScope
    let clock: any WallClock

    /// One held pre-authorization as listed.
    struct Hold: Sendable, Hashable {
        let transactionId: String
        let amountMinor: Int64
        let currency: String
        let debitAccountId: String
        let creditAccountId: String
        let authorizedOn: String
        /// The current status: `pending`, or how it was resolved after the as-of day.
        let status: String
        let resolvedOn: String?
    }

    /// An account's pending amounts on the as-of day (holds in the company's base currency).
    struct AccountPending: Sendable, Hashable {
        let accountId: String
        let number: String
        let name: String
        let debitsPendingMinor: Int64
        let creditsPendingMinor: Int64
    }

    func report(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let query = request.queryParameters
        let asOf = try AccountingInput.optionalDate(query["as_of_date"], field: "as_of_date") ?? AccountingInput.day(of: clock.now())
        let page = try AccountingPage(query)
        let order = try ListOrder.parse(query["sort_order"], default: .asc)
        let company = try await scope.resolve(request, caller)
        let base = company.baseCurrency
        let ledger = PendingHoldsLedger(companyId: company.id, mode: caller.mode, asOf: asOf, baseCurrency: base.code)
        let (count, totalMinor) = try await readSummary(ledger)
        let accounts = try await readAccounts(ledger)
        let holds = try await readHolds(ledger, order: order, page: page)
        func money(_ minor: Int64, _ currency: Currency) -> JSONValue { .string(DecimalAmount.format(minor, currency)) }
        let accountItems: [JSONValue] = accounts.map { account in
            ["account_id": .string(account.accountId), "account_number": .string(account.number),
             "account_name": .string(account.name), "debits_pending": money(account.debitsPendingMinor, base),
             "credits_pending": money(account.creditsPendingMinor, base)]
        }
        let items: [JSONValue] = holds.map { hold in
            ["transaction_id": .string(hold.transactionId), "amount": money(hold.amountMinor, Currency(code: hold.currency) ?? base),
             "currency": .string(hold.currency), "debit_account_id": .string(hold.debitAccountId),
             "credit_account_id": .string(hold.creditAccountId), "authorized_on": .string(hold.authorizedOn),
             "status": .string(hold.status), "resolved_on": .text(hold.resolvedOn)]
        }
        guard case .object(var body) = page.envelope(items, total: count) else { preconditionFailure("an envelope is an object") }
        body["company_id"] = .string(company.id)
        body["as_of_date"] = .string(asOf)
        body["currency"] = .string(base.code)
        body["total_pending"] = money(totalMinor, base)
        body["accounts"] = .array(accountItems)
        return .json(.object(body))
    }

    // MARK: Reads (three statements, each reading the company's holds authorized by the day)

    /// How many holds are pending on the day (the page's `total`) and their base-currency amount.
    private func readSummary(_ ledger: PendingHoldsLedger) async throws -> (count: Int, totalMinor: Int64) {
        let row = try await database.queryFirst(SQL("""
            SELECT count(*) AS n, coalesce(sum(amount_minor) FILTER (WHERE currency = $4), 0)::bigint AS total
            FROM accounting_holds WHERE
            """ + PendingHoldsLedger.condition, binds: ledger.binds + [.text(ledger.baseCurrency)]))
        return (Int(try row?.decode("n", as: Int64.self) ?? 0), try row?.decode("total", as: Int64.self) ?? 0)
    }

    /// Every account with a pending amount on the day, by number.
    private func readAccounts(_ ledger: PendingHoldsLedger) async throws -> [AccountPending] {
        let held = "SELECT debit_account_id, credit_account_id, amount_minor FROM accounting_holds WHERE "
            + PendingHoldsLedger.condition + " AND currency = $4"
        return try await database.query(SQL("WITH held AS (" + held + ") " + """
            SELECT a.id, a.account_number, a.name, sum(x.debit)::bigint AS debits, sum(x.credit)::bigint AS credits
            FROM (SELECT debit_account_id AS account_id, amount_minor AS debit, 0::bigint AS credit FROM held
                  UNION ALL SELECT credit_account_id, 0::bigint, amount_minor FROM held) x
            JOIN accounting_accounts a ON a.id = x.account_id
            GROUP BY a.id, a.account_number, a.name ORDER BY a.account_number
            """, binds: ledger.binds + [.text(ledger.baseCurrency)])).map { row in
            AccountPending(accountId: try row.decode("id"), number: try row.decode("account_number"), name: try row.decode("name"),
                           debitsPendingMinor: try row.decode("debits"), creditsPendingMinor: try row.decode("credits"))
        }
    }

    /// One page of the day's pending holds, oldest authorization first (or last), then by transaction id.
    private func readHolds(_ ledger: PendingHoldsLedger, order: ListOrder, page: AccountingPage) async throws -> [Hold] {
        let direction = order == .asc ? "ASC" : "DESC"
        return try await database.query(SQL("""
            SELECT transaction_id, amount_minor, currency, debit_account_id, credit_account_id, authorized_on::text AS authorized_on,
                   status, resolved_on::text AS resolved_on
            FROM accounting_holds WHERE
            """ + PendingHoldsLedger.condition + " ORDER BY authorized_on " + direction + ", transaction_id " + direction
            + " LIMIT $4 OFFSET $5", binds: ledger.binds + [.int(Int64(page.limit)), .int(Int64(page.offset))])).map { row in
            Hold(transactionId: try row.decode("transaction_id"), amountMinor: try row.decode("amount_minor"),
                 currency: try row.decode("currency"), debitAccountId: try row.decode("debit_account_id"),
                 creditAccountId: try row.decode("credit_account_id"), authorizedOn: try row.decode("authorized_on"),
                 status: try row.decode("status"), resolvedOn: try row.decode("resolved_on"))
        }
    }
}

/// One ledger's holds on one day: the condition the report's statements share, binds $1…$3.
struct PendingHoldsLedger: Sendable, Hashable {
    /// Authorized on or before the day and not resolved by its end (the index `accounting_holds_authorized`).
    static let condition = " company_id = $1 AND mode = $2 AND authorized_on <= $3::date AND (status = 'pending' OR resolved_on > $3::date)"

    let companyId: String
    let mode: Mode
    let asOf: String
    let baseCurrency: String

    var binds: [SQLValue] { [.text(companyId), .text(mode.rawValue), .text(asOf)] }
}
