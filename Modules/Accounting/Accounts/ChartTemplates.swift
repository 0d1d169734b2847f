/// Chart-of-accounts templates for `POST /accounts/setup-coa` (spec B.1): a standard (us_gaap, ifrs,
/// uk_gaap) × an industry (general, retail, services, manufacturing). Data, not code: a template is the
/// shared base accounts renamed by the standard, plus the industry's extra accounts. The posting rules
/// (which account an automatic posting uses) default from `postingRules`; docs/accounting.md lists them.
enum ChartTemplates {
    struct TemplateAccount: Sendable, Hashable {
        let number: String
        let name: String
        let type: String
        let normalBalance: String
        let subtype: String
        /// System accounts are used by automatic postings and cannot be deleted (spec B.2 rule 23).
        let isSystem: Bool
    }

    static let standards = ["us_gaap", "ifrs", "uk_gaap"]
    static let industries = ["general", "retail", "services", "manufacturing"]

    private static func account(_ number: String, _ name: String, _ type: String, _ subtype: String,
                                system: Bool = false) -> TemplateAccount {
        let normal = (type == "asset" || type == "expense") ? "debit" : "credit"
        return TemplateAccount(number: number, name: name, type: type, normalBalance: normal, subtype: subtype, isSystem: system)
    }

    static let base: [TemplateAccount] = [
        account("1000", "Cash", "asset", "cash", system: true),
        account("1010", "Checking Account", "asset", "bank"),
        account("1100", "Accounts Receivable", "asset", "accounts_receivable", system: true),
        account("1150", "Card Clearing", "asset", "current_asset", system: true),
        account("1160", "Due from Acquirer", "asset", "current_asset", system: true),
        account("1170", "Stored Value Receivable", "asset", "current_asset", system: true),
        account("1500", "Equipment", "asset", "fixed_asset"),
        account("2000", "Accounts Payable", "liability", "accounts_payable", system: true),
        account("2100", "Accrued Liabilities", "liability", "current_liability"),
        account("2150", "Tips Payable", "liability", "current_liability", system: true),
        account("2200", "Sales Tax Payable", "liability", "current_liability", system: true),
        account("2300", "Stored Value Liability", "liability", "current_liability", system: true),
        account("3000", "Owner's Equity", "equity", "owners_equity"),
        account("3900", "Retained Earnings", "equity", "retained_earnings", system: true),
        account("4000", "Sales Revenue", "revenue", "operating_revenue", system: true),
        account("4100", "Service Revenue", "revenue", "operating_revenue"),
        TemplateAccount(number: "4900", name: "Sales Returns and Allowances", type: "revenue", normalBalance: "debit",
                        subtype: "contra_revenue", isSystem: true),
        account("5000", "Cost of Goods Sold", "expense", "cost_of_goods_sold"),
        account("6000", "Rent Expense", "expense", "operating_expense"),
        account("6100", "Utilities Expense", "expense", "operating_expense"),
        account("6200", "Salaries and Wages", "expense", "operating_expense"),
        account("6500", "Card Processing Fees", "expense", "operating_expense"),
        account("7900", "Cash Rounding", "expense", "other_expense", system: true),
        account("7950", "Foreign Exchange Gain/Loss", "expense", "other_expense", system: true),
        account("7960", "Unrealised Foreign Exchange Gain/Loss", "expense", "other_expense", system: true),
    ]

    static let industryAccounts: [String: [TemplateAccount]] = [
        "general": [],
        "retail": [account("1200", "Inventory", "asset", "inventory"), account("5100", "Freight In", "expense", "cost_of_goods_sold")],
        "services": [account("4200", "Consulting Revenue", "revenue", "operating_revenue"),
                     account("1300", "Unbilled Receivables", "asset", "current_asset")],
        "manufacturing": [account("1210", "Raw Materials", "asset", "inventory"), account("1220", "Work in Process", "asset", "inventory"),
                          account("1230", "Finished Goods", "asset", "inventory")],
    ]

    /// Names a standard spells differently from US GAAP, by account number.
    static let renames: [String: [String: String]] = [
        "us_gaap": [:],
        "ifrs": ["1100": "Trade Receivables", "2000": "Trade Payables", "3000": "Share Capital", "4000": "Revenue",
                 "1200": "Inventories", "1500": "Property, Plant and Equipment"],
        "uk_gaap": ["1100": "Trade Debtors", "2000": "Trade Creditors", "3000": "Called Up Share Capital", "4000": "Turnover",
                    "3900": "Profit and Loss Account", "1200": "Stock", "2200": "VAT Payable"],
    ]

    /// The template's accounts in number order; nil for an unknown standard or industry.
    static func accounts(standard: String, industry: String) -> [TemplateAccount]? {
        guard let names = renames[standard], let extra = industryAccounts[industry] else { return nil }
        return (base + extra).map { account in
            TemplateAccount(number: account.number, name: names[account.number] ?? account.name, type: account.type,
                            normalBalance: account.normalBalance, subtype: account.subtype, isSystem: account.isSystem)
        }.sorted { $0.number < $1.number }
    }

    /// Default posting rules: rule key → account number (docs/accounting.md, "Automatic posting").
    static let postingRules: [String: String] = [
        PostingRule.cash.rawValue: "1000", PostingRule.cardClearing.rawValue: "1150",
        PostingRule.salesRevenue.rawValue: "4000", PostingRule.tipsPayable.rawValue: "2150",
        PostingRule.salesReturns.rawValue: "4900", PostingRule.cashRounding.rawValue: "7900",
        PostingRule.storedValueLiability.rawValue: "2300", PostingRule.accountsReceivable.rawValue: "1100",
        PostingRule.accountsPayable.rawValue: "2000", PostingRule.salesTaxPayable.rawValue: "2200",
        PostingRule.retainedEarnings.rawValue: "3900", PostingRule.acquirerReceivable.rawValue: "1160",
        PostingRule.storedValueReceivable.rawValue: "1170", PostingRule.storedValueFunding.rawValue: "1000",
        PostingRule.fxGainLoss.rawValue: "7950", PostingRule.fxUnrealisedGainLoss.rawValue: "7960",
    ]
}

/// What an automatic posting debits or credits, named by role; each company maps a role to one of its accounts.
enum PostingRule: String, Sendable, Hashable, CaseIterable {
    case cash
    case cardClearing = "card_clearing"
    /// What the acquirer owes once a close has settled card payments (card clearing moves here).
    case acquirerReceivable = "acquirer_receivable"
    case salesRevenue = "sales_revenue"
    case tipsPayable = "tips_payable"
    case salesReturns = "sales_returns"
    case cashRounding = "cash_rounding"
    case storedValueLiability = "stored_value_liability"
    /// What members owe for offline debits their balance did not cover (a card below zero).
    case storedValueReceivable = "stored_value_receivable"
    /// Where the money taken for a stored-value load goes (the load event names no tender).
    case storedValueFunding = "stored_value_funding"
    case accountsReceivable = "accounts_receivable"
    case accountsPayable = "accounts_payable"
    case salesTaxPayable = "sales_tax_payable"
    case retainedEarnings = "retained_earnings"
    /// Realised exchange gains and losses: a foreign-currency payment settling a document booked at another rate.
    case fxGainLoss = "fx_gain_loss"
    /// Unrealised exchange gains and losses: open foreign-currency documents revalued when a period closes.
    case fxUnrealisedGainLoss = "fx_unrealised_gain_loss"
}
