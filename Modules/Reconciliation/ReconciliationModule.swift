public import AccessContract
import IdempotencyContract
public import Kernel
import StoredValueContract

/// Reconciliation's settings, given by the bootstrap (the module reads no environment itself).
public struct ReconciliationSettings: Sendable, Hashable {
    /// The currency of totals and of an empty close when a request names none and the merchant has had no
    /// activity yet (the most recently active currency wins otherwise).
    public var defaultCurrency: String
    /// A settlement's `terminalId` when the closing credential is not bound to a terminal: the close then
    /// covers the whole merchant.
    static let merchantWideTerminalId = "ALL"

    public init(defaultCurrency: String = "NZD") {
        precondition(Currency(code: defaultCurrency) != nil, "the default currency is a known ISO 4217 code")
        self.defaultCurrency = defaultCurrency
    }
}

/// The Reconciliation feature module: running totals kept from the event log, close day, settlements and
/// their export (commerce-api §3.4). Reacts to Transactions only through `transaction.approved` events and
/// settles through the acquirer seam (`AcquirerContract`); Transactions learns of settlements through
/// `transaction.settled` events. Also the offline stored-value backend under `/api` (cards, reconcile
/// batches, terminal reports; docs/reconciliation.md), behind Auth's device guard.
public struct ReconciliationModule: FeatureModule, AccessDeclaring {
    let settings: ReconciliationSettings

    public init(settings: ReconciliationSettings = ReconciliationSettings()) {
        self.settings = settings
    }

    public var name: String { "reconciliation" }
    public var migrations: [Migration] { ReconciliationSchema.migrations }

    /// Declared ahead of the routes so Commerce keys can already be granted them.
    public var accessDeclarations: [AccessDeclaration] {
        [AccessDeclaration(surface: .commerce, scopes: ["reconciliation:read", "reconciliation:write", "settlements:read"])]
    }

    /// The card registry's ledger: the one stored-value balance the `/v1` tender uses too (issue 12 part 3).
    public func provideContracts(_ platform: PlatformServices, into contracts: inout ContractRegistry) {
        contracts.register(CardLedger(database: platform.database, eventLog: platform.eventLog, clock: platform.clock),
                           as: (any StoredValueLedger).self)
    }

    public func routeGroups(services: ModuleServices) -> [RouteGroup] {
        let routes = ReconciliationRoutes(
            services: services, close: CloseDayService(services: services, settings: settings),
            settlements: SettlementHandlers(store: SettlementStore(database: services.database),
                                            limits: SettlementHandlers.Limits()),
            totals: TotalsHandlers(store: TotalsStore(database: services.database), settings: settings),
            matching: MatchingService(services: services))
        let storedValue = StoredValueRoutes(
            services: services, cards: CardHandlers(services: services, settings: settings),
            batches: BatchHandlers(services: services), reports: ReportHandlers(services: services))
        return [routes.group(), storedValue.group()]
    }

    public func eventConsumers(services: ModuleServices) -> [EventConsumer] {
        [TotalsConsumer(database: services.database).consumer]
    }

    /// Appends the `transaction.settled` events a close still owes (a crash after its commit), at startup and
    /// every `SettledEventsAppender.Limits.sweepIntervalSeconds`.
    public func backgroundServices(services: ModuleServices) -> [any BackgroundService] {
        let settledEvents = SettledEventsAppender(services: services)
        return [BackgroundTask(name: "reconciliation.settled-events") { await settledEvents.sweepLoop() }]
    }

    public var adminCommands: [AdminCommand] {
        [AdminCommand(name: "reconciliation-check", usage: "admin reconciliation-check [--merchant ID]") { arguments, services in
            let mismatches = try await TotalsStore(database: services.database).mismatches(merchantId: arguments.value("merchant"))
            guard mismatches.isEmpty else {
                for mismatch in mismatches { print("mismatch: \(mismatch)") }
                throw ReconciliationCheckFailed(count: mismatches.count)
            }
            print("reconciliation totals: consistent with the open items")
        },
         AdminCommand(name: "reconciliation-match",
                      usage: "admin reconciliation-match --merchant ID --settlement ID [--mode test|live]") { arguments, services in
             let tenant = TenantContext(merchantId: try arguments.required("merchant"), mode: try arguments.mode(default: .test))
             let report = try await MatchingService(services: services).match(try arguments.required("settlement"), tenant: tenant)
             print(report.json.serializedText)
         },
         AdminCommand(name: "settlement-retry",
                      usage: "admin settlement-retry --merchant ID --settlement ID [--mode test|live]") { [settings] arguments, services in
             let tenant = TenantContext(merchantId: try arguments.required("merchant"), mode: try arguments.mode(default: .test))
             let settlement = try await CloseDayService(services: services, settings: settings)
                 .retry(try arguments.required("settlement"), tenant: tenant)
             print(settlement.json.serializedText)
         }] + CardAdministration.commands
    }
}

/// `atlas admin reconciliation-check` found running totals that differ from their recomputation.
struct ReconciliationCheckFailed: Error, CustomStringConvertible {
    let count: Int
    var description: String { "\(count) running total(s) differ from the recomputation over the open items" }
}
