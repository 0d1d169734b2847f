import Foundation
import Kernel

/// One account of a company's chart (one ledger mode).
struct Account: Sendable, Hashable {
    static let types = ["asset", "liability", "equity", "revenue", "expense"]
    static let normalBalances = ["debit", "credit"]

    var id: String
    var companyId: String
    var number: String
    var name: String
    var type: String
    var normalBalance: String
    var subtype: String?
    var description: String?
    var parentId: String?
    var isSystem: Bool
    var isActive: Bool
    var createdAt: Date
    var updatedAt: Date

    static let columns: StaticString = """
        id, company_id, account_number, name, account_type, normal_balance, account_subtype, description, parent_id,
        is_system, is_active, created_at, updated_at
        """

    init(row: Row) throws {
        id = try row.decode("id")
        companyId = try row.decode("company_id")
        number = try row.decode("account_number")
        name = try row.decode("name")
        type = try row.decode("account_type")
        normalBalance = try row.decode("normal_balance")
        subtype = try row.decode("account_subtype")
        description = try row.decode("description")
        parentId = try row.decode("parent_id")
        isSystem = try row.decode("is_system")
        isActive = try row.decode("is_active")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
    }

    var json: JSONValue {
        ["id": .string(id), "company_id": .string(companyId), "account_number": .string(number), "name": .string(name),
         "account_type": .string(type), "normal_balance": .string(normalBalance), "account_subtype": .text(subtype),
         "description": .text(description), "parent_id": .text(parentId), "is_system": .bool(isSystem),
         "is_active": .bool(isActive), "created_at": .timestamp(createdAt), "updated_at": .timestamp(updatedAt)]
    }
}

/// `accounting_accounts` and the per-day balances read for one account.
struct AccountStore: Sendable {
    let database: any Database

    struct Filter: Sendable {
        var type: String?
        var isActive: Bool?
    }

    func list(companyId: String, mode: Mode, filter: Filter, page: AccountingPage) async throws -> (items: [Account], total: Int) {
        let rows = try await database.query("""
            SELECT \(literal: Account.columns), count(*) OVER () AS total FROM accounting_accounts
            WHERE company_id = \(companyId) AND mode = \(mode)\(and: "account_type = ?", filter.type)\
            \(and: "is_active = ?", filter.isActive)
            ORDER BY account_number LIMIT \(page.limit) OFFSET \(page.offset)
            """)
        if let first = rows.first { return (try rows.map(Account.init(row:)), try first.decode("total")) }
        let total: Int = try await database.queryFirst("""
            SELECT count(*) AS n FROM accounting_accounts WHERE company_id = \(companyId) AND mode = \(mode)\
            \(and: "account_type = ?", filter.type)\(and: "is_active = ?", filter.isActive)
            """)?.decode("n") ?? 0
        return ([], total)
    }

    func all(companyId: String, mode: Mode) async throws -> [Account] {
        try await database.query("""
            SELECT \(literal: Account.columns) FROM accounting_accounts WHERE company_id = \(companyId) AND mode = \(mode)
            ORDER BY account_number
            """).map(Account.init(row:))
    }

    /// The account if it belongs to a company of `organizationId` (live or the caller's mode), else nil.
    func find(_ id: String, organizationId: String, mode: Mode) async throws -> (account: Account, company: Company)? {
        guard let row = try await database.queryFirst("""
            SELECT a.id, a.company_id, a.account_number, a.name, a.account_type, a.normal_balance, a.account_subtype,
                   a.description, a.parent_id, a.is_system, a.is_active, a.created_at, a.updated_at
            FROM accounting_accounts a JOIN accounting_companies c ON c.id = a.company_id
            WHERE a.id = \(id) AND a.mode = \(mode) AND c.org_id = \(organizationId)
            """) else { return nil }
        let account = try Account(row: row)
        guard let company = try await CompanyStore(database: database).find(account.companyId, organizationId: organizationId) else {
            return nil
        }
        return (account, company)
    }

    func find(_ id: String, companyId: String, mode: Mode) async throws -> Account? {
        try await database.queryFirst("""
            SELECT \(literal: Account.columns) FROM accounting_accounts
            WHERE id = \(id) AND company_id = \(companyId) AND mode = \(mode)
            """).map(Account.init(row:))
    }

    struct NewAccount: Sendable {
        var number: String
        var name: String
        var type: String
        var normalBalance: String
        var subtype: String?
        var description: String?
        var parentId: String?
        var isSystem: Bool
    }

