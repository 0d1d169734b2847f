import AccessContract
import Kernel

/// The accounting surface under `/api/v1` (spec B.1), beside the cash-rounding API on the same prefix.
/// WHY one route group per collection: the router answers an unknown path in the format of the group
/// whose prefix matches longest, so `/api/v1/companies/...` must be a group of its own to answer in the
/// accounting format (`{detail, status_code, errors}`) rather than the rounding one. Collections not
/// served yet keep their prefix (a group without routes) so their 404s are accounting errors too.
struct AccountingRoutes: Sendable {
    static let prefix = "/api/v1"
    static let servedCollections = ["companies", "accounts", "journal-entries", "reports", "periods", "customers", "vendors",
                                    "invoices", "payments", "payments-made", "bills", "currencies", "exchange-rates"]
    static let pendingCollections: [String] = []

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

        typealias Declared = AccountingRouteSchemas
        var companies = group("companies")
        companies.get("/", middleware: read, schema: Declared.listCompanies, company.list)
        companies.post("/", middleware: administration, schema: Declared.createCompany, company.create)
        companies.get("/:id", middleware: read, schema: Declared.getCompany, company.get)
        companies.patch("/:id", middleware: administration, schema: Declared.updateCompany, company.update)
        companies.delete("/:id", middleware: administration, schema: Declared.deleteCompany, company.delete)

        var accounts = group("accounts")
        accounts.get("/", middleware: read, schema: Declared.listAccounts, account.list)
        accounts.post("/", middleware: accounting, schema: Declared.createAccount, account.create)
        accounts.get("/hierarchy", middleware: read, schema: Declared.hierarchy, account.hierarchy)
        accounts.post("/setup-coa", middleware: accounting, schema: Declared.setupChart, account.setupChart)
        accounts.get("/:id", middleware: read, schema: Declared.getAccount, account.get)
        accounts.patch("/:id", middleware: accounting, schema: Declared.updateAccount, account.update)
        accounts.delete("/:id", middleware: accounting, schema: Declared.deleteAccount, account.delete)
        accounts.get("/:id/balance", middleware: read, schema: Declared.accountBalance, account.balance)

        var entries = group("journal-entries")
        entries.get("/", middleware: read, schema: Declared.listEntries, journal.list)
        entries.post("/", middleware: bookkeeping, schema: Declared.createEntry, journal.create)
        entries.get("/:id", middleware: read, schema: Declared.getEntry, journal.get)
        entries.patch("/:id", middleware: bookkeeping, schema: Declared.updateEntry, journal.update)
        entries.delete("/:id", middleware: bookkeeping, schema: Declared.deleteEntry, journal.delete)
        entries.post("/:id/post", middleware: accounting, schema: Declared.postEntry, journal.post)
        entries.post("/:id/void", middleware: accounting, schema: Declared.voidEntry, journal.void)
        entries.post("/:id/correct", middleware: accounting, schema: Declared.correctEntry, journal.correct)

        var statements = group("reports")
        statements.get("/trial-balance", middleware: reports, schema: Declared.trialBalance, report.trialBalance)
        statements.get("/profit-loss", middleware: reports, schema: Declared.profitAndLoss, report.profitAndLoss)
        statements.get("/balance-sheet", middleware: reports, schema: Declared.balanceSheet, report.balanceSheet)
        statements.get("/cash-flow", middleware: reports, schema: Declared.cashFlow, report.cashFlow)
        statements.get("/ar-aging", middleware: reports, schema: Declared.aging(.received), report.receivablesAging)
        statements.get("/ap-aging", middleware: reports, schema: Declared.aging(.made), report.payablesAging)
        let pendingHolds = PendingHoldsReport(database: services.database, scope: scope, clock: clock)
        statements.get("/pending-holds", middleware: reports, schema: Declared.pendingHolds, pendingHolds.report)

        var periods = group("periods")
        periods.get("/", middleware: read, schema: Declared.listPeriods, period.list)
        periods.post("/close", middleware: accounting, schema: Declared.closePeriod, period.close)
        periods.get("/verify-chain", middleware: reports, schema: Declared.verifyChain, period.verify)
        periods.post("/:id/reopen", middleware: accounting, schema: Declared.reopenPeriod, period.reopen)

        let contacts = [ContactKind.customer, .vendor].map { kind in
            let handlers = ContactHandlers(kind: kind, store: ContactStore(database: services.database), accounts: accountStore,
                                           scope: scope, clock: clock)
            let declared = AccountingRouteSchemas.Contacts(kind: kind)
            var contacts = group(kind == .customer ? "customers" : "vendors")
            contacts.get("/", middleware: read, schema: declared.list, handlers.list)
            contacts.post("/", middleware: bookkeeping, schema: declared.create, handlers.create)
            contacts.get("/:id", middleware: read, schema: declared.get, handlers.get)
            contacts.patch("/:id", middleware: bookkeeping, schema: declared.update, handlers.update)
            contacts.post("/:id/deactivate", middleware: bookkeeping, schema: declared.setActive(false), handlers.setActive(false))
            contacts.post("/:id/activate", middleware: bookkeeping, schema: declared.setActive(true), handlers.setActive(true))
            contacts.get("/:id/balance", middleware: read, schema: declared.balance, handlers.balance)
            return contacts
        }

