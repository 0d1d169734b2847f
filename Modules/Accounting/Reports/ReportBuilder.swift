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
