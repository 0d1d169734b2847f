import Kernel

/// Per-account totals for a date range, read from `accounting_account_days` (one row per account and day
/// with postings), never from every journal line.
struct ReportStore: Sendable {
    let database: any Database

    /// `excludingClosing`: leave out closing entries (a P&L shows the period's activity, not its close).
    func totals(companyId: String, mode: Mode, from: String?, to: String,
                excludingClosing: Bool = false, executor: (any SQLExecutor)? = nil) async throws -> [ReportBuilder.AccountTotals] {
        let closing: Int64 = excludingClosing ? 1 : 0
        let rows = try await (executor ?? database).query("""
            SELECT a.id, a.account_number, a.name, a.account_type, a.normal_balance, a.account_subtype,
                   coalesce(sum(d.debit_minor - \(closing) * d.closing_debit_minor), 0)::bigint AS debit,
                   coalesce(sum(d.credit_minor - \(closing) * d.closing_credit_minor), 0)::bigint AS credit
            FROM accounting_accounts a
            LEFT JOIN accounting_account_days d ON d.company_id = a.company_id AND d.mode = a.mode AND d.account_id = a.id
                AND d.day <= \(to)::date\(and: "d.day >= ?::date", from)
            WHERE a.company_id = \(companyId) AND a.mode = \(mode)
            GROUP BY a.id, a.account_number, a.name, a.account_type, a.normal_balance, a.account_subtype
            ORDER BY a.account_number
            """)
        return try rows.map { row in
            ReportBuilder.AccountTotals(accountId: try row.decode("id"), number: try row.decode("account_number"),
                                        name: try row.decode("name"), type: try row.decode("account_type"),
                                        normalBalance: try row.decode("normal_balance"), subtype: try row.decode("account_subtype"),
                                        debit: try row.decode("debit"), credit: try row.decode("credit"))
        }
    }

    /// The side's documents open on `asOf`: posted on or before it, less what payments dated on or before it applied
    /// (a voided payment has no applications left, rule 13). Documents voided since are left out (inferred).
    /// Amounts in the base currency: a foreign-currency document's open amount is what is left of its booked base total
    /// (the total at its rate less the paid part at its rate), so the report agrees with the receivable or payable account.
    func openDocuments(_ side: PaymentSide, companyId: String, mode: Mode, asOf: String,
                       base: Currency) async throws -> [ReportBuilder.OpenDocument] {
        try await database.query("""
            SELECT d.\(literal: side.contactColumn) AS contact_id, c.display_name, (\(asOf)::date - d.due_date)::bigint AS days_past_due,
                   d.currency, d.exchange_rate::text AS exchange_rate, d.total_minor,
                   d.total_minor - coalesce((SELECT sum(a.amount_minor) FROM \(literal: side.applicationsTable) a
                                             JOIN \(literal: side.table) p ON p.id = a.payment_id
                                             WHERE a.\(literal: side.documentColumn) = d.id AND p.payment_date <= \(asOf)::date), 0)::bigint
                       AS amount_due
            FROM \(literal: side.documentTable) d JOIN accounting_contacts c ON c.id = d.\(literal: side.contactColumn)
            WHERE d.company_id = \(companyId) AND d.mode = \(mode) AND d.status IN \(literal: side.postedStatusList)
              AND d.\(literal: side.documentDateColumn) <= \(asOf)::date
            """).map { row in
            ReportBuilder.OpenDocument(contactId: try row.decode("contact_id"), contactName: try row.decode("display_name"),
                                       daysPastDue: Int(try row.decode("days_past_due", as: Int64.self)),
                                       amountDueMinor: try Self.baseAmountDue(row, base: base))
        }
    }

    private static func baseAmountDue(_ row: Row, base: Currency) throws -> Int64 {
        let due: Int64 = try row.decode("amount_due")
        guard let currency = Currency(code: try row.decode("currency")), currency != base else { return due }
        guard let rate = DecimalFactor(try row.decode("exchange_rate", as: String.self)) else {
            throw DatabaseError(kind: .decoding, message: "unexpected exchange rate of an open document")
        }
        let total: Int64 = try row.decode("total_minor")
        return try DocumentExchange.toBase(total, currency: currency, rate: rate, base: base, field: "amount_due")
            - DocumentExchange.toBase(total - due, currency: currency, rate: rate, base: base, field: "amount_due")
    }
}

/// `/reports`: trial balance, profit and loss, balance sheet (spec B.1; money as decimal strings).
struct ReportHandlers: Sendable {
    let store: ReportStore
    let scope: CompanyScope
    let clock: any WallClock

