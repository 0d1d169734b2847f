public import Kernel

/// A company (a set of books) as other modules may know it.
public struct CompanySummary: Sendable, Hashable {
    public let id: String
    public let name: String
    public let baseCurrency: String
    /// The merchant whose payments post into it; nil for a company without one.
    public let merchantId: String?

    public init(id: String, name: String, baseCurrency: String, merchantId: String?) {
        self.id = id
        self.name = name
        self.baseCurrency = baseCurrency
        self.merchantId = merchantId
    }
}

/// The companies of an organization, as the module that keeps the books (Accounting) tells Auth. WHY a contract:
/// `GET /api/v1/auth/me` lists the caller's companies and `POST /api/v1/auth/signup` creates the new
/// organization's default company in the same database transaction as the organization and its owner (as the
/// stored-value ledger writes in a sale's transaction), without Auth importing Accounting or reading its tables.
public protocol CompanyDirectory: Sendable {
    /// The organization's companies, oldest first, at most `limit`.
    func companies(organizationId: String, limit: Int) async throws -> [CompanySummary]
    /// Creates the default company of a new organization, linked to `merchantId`, in the caller's transaction:
    /// base currency `baseCurrency`, fiscal year starting on 1 January, accrual accounting, no chart yet.
    func createDefaultCompany(organizationId: String, merchantId: String, name: String, baseCurrency: String,
                              in executor: any SQLExecutor) async throws -> CompanySummary
}

extension ModuleServices {
    /// The organizations' companies (provided by Accounting); nil when no module provides them.
    public var companyDirectory: (any CompanyDirectory)? { contracts.resolve((any CompanyDirectory).self) }
}
