import Foundation
import Kernel

/// One company: the books of one organization's business, and of one merchant when linked (its payments
/// post here). Base currency is fixed once set (spec B.2 rule 26).
struct Company: Sendable, Hashable {
    static let addressFields = ["address_line1", "address_line2", "city", "state", "postal_code", "country"]

    var id: String
    var organizationId: String
    var merchantId: String?
    var name: String
    var baseCurrency: Currency
    var fiscalYearStartDate: String
    var accountingMethod: String
    var address: [String: String]
    var chartTemplate: String?
    var chartIndustry: String?
    var createdAt: Date
    var updatedAt: Date

    static let columns: StaticString = """
        id, org_id, merchant_id, name, base_currency, fiscal_year_start_date::text AS fiscal_year_start_date,
        accounting_method, address::text AS address, coa_template, coa_industry, created_at, updated_at
        """

    init(row: Row) throws {
        guard let currency = Currency(code: try row.decode("base_currency", as: String.self)) else {
            throw DatabaseError(kind: .decoding, message: "unknown base currency in accounting_companies")
        }
        id = try row.decode("id")
        organizationId = try row.decode("org_id")
        merchantId = try row.decode("merchant_id")
        name = try row.decode("name")
        baseCurrency = currency
        fiscalYearStartDate = try row.decode("fiscal_year_start_date")
        accountingMethod = try row.decode("accounting_method")
        let addressText: String = try row.decode("address")
        if case .object(let object)? = try? JSONCoding.decoder().decode(JSONValue.self, from: Data(addressText.utf8)) {
            address = object.compactMapValues(\.stringValue)
        } else {
            address = [:]
        }
        chartTemplate = try row.decode("coa_template")
        chartIndustry = try row.decode("coa_industry")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
    }

    /// The fiscal year (the calendar year it starts in) that contains `today` ("YYYY-MM-DD").
    func fiscalYear(today: String) -> Int {
        let year = Int(today.prefix(4)) ?? 0
        return today.dropFirst(5) >= fiscalYearStartDate.dropFirst(5) ? year : year - 1
    }

    func json(today: String) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "org_id": .string(organizationId), "merchant_id": .text(merchantId), "name": .string(name),
            "base_currency": .string(baseCurrency.code), "fiscal_year_start_date": .string(fiscalYearStartDate),
            "fiscal_year": .int(Int64(fiscalYear(today: today))), "accounting_method": .string(accountingMethod),
            "is_active": true, "coa_template": .text(chartTemplate), "coa_industry": .text(chartIndustry),
            "created_at": .timestamp(createdAt), "updated_at": .timestamp(updatedAt),
        ]
        for field in Self.addressFields { object[field] = .text(address[field]) }
        return .object(object)
    }
}

/// `accounting_companies`: reads always scoped by the caller's organization, so another organization's
/// company is simply not found (404, spec B.2 rule 28).
struct CompanyStore: Sendable {
    let database: any Database

    func find(_ id: String, organizationId: String, executor: (any SQLExecutor)? = nil) async throws -> Company? {
        try await (executor ?? database).queryFirst("""
            SELECT \(literal: Company.columns) FROM accounting_companies WHERE id = \(id) AND org_id = \(organizationId)
            """).map(Company.init(row:))
    }

    /// The caller's current company: its home merchant's company, else the organization's oldest.
    func current(organizationId: String, merchantId: String) async throws -> Company? {
        try await database.queryFirst("""
            SELECT \(literal: Company.columns) FROM accounting_companies WHERE org_id = \(organizationId)
            ORDER BY (merchant_id IS NOT DISTINCT FROM \(merchantId)) DESC, created_at, id LIMIT 1
            """).map(Company.init(row:))
    }

    func list(organizationId: String, page: AccountingPage) async throws -> (items: [Company], total: Int) {
        let rows = try await database.query("""
            SELECT \(literal: Company.columns), count(*) OVER () AS total FROM accounting_companies
            WHERE org_id = \(organizationId) ORDER BY created_at, id LIMIT \(page.limit) OFFSET \(page.offset)
            """)
        if let first = rows.first { return (try rows.map(Company.init(row:)), try first.decode("total")) }
        return ([], try await count(organizationId: organizationId))
    }

    private func count(organizationId: String) async throws -> Int {
        try await database.queryFirst("SELECT count(*) AS n FROM accounting_companies WHERE org_id = \(organizationId)")?
            .decode("n") ?? 0
    }

