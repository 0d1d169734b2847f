import AccessContract
import Kernel

/// The accounting surface under `/api/v1` (spec B.1), beside the cash-rounding API on the same prefix.
/// WHY one route group per collection: the router answers an unknown path in the format of the group
/// whose prefix matches longest, so `/api/v1/companies/...` must be a group of its own to answer in the
/// accounting format (`{detail, status_code, errors}`) rather than the rounding one. Collections not
/// served yet keep their prefix (signed-in callers get 404) so their errors are accounting errors too.
struct AccountingRoutes: Sendable {
    static let prefix = "/api/v1"
    static let servedCollections = ["companies", "accounts", "journal-entries", "reports", "periods"]
    static let pendingCollections = ["customers", "vendors", "invoices", "bills", "payments", "payments-made",
                                     "currencies", "exchange-rates"]

    let services: ModuleServices

    func groups() -> [RouteGroup] {
        let guardFor = { (roles: Set<String>) -> [any Middleware] in
            [services.accessGuard.require(AccessRequirement(surface: .accounting, roles: roles))]
        }
        let read = guardFor(AccountingRoles.read)
        let reports = guardFor(AccountingRoles.reports)
        let bookkeeping = guardFor(AccountingRoles.bookkeeping)
        let accounting = guardFor(AccountingRoles.accounting)
        let administration = guardFor(AccountingRoles.administration)
        let clock = services.clock
        let companyStore = CompanyStore(database: services.database)
        let scope = CompanyScope(store: companyStore)
        let accountStore = AccountStore(database: services.database)
        let company = CompanyHandlers(store: companyStore, clock: clock)
        let account = AccountHandlers(store: accountStore, scope: scope, clock: clock)
        let journal = JournalEntryHandlers(store: JournalStore(database: services.database), accounts: accountStore,
                                           scope: scope, clock: clock)
        let report = ReportHandlers(store: ReportStore(database: services.database), scope: scope, clock: clock)
        let period = PeriodHandlers(store: PeriodStore(database: services.database, crypto: services.crypto,
                                                       eventLog: services.eventLog), scope: scope, clock: clock)

        var companies = group("companies")
        companies.get("/", middleware: read, company.list)
        companies.post("/", middleware: administration, company.create)
        companies.get("/:id", middleware: read, company.get)
        companies.patch("/:id", middleware: administration, company.update)
        companies.delete("/:id", middleware: administration, company.delete)

        var accounts = group("accounts")
        accounts.get("/", middleware: read, account.list)
        accounts.post("/", middleware: accounting, account.create)
        accounts.get("/hierarchy", middleware: read, account.hierarchy)
        accounts.post("/setup-coa", middleware: accounting, account.setupChart)
        accounts.get("/:id", middleware: read, account.get)
        accounts.patch("/:id", middleware: accounting, account.update)
        accounts.delete("/:id", middleware: accounting, account.delete)
        accounts.get("/:id/balance", middleware: read, account.balance)

        var entries = group("journal-entries")
        entries.get("/", middleware: read, journal.list)
        entries.post("/", middleware: bookkeeping, journal.create)
        entries.get("/:id", middleware: read, journal.get)
        entries.patch("/:id", middleware: bookkeeping, journal.update)
        entries.delete("/:id", middleware: bookkeeping, journal.delete)
        entries.post("/:id/post", middleware: accounting, journal.post)
        entries.post("/:id/void", middleware: accounting, journal.void)
        entries.post("/:id/correct", middleware: accounting, journal.correct)

        var statements = group("reports")
        statements.get("/trial-balance", middleware: reports, report.trialBalance)
        statements.get("/profit-loss", middleware: reports, report.profitAndLoss)
        statements.get("/balance-sheet", middleware: reports, report.balanceSheet)

        var periods = group("periods")
        periods.get("/", middleware: read, period.list)
        periods.post("/close", middleware: accounting, period.close)
        periods.get("/verify-chain", middleware: reports, period.verify)
        periods.post("/:id/reopen", middleware: accounting, period.reopen)

        let pending = Self.pendingCollections.map { name in
            var pending = group(name)
            let notYet: Handler = { _, _ in throw AtlasError.notFound("/\(name) is not available on this server yet") }
            pending.get("/", middleware: read, notYet)
            pending.post("/", middleware: read, notYet)
            return pending
        }
        return [companies, accounts, entries, statements, periods] + pending
    }

    private func group(_ collection: String) -> RouteGroup {
        RouteGroup(prefix: Self.prefix + "/" + collection, errorRenderer: SurfaceErrors.renderer(for: .accounting))
    }
}
