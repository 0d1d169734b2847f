public import AccessContract
public import Kernel

/// The Accounting feature module: the double-entry ledger of each company (one per merchant) with its
/// invariants in the database, the `/api/v1` accounting API (companies, chart of accounts, journal
/// entries, reports), and the automatic posting of every payment by consuming the event log
/// (docs/accounting.md).
public struct AccountingModule: FeatureModule, AccessDeclaring {
    public init() {}

    public var name: String { AccountingSchema.namespace }

    public var migrations: [Migration] {
        AccountingSchema.migrations + ForeignCurrencySchema.migrations
            + [LedgerInsertGuards.migration, PostedEventIndex.migration, LedgerBalanceGuards.migration,
               LedgerLineReferences.migration, PostingStamp.migration]
    }

    /// The user roles of the accounting surface (spec B.2 rule 27).
    public var accessDeclarations: [AccessDeclaration] {
        [AccessDeclaration(surface: .accounting, roles: AccountingRoles.all)]
    }

    /// The organizations' companies for Auth (`/auth/me`, signup), without Auth importing this module.
    public func provideContracts(_ platform: PlatformServices, into contracts: inout ContractRegistry) {
        contracts.register(AccountingCompanyDirectory(database: platform.database, clock: platform.clock),
                           as: (any CompanyDirectory).self)
    }

    public func routeGroups(services: ModuleServices) -> [RouteGroup] {
        AccountingRoutes(services: services).groups()
    }

    public func eventConsumers(services: ModuleServices) -> [EventConsumer] {
        [LedgerPostingConsumer(database: services.database, clock: services.clock, logger: services.logger).consumer]
    }

    public var adminCommands: [AdminCommand] { [BalanceCheck.adminCommand, PeriodHandlers.adminCommand] }

    /// The path prefixes of the accounting surface's collections (`/api/v1/companies`, …), each its own route
    /// group; the rest of `/api/v1` belongs to the cash-rounding API.
    public static var pathPrefixes: [String] {
        (AccountingRoutes.servedCollections + AccountingRoutes.pendingCollections).map { AccountingRoutes.prefix + "/" + $0 }
    }
}