    /// Inserts the company, linked to `merchantId` when that merchant has no company yet (one company per
    /// merchant: the one its payments post into), otherwise unlinked.
    func create(id: String, organizationId: String, merchantId: String, name: String, baseCurrency: Currency,
                fiscalYearStartDate: String, accountingMethod: String, address: [String: String], now: Date) async throws -> Company {
        let addressJSON = String(decoding: JSONValue.object(address.mapValues { .string($0) }).serialized(), as: UTF8.self)
        let row = try await database.queryFirst("""
            INSERT INTO accounting_companies (id, org_id, merchant_id, mode, name, base_currency, fiscal_year_start_date,
                accounting_method, address, created_at, updated_at)
            SELECT \(id), \(organizationId),
                CASE WHEN EXISTS (SELECT 1 FROM accounting_companies WHERE merchant_id = \(merchantId)) THEN NULL
                     ELSE \(merchantId) END,
                'live', \(name), \(baseCurrency.code), \(fiscalYearStartDate)::date, \(accountingMethod),
                \(SQLValue.json(addressJSON)), \(now), \(now)
            ON CONFLICT (merchant_id) WHERE merchant_id IS NOT NULL DO NOTHING
            RETURNING \(literal: Company.columns)
            """)
        if let row { return try Company(row: row) }
        // A concurrent create linked the merchant first: this company stays unlinked.
        let unlinked = try await database.queryFirst("""
            INSERT INTO accounting_companies (id, org_id, merchant_id, mode, name, base_currency, fiscal_year_start_date,
                accounting_method, address, created_at, updated_at)
            VALUES (\(id), \(organizationId), NULL, 'live', \(name), \(baseCurrency.code), \(fiscalYearStartDate)::date,
                \(accountingMethod), \(SQLValue.json(addressJSON)), \(now), \(now))
            RETURNING \(literal: Company.columns)
            """)
        guard let unlinked else { throw DatabaseError(kind: .query, message: "company insert returned no row") }
        return try Company(row: unlinked)
    }

    func update(_ company: Company, now: Date) async throws -> Company? {
        let addressJSON = String(decoding: JSONValue.object(company.address.mapValues { .string($0) }).serialized(), as: UTF8.self)
        return try await database.queryFirst("""
            UPDATE accounting_companies SET name = \(company.name), fiscal_year_start_date = \(company.fiscalYearStartDate)::date,
                accounting_method = \(company.accountingMethod), address = \(SQLValue.json(addressJSON)), updated_at = \(now)
            WHERE id = \(company.id) AND org_id = \(company.organizationId)
            RETURNING \(literal: Company.columns)
            """).map(Company.init(row:))
    }

    enum DeleteOutcome { case deleted, notFound, hasPostedEntries }

    /// Hard delete (spec [S]) of a company whose ledgers hold no posted entries: drafts, accounts, rules go with it.
    /// A company with posted entries keeps them (they are immutable in the database): 409.
    func delete(_ id: String, organizationId: String) async throws -> DeleteOutcome {
        try await database.transaction { tx in
            guard try await tx.queryFirst("""
                SELECT id FROM accounting_companies WHERE id = \(id) AND org_id = \(organizationId) FOR UPDATE
                """) != nil else { return DeleteOutcome.notFound }
            if try await tx.queryFirst("""
                SELECT 1 AS one FROM accounting_journal_entries WHERE company_id = \(id) AND status <> 'draft' LIMIT 1
                """) != nil { return DeleteOutcome.hasPostedEntries }
            try await tx.execute("DELETE FROM accounting_journal_lines WHERE company_id = \(id)")
            try await tx.execute("DELETE FROM accounting_journal_entries WHERE company_id = \(id)")
            try await tx.execute("DELETE FROM accounting_account_days WHERE company_id = \(id)")
            try await tx.execute("DELETE FROM accounting_posting_rules WHERE company_id = \(id)")
            try await tx.execute("DELETE FROM accounting_holds WHERE company_id = \(id)")
            try await tx.execute("DELETE FROM accounting_sequences WHERE company_id = \(id)")
            try await tx.execute("UPDATE accounting_accounts SET parent_id = NULL WHERE company_id = \(id)")
            try await tx.execute("DELETE FROM accounting_accounts WHERE company_id = \(id)")
            try await tx.execute("DELETE FROM accounting_companies WHERE id = \(id)")
            return DeleteOutcome.deleted
        }
    }
}