    func trialBalance(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let asOf = try AccountingInput.optionalDate(request.queryParameters["as_of_date"], field: "as_of_date")
            ?? AccountingInput.day(of: clock.now())
        let company = try await scope.resolve(request, caller)
        let currency = company.baseCurrency
        let report = ReportBuilder.trialBalance(try await store.totals(companyId: company.id, mode: caller.mode, from: nil, to: asOf))
        let rows: [JSONValue] = report.rows.map { row in
            ["account_id": .string(row.account.accountId), "account_number": .string(row.account.number),
             "account_name": .string(row.account.name), "account_type": .string(row.account.type),
             "debit": .string(DecimalAmount.format(row.debit, currency)), "credit": .string(DecimalAmount.format(row.credit, currency))]
        }
        return .json([
            "company_id": .string(company.id), "as_of_date": .string(asOf), "currency": .string(currency.code),
            "rows": .array(rows), "total_debits": .string(DecimalAmount.format(report.debits, currency)),
            "total_credits": .string(DecimalAmount.format(report.credits, currency)),
            "is_balanced": .bool(report.debits == report.credits),
        ])
    }

    func profitAndLoss(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let query = request.queryParameters
        let (start, end) = try Self.period(query)
        let comparison = try comparisonRange(query)
        let company = try await scope.resolve(request, caller)
        let currency = company.baseCurrency
        let report = ReportBuilder.profitAndLoss(try await store.totals(companyId: company.id, mode: caller.mode, from: start, to: end,
                                                                             excludingClosing: true))
        var body = Self.json(report, currency)
        body["company_id"] = .string(company.id)
        body["period_start"] = .string(start)
        body["period_end"] = .string(end)
        body["currency"] = .string(currency.code)
        if let range = comparison {
            let previous = ReportBuilder.profitAndLoss(try await store.totals(companyId: company.id, mode: caller.mode,
                                                                               from: range.from, to: range.to,
                                                                               excludingClosing: true))
            var compared = Self.json(previous, currency)
            compared["period_start"] = .string(range.from)
            compared["period_end"] = .string(range.to)
            body["comparison"] = .object(compared)
        }
        return .json(.object(body))
    }

    func balanceSheet(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let query = request.queryParameters
        let asOf = try AccountingInput.optionalDate(query["as_of_date"], field: "as_of_date") ?? AccountingInput.day(of: clock.now())
        let includeComparison = try Self.flag(query["include_comparison"], field: "include_comparison")
        let comparisonDate = try AccountingInput.optionalDate(query["comparison_date"], field: "comparison_date")
        if includeComparison, comparisonDate == nil { throw AtlasError.missingField("comparison_date") }
        let company = try await scope.resolve(request, caller)
        let currency = company.baseCurrency
        let sheet = ReportBuilder.balanceSheet(try await store.totals(companyId: company.id, mode: caller.mode, from: nil, to: asOf))
        var body = Self.json(sheet, currency)
        body["company_id"] = .string(company.id)
        body["as_of_date"] = .string(asOf)
        body["currency"] = .string(currency.code)
        if includeComparison, let comparisonDate {
            let previous = ReportBuilder.balanceSheet(try await store.totals(companyId: company.id, mode: caller.mode, from: nil,
                                                                              to: comparisonDate))
            var compared = Self.json(previous, currency)
            compared["as_of_date"] = .string(comparisonDate)
            body["comparison"] = .object(compared)
        }
        return .json(.object(body))
    }

    /// Cash flow for a period, indirect method: net income, changes in working capital, investing and financing
    /// activities, and the cash accounts' opening and closing balances (`is_reconciled`: opening + change = closing).
    func cashFlow(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let query = request.queryParameters
        let (start, end) = try Self.period(query)
        let company = try await scope.resolve(request, caller)
        let currency = company.baseCurrency
        let period = try await store.totals(companyId: company.id, mode: caller.mode, from: start, to: end, excludingClosing: true)
        let toEnd = try await store.totals(companyId: company.id, mode: caller.mode, from: nil, to: end)
        let changes = Dictionary(uniqueKeysWithValues: period.map { ($0.accountId, $0) })
        let before = toEnd.map { account in
            var opening = account
            opening.debit -= changes[account.accountId]?.debit ?? 0
            opening.credit -= changes[account.accountId]?.credit ?? 0
            return opening
        }
        let flow = ReportBuilder.cashFlow(period: period, before: before)
        func money(_ minor: Int64) -> JSONValue { .string(DecimalAmount.format(minor, currency)) }
        return .json([
            "company_id": .string(company.id), "period_start": .string(start), "period_end": .string(end),
            "currency": .string(currency.code), "net_income": money(flow.netIncome),
            "operating_activities": Self.json(flow.operating, currency), "investing_activities": Self.json(flow.investing, currency),
            "financing_activities": Self.json(flow.financing, currency),
            "net_cash_from_operating_activities": money(flow.operating.total),
            "net_cash_from_investing_activities": money(flow.investing.total),
            "net_cash_from_financing_activities": money(flow.financing.total),
            "net_change_in_cash": money(flow.netChange), "cash_beginning": money(flow.cashBeginning),
            "cash_ending": money(flow.cashEnding), "is_reconciled": .bool(flow.isReconciled),
        ])
    }

    func receivablesAging(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        try await aging(.received, request, caller)
    }

    func payablesAging(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        try await aging(.made, request, caller)
    }

