import AccessContract
import Kernel

/// `CompanyDirectory` over `accounting_companies` (registered by `AccountingModule.provideContracts`).
struct AccountingCompanyDirectory: CompanyDirectory {
    let database: any Database
    let clock: any WallClock

    func companies(organizationId: String, limit: Int) async throws -> [CompanySummary] {
        let rows = try await database.query("""
            SELECT id, name, base_currency, merchant_id FROM accounting_companies WHERE org_id = \(organizationId)
            ORDER BY created_at, id LIMIT \(Int64(max(0, limit)))
            """)
        return try rows.map(Self.summary)
    }

    func createDefaultCompany(organizationId: String, merchantId: String, name: String, baseCurrency: String,
                              in executor: any SQLExecutor) async throws -> CompanySummary {
        precondition(Currency(code: baseCurrency) != nil, "the caller validated the base currency")
        let now = clock.now()
        let year = AccountingInput.day(of: now).prefix(4)
        guard let row = try await executor.queryFirst("""
            INSERT INTO accounting_companies (id, org_id, merchant_id, mode, name, base_currency, fiscal_year_start_date,
                accounting_method, address, created_at, updated_at)
            VALUES (\(AccountingInput.newId()), \(organizationId), \(merchantId), 'live', \(name), \(baseCurrency),
                \(String(year) + "-01-01")::date, 'accrual', '{}'::jsonb, \(now), \(now))
            RETURNING id, name, base_currency, merchant_id
            """) else { throw DatabaseError(kind: .query, message: "company insert returned no row") }
        return try Self.summary(row)
    }

    private static func summary(_ row: Row) throws -> CompanySummary {
        CompanySummary(id: try row.decode("id"), name: try row.decode("name"), baseCurrency: try row.decode("base_currency"),
                       merchantId: try row.decode("merchant_id"))
    }
}
