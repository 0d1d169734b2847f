public import AccessContract
public import AcquirerContract
import CashRoundingContract
import IdempotencyContract
public import Kernel

/// Transactions' switches, read from the environment by the bootstrap (the module reads none itself).
public struct TransactionsSettings: Sendable, Hashable {
    /// Group commit of concurrent sales (see `SaleCommitter`); `ATLAS_TXN_BATCHING=0` turns it off to measure it.
    public var batching: Bool
    /// Sales write their Idempotency-Key in their own transaction (see `TransactionService.mayDeferClaim`);
    /// `ATLAS_IDEMPOTENCY_DEFERRED=0` claims first instead (to measure it).
    public var deferredIdempotencyClaims: Bool

    public init(batching: Bool = true, deferredIdempotencyClaims: Bool = true) {
        self.batching = batching
        self.deferredIdempotencyClaims = deferredIdempotencyClaims
    }
}

/// The Transactions feature module: `POST /v1/transaction/sale` for all seven types, lookups, lists,
/// aborts, stored-value loads, and `/functions/v1` payment sessions. Depends on Kernel and contracts only;
/// cash is rounded through `ModuleServices.cashRounding`, cards go through a `CardAcquirer`.
public struct TransactionsModule: FeatureModule, AccessDeclaring {
    let settings: TransactionsSettings
    /// Card acquirer for live mode; nil means live card tenders answer 503 ACQUIRER_NOT_CONFIGURED.
    let liveAcquirer: (any CardAcquirer)?
    /// Test mode always uses this deterministic simulator.
    let simulator: any CardAcquirer

    public init(settings: TransactionsSettings = TransactionsSettings(), liveAcquirer: (any CardAcquirer)? = nil,
                simulator: any CardAcquirer = SimulatedAcquirer()) {
        self.settings = settings
        self.liveAcquirer = liveAcquirer
        self.simulator = simulator
    }

    public var name: String { "transactions" }
    public var migrations: [Migration] { TransactionSchema.migrations }

    public var accessDeclarations: [AccessDeclaration] {
        [AccessDeclaration(surface: .commerce, scopes: ["transactions:read", "transactions:write"])]
    }

    /// Settings access for the admin CLI and tests (supported currencies, ceiling, time zone, location).
    public static func settingsStore(database: any Database) -> MerchantSettingsStore {
        MerchantSettingsStore(database: database)
    }

    /// The acquirers sales use, for the modules that settle what they authorized (Reconciliation).
    public func provideContracts(_ platform: PlatformServices, into contracts: inout ContractRegistry) {
        contracts.register(ModeAcquirers(simulator: simulator, live: liveAcquirer) as any AcquirerDirectory,
                           as: (any AcquirerDirectory).self)
    }

    /// Writes `settlement_id` when Reconciliation settles a transaction, so "no void after settlement" holds.
    public func eventConsumers(services: ModuleServices) -> [EventConsumer] {
        [SettledTransactionsConsumer(database: services.database).consumer]
    }

    public func routeGroups(services: ModuleServices) -> [RouteGroup] {
        let service = TransactionService(services: services, simulator: simulator, liveAcquirer: liveAcquirer,
                                         batching: settings.batching)
        return [commerceGroup(services, service), paymentsGroup(services, service)]
    }

    private func commerceGroup(_ services: ModuleServices, _ service: TransactionService) -> RouteGroup {
        let write = services.accessGuard.require(AccessRequirement(surface: .commerce, scopes: ["transactions:write"]))
        let read = services.accessGuard.require(AccessRequirement(surface: .commerce, scopes: ["transactions:read"]))
        let idempotency = services.idempotencyMiddleware
        var group = RouteGroup(prefix: "/v1", surface: .commerce)
        group.schemas = TransactionsRouteSchemas.components
        let saleIdempotency = services.idempotencyMiddleware(deferredClaim: settings.deferredIdempotencyClaims)
        group.post("/transaction/sale", middleware: [write, saleIdempotency], schema: TransactionsRouteSchemas.sale) { request, context in
            try await service.sale(request, context: context)
        }
        group.get("/transaction/:id", middleware: [read], schema: TransactionsRouteSchemas.get) { request, context in
            try await service.get(request.pathParameter("id") ?? "", tenant: try context.requireTenant())
        }
        group.post("/transaction/:id/abort", middleware: [write, idempotency], schema: TransactionsRouteSchemas.abort) { request, context in
            try await service.abort(request.pathParameter("id") ?? "", tenant: try context.requireTenant())
        }
        group.get("/transactions", middleware: [read], schema: TransactionsRouteSchemas.list) { request, context in
            try await service.list(request, tenant: try context.requireTenant())
        }
        group.post("/stored-value/load", middleware: [write, idempotency], schema: TransactionsRouteSchemas.load) { request, context in
            try await service.load(request, context: context)
        }
        return group
    }

    private func paymentsGroup(_ services: ModuleServices, _ service: TransactionService) -> RouteGroup {
        let access = services.accessGuard.require(AccessRequirement(surface: .payments))
        let sessions = PaymentSessions(services: services)
        var group = RouteGroup(prefix: "/functions/v1", surface: .payments)
        group.schemas = TransactionsRouteSchemas.paymentComponents
        group.post("/create-session", middleware: [access, services.idempotencyMiddleware],
                   schema: TransactionsRouteSchemas.createSession) { request, context in
            try await sessions.create(request, context: context)
        }
        group.get("/sessions/:id", middleware: [access], schema: TransactionsRouteSchemas.getSession) { request, context in
            try await sessions.get(request.pathParameter("id") ?? "", tenant: try context.requireTenant())
        }
        group.patch("/sessions/:id", middleware: [access], schema: TransactionsRouteSchemas.updateSession) { request, context in
            try await sessions.update(request.pathParameter("id") ?? "", request: request, context: context)
        }
        return group
    }
}