    /// AR or AP aging as of a date (default today): open amounts per contact by days past due.
    private func aging(_ side: PaymentSide, _ request: Request, _ caller: AccountingContext) async throws -> Response {
        let asOf = try AccountingInput.optionalDate(request.queryParameters["as_of_date"], field: "as_of_date")
            ?? AccountingInput.day(of: clock.now())
        let company = try await scope.resolve(request, caller)
        let currency = company.baseCurrency
        let (rows, totals) = ReportBuilder.aging(try await store.openDocuments(side, companyId: company.id, mode: caller.mode,
                                                                               asOf: asOf, base: currency))
        func buckets(_ amounts: [Int64]) -> [String: JSONValue] {
            var object: [String: JSONValue] = [:]
            for (name, amount) in zip(ReportBuilder.agingBuckets, amounts) { object[name] = .string(DecimalAmount.format(amount, currency)) }
            object["total"] = .string(DecimalAmount.format(amounts.reduce(0, +), currency))
            return object
        }
        let items: [JSONValue] = rows.map { row in
            var object = buckets(row.buckets)
            object[side.contactField] = .string(row.contactId)
            object["display_name"] = .string(row.contactName)
            return .object(object)
        }
        return .json([
            "company_id": .string(company.id), "as_of_date": .string(asOf), "currency": .string(currency.code),
            "buckets": .array(ReportBuilder.agingBuckets.map { .string($0) }), "rows": .array(items), "totals": .object(buckets(totals)),
        ])
    }

    // MARK: JSON

    /// `period_start` and `period_end`, both required, in order.
    private static func period(_ query: [String: String]) throws(AtlasError) -> (start: String, end: String) {
        let start = try AccountingInput.requiredDate(query["period_start"], field: "period_start")
        let end = try AccountingInput.requiredDate(query["period_end"], field: "period_end")
        guard start <= end else { throw AtlasError.invalidField("period_end", "period_end must not be before period_start") }
        return (start, end)
    }

    private func comparisonRange(_ query: [String: String]) throws(AtlasError) -> (from: String, to: String)? {
        guard try Self.flag(query["include_comparison"], field: "include_comparison") else { return nil }
        let from = try AccountingInput.requiredDate(query["comparison_start"], field: "comparison_start")
        let to = try AccountingInput.requiredDate(query["comparison_end"], field: "comparison_end")
        guard from <= to else { throw AtlasError.invalidField("comparison_end", "comparison_end must not be before comparison_start") }
        return (from: from, to: to)
    }

    static func flag(_ text: String?, field: String) throws(AtlasError) -> Bool {
        try optionalFlag(text, field: field) ?? false
    }

    /// `true`/`false` in a query string; nil when absent.
    static func optionalFlag(_ text: String?, field: String) throws(AtlasError) -> Bool? {
        guard let text else { return nil }
        guard let value = Bool(text.lowercased()) else { throw AtlasError.invalidField(field, "\(field) must be true or false") }
        return value
    }

    static func json(_ report: ReportBuilder.ProfitAndLoss, _ currency: Currency) -> [String: JSONValue] {
        [
            "revenue": json(report.revenue, currency), "cost_of_goods_sold": json(report.costOfGoodsSold, currency),
            "gross_profit": .string(DecimalAmount.format(report.grossProfit, currency)),
            "operating_expenses": json(report.operatingExpenses, currency),
            "operating_income": .string(DecimalAmount.format(report.operatingIncome, currency)),
            "other_income_expense": json(report.otherIncomeExpense, currency),
            "net_income": .string(DecimalAmount.format(report.netIncome, currency)),
        ]
    }

    static func json(_ sheet: ReportBuilder.BalanceSheet, _ currency: Currency) -> [String: JSONValue] {
        [
            "assets": json(sheet.assets, currency), "liabilities": json(sheet.liabilities, currency),
            "equity": json(sheet.equity, currency), "total_assets": .string(DecimalAmount.format(sheet.assets.total, currency)),
            "total_liabilities": .string(DecimalAmount.format(sheet.liabilities.total, currency)),
            "total_equity": .string(DecimalAmount.format(sheet.equity.total, currency)),
            "total_liabilities_and_equity": .string(DecimalAmount.format(sheet.totalLiabilitiesAndEquity, currency)),
            "is_balanced": .bool(sheet.isBalanced),
        ]
    }

    static func json(_ category: ReportBuilder.Category, _ currency: Currency) -> JSONValue {
        let sections: [JSONValue] = category.sections.map { section in
            let items: [JSONValue] = section.items.map { item in
                ["account_id": item.account.accountId.isEmpty ? .null : .string(item.account.accountId),
                 "account_number": item.account.number.isEmpty ? .null : .string(item.account.number),
                 "account_name": .string(item.account.name), "amount": .string(DecimalAmount.format(item.amount, currency))]
            }
            return ["name": .string(section.name), "items": .array(items),
                    "subtotal": .string(DecimalAmount.format(section.subtotal, currency))]
        }
        return ["name": .string(category.name), "sections": .array(sections),
                "total": .string(DecimalAmount.format(category.total, currency))]
    }
}