    enum CreateOutcome { case created(Account), duplicateNumber }

    func create(_ new: NewAccount, companyId: String, mode: Mode, now: Date) async throws -> CreateOutcome {
        let row = try await database.queryFirst("""
            INSERT INTO accounting_accounts (id, company_id, mode, account_number, name, account_type, normal_balance,
                account_subtype, description, parent_id, is_system, is_active, created_at, updated_at)
            VALUES (\(AccountingInput.newId()), \(companyId), \(mode), \(new.number), \(new.name), \(new.type),
                \(new.normalBalance), \(new.subtype), \(new.description), \(new.parentId), \(new.isSystem), true, \(now), \(now))
            ON CONFLICT (company_id, mode, account_number) DO NOTHING
            RETURNING \(literal: Account.columns)
            """)
        guard let row else { return .duplicateNumber }
        return .created(try Account(row: row))
    }

    func update(_ account: Account, mode: Mode, now: Date) async throws -> Account? {
        try await database.queryFirst("""
            UPDATE accounting_accounts SET name = \(account.name), description = \(account.description),
                account_subtype = \(account.subtype), updated_at = \(now)
            WHERE id = \(account.id) AND company_id = \(account.companyId) AND mode = \(mode)
            RETURNING \(literal: Account.columns)
            """).map(Account.init(row:))
    }

    func deactivate(_ account: Account, mode: Mode, now: Date) async throws {
        try await database.execute("""
            UPDATE accounting_accounts SET is_active = false, updated_at = \(now)
            WHERE id = \(account.id) AND company_id = \(account.companyId) AND mode = \(mode)
            """)
    }

    /// Debit and credit totals of the account's posted lines up to `asOf` (all days when nil), from the day balances.
    func totals(_ accountId: String, companyId: String, mode: Mode, asOf: String?) async throws -> (debit: Int64, credit: Int64) {
        let row = try await database.queryFirst("""
            SELECT coalesce(sum(debit_minor), 0)::bigint AS debit, coalesce(sum(credit_minor), 0)::bigint AS credit
            FROM accounting_account_days
            WHERE company_id = \(companyId) AND mode = \(mode) AND account_id = \(accountId)\(and: "day <= ?::date", asOf)
            """)
        return (try row?.decode("debit") ?? 0, try row?.decode("credit") ?? 0)
    }

    enum SetupOutcome { case created(Int), alreadySetUp }

    /// Writes the template's accounts and default posting rules into both ledgers (live and test) of the
    /// company, once: a company that has a chart already is refused.
    func setUpChart(companyId: String, standard: String, industry: String, accounts: [ChartTemplates.TemplateAccount],
                    now: Date) async throws -> SetupOutcome {
        try await database.transaction { tx in
            guard let company = try await tx.queryFirst("""
                SELECT coa_template FROM accounting_companies WHERE id = \(companyId) FOR UPDATE
                """) else { return SetupOutcome.alreadySetUp }
            let template: String? = try company.decode("coa_template")
            let existing = try await tx.queryFirst("SELECT 1 AS one FROM accounting_accounts WHERE company_id = \(companyId) LIMIT 1")
            guard template == nil, existing == nil else { return SetupOutcome.alreadySetUp }
            for mode in [Mode.live, Mode.test] {
                for account in accounts {
                    try await tx.execute("""
                        INSERT INTO accounting_accounts (id, company_id, mode, account_number, name, account_type,
                            normal_balance, account_subtype, description, parent_id, is_system, is_active, created_at, updated_at)
                        VALUES (\(AccountingInput.newId()), \(companyId), \(mode), \(account.number), \(account.name),
                            \(account.type), \(account.normalBalance), \(account.subtype), NULL, NULL, \(account.isSystem), true,
                            \(now), \(now))
                        """)
                }
                for (rule, number) in ChartTemplates.postingRules.sorted(by: { $0.key < $1.key }) {
                    try await tx.execute("""
                        INSERT INTO accounting_posting_rules (company_id, mode, rule_key, account_number)
                        VALUES (\(companyId), \(mode), \(rule), \(number))
                        """)
                }
            }
            try await tx.execute("""
                UPDATE accounting_companies SET coa_template = \(standard), coa_industry = \(industry), updated_at = \(now)
                WHERE id = \(companyId)
                """)
            return SetupOutcome.created(accounts.count)
        }
    }
}
