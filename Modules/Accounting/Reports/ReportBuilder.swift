import Kernel

/// The reports as pure functions over per-account debit and credit totals (read from the day balances),
/// so their arithmetic is tested without a database. Amounts are integer minor units of the base currency.
enum ReportBuilder {
    struct AccountTotals: Sendable, Hashable {
        var accountId: String
        var number: String
        var name: String
        var type: String
        var normalBalance: String
        var subtype: String?
        var debit: Int64
        var credit: Int64

        /// The balance on the side that increases the account's type (credits for revenue, liabilities and
        /// equity; debits for assets and expenses), so a contra account shows as negative.
        var natural: Int64 { (type == "asset" || type == "expense") ? debit - credit : credit - debit }
    }

    struct Item: Sendable, Hashable {
        var account: AccountTotals
        var amount: Int64
    }

    struct Section: Sendable, Hashable {
        var name: String
        var items: [Item]
        var subtotal: Int64 { items.reduce(0) { $0 + $1.amount } }
    }

    struct Category: Sendable, Hashable {
        var name: String
        var sections: [Section]
        var total: Int64 { sections.reduce(0) { $0 + $1.subtotal } }
    }

    // MARK: Trial balance

    struct TrialBalanceRow: Sendable, Hashable {
        var account: AccountTotals
        var debit: Int64
        var credit: Int64
    }

    static func trialBalance(_ accounts: [AccountTotals]) -> (rows: [TrialBalanceRow], debits: Int64, credits: Int64) {
        var rows: [TrialBalanceRow] = []
        var debits: Int64 = 0
        var credits: Int64 = 0
        for account in accounts where account.debit != account.credit {
            let net = account.debit - account.credit
            let row = TrialBalanceRow(account: account, debit: max(net, 0), credit: max(-net, 0))
            debits += row.debit
            credits += row.credit
            rows.append(row)
        }
        return (rows, debits, credits)
    }

    // MARK: Profit and loss

    struct ProfitAndLoss: Sendable, Hashable {
        var revenue: Category
        var costOfGoodsSold: Category
        var operatingExpenses: Category
        var otherIncomeExpense: Category
        var grossProfit: Int64 { revenue.total - costOfGoodsSold.total }
        var operatingIncome: Int64 { grossProfit - operatingExpenses.total }
        var netIncome: Int64 { operatingIncome + otherIncomeExpense.total }
    }

    static func profitAndLoss(_ accounts: [AccountTotals]) -> ProfitAndLoss {
        let active = accounts.filter { $0.debit != 0 || $0.credit != 0 }
        let revenue = active.filter { $0.type == "revenue" && $0.subtype != "other_income" }
        let cogs = active.filter { $0.type == "expense" && $0.subtype == "cost_of_goods_sold" }
        let operating = active.filter { $0.type == "expense" && $0.subtype != "cost_of_goods_sold" && $0.subtype != "other_expense" }
        // Other income adds to net income, other expense subtracts: both as signed amounts in one category.
        let otherItems = active.filter { ($0.type == "revenue" && $0.subtype == "other_income")
                                         || ($0.type == "expense" && $0.subtype == "other_expense") }
            .map { Item(account: $0, amount: $0.type == "revenue" ? $0.natural : -$0.natural) }
        return ProfitAndLoss(revenue: category("Revenue", revenue), costOfGoodsSold: category("Cost of Goods Sold", cogs),
                             operatingExpenses: category("Operating Expenses", operating),
                             otherIncomeExpense: Category(name: "Other Income and Expense", sections: sections(otherItems)))
    }

    // MARK: Balance sheet

    struct BalanceSheet: Sendable, Hashable {
        var assets: Category
        var liabilities: Category
        var equity: Category
        var totalLiabilitiesAndEquity: Int64 { liabilities.total + equity.total }
        var isBalanced: Bool { assets.total == totalLiabilitiesAndEquity }
    }

    /// Equity includes the earnings not yet closed into retained earnings (revenue − expenses to date), as a
    /// computed line, so the sheet balances before any period close.
    static func balanceSheet(_ accounts: [AccountTotals]) -> BalanceSheet {
        let active = accounts.filter { $0.debit != 0 || $0.credit != 0 }
        var equity = category("Equity", active.filter { $0.type == "equity" })
        let earnings = active.filter { $0.type == "revenue" }.reduce(0) { $0 + $1.natural }
            - active.filter { $0.type == "expense" }.reduce(0) { $0 + $1.natural }
        if earnings != 0 {
            let computed = AccountTotals(accountId: "", number: "", name: "Current Earnings (unclosed)", type: "equity",
                                         normalBalance: "credit", subtype: "current_earnings", debit: 0, credit: 0)
            equity.sections.append(Section(name: "Current Earnings", items: [Item(account: computed, amount: earnings)]))
        }
        return BalanceSheet(assets: category("Assets", active.filter { $0.type == "asset" }),
                            liabilities: category("Liabilities", active.filter { $0.type == "liability" }), equity: equity)
    }

    // MARK: Helpers

    static func category(_ name: String, _ accounts: [AccountTotals]) -> Category {
        Category(name: name, sections: sections(accounts.map { Item(account: $0, amount: $0.natural) }))
    }

    /// Items grouped by account subtype, sections in the order their first account appears (number order).
    static func sections(_ items: [Item]) -> [Section] {
        var order: [String] = []
        var grouped: [String: [Item]] = [:]
        for item in items {
            let key = item.account.subtype ?? "other"
            if grouped[key] == nil { order.append(key) }
            grouped[key, default: []].append(item)
        }
        return order.map { Section(name: title($0), items: grouped[$0] ?? []) }
    }