        let invoice = InvoiceHandlers(store: InvoiceStore(database: services.database, eventLog: services.eventLog),
                                      contacts: ContactStore(database: services.database), accounts: accountStore, scope: scope,
                                      clock: clock)
        var invoices = group("invoices")
        invoices.get("/", middleware: read, schema: Declared.listInvoices, invoice.list)
        invoices.post("/", middleware: bookkeeping, schema: Declared.createInvoice, invoice.create)
        invoices.get("/:id", middleware: read, schema: Declared.getInvoice, invoice.get)
        invoices.patch("/:id", middleware: bookkeeping, schema: Declared.updateInvoice, invoice.update)
        invoices.post("/:id/send", middleware: bookkeeping, schema: Declared.sendInvoice, invoice.send)
        invoices.post("/:id/mark-viewed", middleware: bookkeeping, schema: Declared.markInvoiceViewed, invoice.markViewed)
        invoices.post("/:id/void", middleware: bookkeeping, schema: Declared.voidInvoice, invoice.void)

        let payments = [PaymentSide.received, .made].map { side in
            let handlers = PaymentHandlers(store: PaymentStore(side: side, database: services.database, eventLog: services.eventLog),
                                           contacts: ContactStore(database: services.database), accounts: accountStore, scope: scope,
                                           clock: clock)
            let declared = AccountingRouteSchemas.Payments(side: side)
            var payments = group(side.contactKind == .customer ? "payments" : "payments-made")
            payments.get("/", middleware: read, schema: declared.list, handlers.list)
            payments.post("/", middleware: bookkeeping, schema: declared.create, handlers.create)
            payments.get("/:id", middleware: read, schema: declared.get, handlers.get)
            payments.post("/:id/apply", middleware: bookkeeping, schema: declared.apply, handlers.apply)
            payments.post("/:id/auto-apply", middleware: bookkeeping, schema: declared.autoApply, handlers.autoApply)
            payments.delete("/:id/applications/:application_id", middleware: bookkeeping, schema: declared.unapply,
                            handlers.unapply)
            payments.post("/:id/void", middleware: bookkeeping, schema: declared.void, handlers.void)
            return payments
        }

        let bill = BillHandlers(store: BillStore(database: services.database, eventLog: services.eventLog),
                                contacts: ContactStore(database: services.database), accounts: accountStore, scope: scope, clock: clock)
        var bills = group("bills")
        bills.get("/", middleware: read, schema: Declared.listBills, bill.list)
        bills.post("/", middleware: bookkeeping, schema: Declared.createBill, bill.create)
        bills.get("/:id", middleware: read, schema: Declared.getBill, bill.get)
        bills.patch("/:id", middleware: bookkeeping, schema: Declared.updateBill, bill.update)
        bills.post("/:id/approve", middleware: bookkeeping, schema: Declared.approveBill, bill.approve)
        bills.post("/:id/void", middleware: bookkeeping, schema: Declared.voidBill, bill.void)

        let money = CurrencyHandlers(database: services.database, scope: scope, clock: clock)
        var currencies = group("currencies")
        currencies.get("/", middleware: read, schema: Declared.listCurrencies, money.list)
        currencies.get("/convert", middleware: read, schema: Declared.convertCurrency, money.convert)
        currencies.get("/:code", middleware: read, schema: Declared.getCurrency, money.get)
        var rates = group("exchange-rates")
        rates.get("/", middleware: read, schema: Declared.listRates, money.listRates)
        rates.post("/", middleware: bookkeeping, schema: Declared.createRate, money.createRate)
        rates.get("/:id", middleware: read, schema: Declared.getRate, money.getRate)
        rates.delete("/:id", middleware: bookkeeping, schema: Declared.deleteRate, money.deleteRate)

        // Collections not served yet: a prefix without routes, so their unknown paths answer in this format.
        let pending = Self.pendingCollections.map(group)
        return [companies, accounts, entries, statements, periods, invoices, bills, currencies, rates] + payments + contacts + pending
    }

    private func group(_ collection: String) -> RouteGroup {
        var group = RouteGroup(prefix: Self.prefix + "/" + collection, surface: .accounting)
        group.schemas = AccountingRouteSchemas.components.merging(AccountingRouteSchemas.contactComponents) { first, _ in first }
        return group
    }
}