    /// "operating_expense" → "Operating Expense".
    static func title(_ subtype: String) -> String {
        subtype.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " ")
    }
}

// MARK: Cash flow (indirect method)

extension ReportBuilder {
    /// Asset subtypes counted as cash and cash equivalents.
    static let cashSubtypes: Set<String> = ["cash", "bank"]
    /// Balance-sheet subtypes whose changes are investing activities; other equity and non-current liabilities are
    /// financing; everything else on the balance sheet is working capital (operating).
    static let investingSubtypes: Set<String> = ["fixed_asset", "long_term_investment", "intangible_asset"]
    static let financingLiabilitySubtypes: Set<String> = ["long_term_liability", "loan", "notes_payable"]

    struct CashFlow: Sendable, Hashable {
        var netIncome: Int64
        var operating: Category
        var investing: Category
        var financing: Category
        var cashBeginning: Int64
        var cashEnding: Int64
        var netChange: Int64 { operating.total + investing.total + financing.total }
        /// beginning + net change = ending; true by construction when the ledger balances (every non-cash account's
        /// credit − debit sums to the cash accounts' debit − credit).
        var isReconciled: Bool { cashBeginning + netChange == cashEnding }
    }

    static func isCash(_ account: AccountTotals) -> Bool {
        account.type == "asset" && cashSubtypes.contains(account.subtype ?? "")
    }

    /// `period`: each account's totals inside the period (closing entries left out, so revenue and expenses show the
    /// period's activity and the close's transfer to retained earnings cancels out); `before`: totals up to the day
    /// before the period, for the opening cash. A non-cash balance-sheet account's effect on cash is credit − debit.
    static func cashFlow(period: [AccountTotals], before: [AccountTotals]) -> CashFlow {
        let active = period.filter { $0.debit != 0 || $0.credit != 0 }
        let netIncome = active.filter { $0.type == "revenue" || $0.type == "expense" }.reduce(0) { $0 + $1.credit - $1.debit }
        let balanceSheet = active.filter { ["asset", "liability", "equity"].contains($0.type) && !isCash($0) }
        func effect(_ accounts: [AccountTotals]) -> [Item] { accounts.map { Item(account: $0, amount: $0.credit - $0.debit) } }
        let investing = balanceSheet.filter { $0.type == "asset" && investingSubtypes.contains($0.subtype ?? "") }
        let financing = balanceSheet.filter {
            $0.type == "equity" || ($0.type == "liability" && financingLiabilitySubtypes.contains($0.subtype ?? ""))
        }
        let financed = Set(investing.map(\.accountId)).union(financing.map(\.accountId))
        let workingCapital = balanceSheet.filter { !financed.contains($0.accountId) }
        let income = AccountTotals(accountId: "", number: "", name: "Net Income", type: "equity", normalBalance: "credit",
                                   subtype: "net_income", debit: 0, credit: 0)
        let operating = Category(name: "Operating Activities",
                                 sections: [Section(name: "Net Income", items: [Item(account: income, amount: netIncome)])]
                                     + sections(effect(workingCapital)))
        let opening = before.filter(isCash).reduce(0) { $0 + $1.debit - $1.credit }
        let change = active.filter(isCash).reduce(0) { $0 + $1.debit - $1.credit }
        return CashFlow(netIncome: netIncome, operating: operating,
                        investing: Category(name: "Investing Activities", sections: sections(effect(investing))),
                        financing: Category(name: "Financing Activities", sections: sections(effect(financing))),
                        cashBeginning: opening, cashEnding: opening + change)
    }
}

// MARK: Aging

extension ReportBuilder {
    /// Days past due → bucket: not yet due, 1–30, 31–60, 61–90, over 90 (the usual aging buckets; the spec names the
    /// reports only).
    static let agingBuckets = ["current", "days_1_30", "days_31_60", "days_61_90", "over_90"]

    static func agingBucket(daysPastDue: Int) -> Int {
        switch daysPastDue {
        case ...0: 0
        case 1...30: 1
        case 31...60: 2
        case 61...90: 3
        default: 4
        }
    }

    struct OpenDocument: Sendable, Hashable {
        var contactId: String
        var contactName: String
        var daysPastDue: Int
        var amountDueMinor: Int64
    }

    struct AgingRow: Sendable, Hashable {
        var contactId: String
        var contactName: String
        var buckets: [Int64]
        var total: Int64 { buckets.reduce(0, +) }
    }

    /// One row per contact (by name, then id) with its open amounts per bucket, and the column totals.
    static func aging(_ documents: [OpenDocument]) -> (rows: [AgingRow], totals: [Int64]) {
        var rows: [String: AgingRow] = [:]
        var totals = [Int64](repeating: 0, count: agingBuckets.count)
        for document in documents where document.amountDueMinor > 0 {
            let bucket = agingBucket(daysPastDue: document.daysPastDue)
            rows[document.contactId, default: AgingRow(contactId: document.contactId, contactName: document.contactName,
                                                       buckets: [Int64](repeating: 0, count: agingBuckets.count))]
                .buckets[bucket] += document.amountDueMinor
            totals[bucket] += document.amountDueMinor
        }
        let sorted = rows.values.sorted { ($0.contactName, $0.contactId) < ($1.contactName, $1.contactId) }
        return (sorted, totals)
    }
}
