public import AccessContract
public import AcquirerContract
import CashRoundingContract
import IdempotencyContract
import StoredValueContract
public import Kernel

/// Transactions' switches, read from the environment by the bootstrap (the module reads none itself).
public struct TransactionsSettings: Sendable, Hashable {
    /// Group commit of concurrent sales (see `SaleCommitter`); `ATLAS_TXN_BATCHING=0` turns it off to measure it.
    public var batching: Bool
    /// Sales write their Idempotency-Key in their own transaction (see `TransactionService.mayDeferClaim`);
    /// `ATLAS_IDEMPOTENCY_DEFERRED=0` claims first instead (to measure it).
    public var deferredIdempotencyClaims: Bool
    /// The hosted checkout page a checkout session's `url` points to (its id appended);
    /// `ATLAS_CHECKOUT_PAGE_BASE_URL`. Atlas serves the API only, not the page.
    public var checkoutPageBaseURL: String
    /// The device channel's and the `/v1/device` routes' bounds (tests shorten the timeouts).
    var terminalLimits = TerminalLimits()
    /// Between two `heartbeat` events on a `/v1/session` connection (tests shorten it).
    public var sessionHeartbeatIntervalSeconds: Double
    /// The pre-authorization window and its expiry sweep; `ATLAS_PRE_AUTH_EXPIRY_SECONDS` sets the window (7 days).
    public var preAuthExpiry = PreAuthExpiryLimits()
    /// How long a `/functions/v1` authorization (manual capture, session `processing`) may wait for its capture; past
    /// it capture is refused and the session sweep cancels it (`PaymentSessionExpiry`).
    /// `ATLAS_PAYMENT_AUTHORIZATION_EXPIRY_SECONDS` sets it (7 days, like the pre-authorization window).
    public var paymentAuthorizationWindowSeconds = PreAuthExpiryLimits.windowSecondsDefault
    /// Actions one `/v1/session` may start per second, sustained (`SessionLimits.actionsPerSecond`).
    public var sessionActionsPerSecond: Double = 10
    /// Actions one `/v1/session` may start at once before the per-second rate applies (`SessionLimits.actionBurstMax`).
    public var sessionActionBurstMax = 20

    public init(batching: Bool = true, deferredIdempotencyClaims: Bool = true,
                checkoutPageBaseURL: String = "https://checkout.atlas.co/c/", sessionHeartbeatIntervalSeconds: Double = 15) {
        self.batching = batching
        self.deferredIdempotencyClaims = deferredIdempotencyClaims
        self.checkoutPageBaseURL = checkoutPageBaseURL
        self.sessionHeartbeatIntervalSeconds = sessionHeartbeatIntervalSeconds
    }
}

/// The Transactions feature module: `POST /v1/transaction/sale` for all seven types, lookups, lists,
/// aborts, stored-value loads, `/functions/v1` payment sessions, and terminals as devices (`/v1/device/*` and
/// the device channel, docs/terminals.md). Depends on Kernel and contracts only;
/// cash is rounded through `ModuleServices.cashRounding`, cards go through a `CardAcquirer`.
public struct TransactionsModule: FeatureModule, AccessDeclaring {
    let settings: TransactionsSettings
    /// Card acquirer for live mode; nil means live card tenders answer 503 ACQUIRER_NOT_CONFIGURED.
    let liveAcquirer: (any CardAcquirer)?
    /// Test mode always uses this deterministic simulator.
    let simulator: any CardAcquirer
    /// The device channels connected to this instance: the routes use them, the presence lease renews their rows.
    /// One module value is one instance (the bootstrap builds it once per process).
    let terminalChannels = TerminalChannels()
    /// This instance's side of the terminal command relay (its id, the relayed commands it waits for).
    let relayMailbox: RelayMailbox

    public init(settings: TransactionsSettings = TransactionsSettings(), liveAcquirer: (any CardAcquirer)? = nil,
                simulator: any CardAcquirer = SimulatedAcquirer()) {
        self.settings = settings
        relayMailbox = RelayMailbox(limits: settings.terminalLimits)
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

    /// Granular transactions nobody completes expire on their own (`GranularFinisher.sweepLoop`), so do
    /// pre-authorizations nobody completes or voids within their window (`PreAuthExpirySweeper.sweepLoop`) and unpaid
    /// `/functions/v1` sessions (`PaymentSessionExpiry`); the terminal registry's presence leases are renewed and
    /// swept (`TerminalPresence`).
    public func backgroundServices(services: ModuleServices) -> [any BackgroundService] {
        let finisher = GranularFinisher(services: services, store: TransactionStore(database: services.database))
        let preAuths = PreAuthExpirySweeper(services: services, limits: settings.preAuthExpiry)
        let expiry = sessionExpiry(services: services)
        let presence = terminalPresence(services: services)
        return [BackgroundTask(name: "transactions.granular-expiry") { await finisher.sweepLoop() },
                BackgroundTask(name: "transactions.pre-auth-expiry") { await preAuths.sweepLoop() },
                BackgroundTask(name: "transactions.session-expiry") { await expiry.sweepLoop() },
                BackgroundTask(name: "transactions.terminal-presence") { await presence.loop() }]
    }

    func sessionExpiry(services: ModuleServices) -> PaymentSessionExpiry {
        var limits = PaymentSessionExpiry.Limits()
        limits.authorizationWindowSeconds = settings.paymentAuthorizationWindowSeconds
        return PaymentSessionExpiry(services: services, checkoutPageBaseURL: settings.checkoutPageBaseURL, limits: limits)
    }

    func terminalPresence(services: ModuleServices) -> TerminalPresence {
        TerminalPresence(channels: terminalChannels, store: TerminalStore(database: services.database, eventLog: services.eventLog),
                         limits: settings.terminalLimits, services: services)
    }

    func terminalRelay(services: ModuleServices) -> TerminalRelay {
        TerminalRelay(mailbox: relayMailbox, channels: terminalChannels,
                      store: TerminalStore(database: services.database, eventLog: services.eventLog),
                      database: services.database, limits: settings.terminalLimits, clock: services.clock,
                      logger: services.logger)
    }

    /// `stored-value-migrate-legacy`: moves balances left in the legacy table into the card registry (one
    /// balance per card, issue 12 part 3; docs/reconciliation.md).
    public var adminCommands: [AdminCommand] {
        [AdminCommand(name: "stored-value-migrate-legacy",
                      usage: "admin stored-value-migrate-legacy [--merchant ID]") { arguments, services in
            guard let ledger = services.storedValue else {
                throw CommandUsageError("no card registry is wired: the legacy table stays the stored-value balance")
            }
            let report = try await LegacyStoredValueMigration(database: services.database, ledger: ledger)
                .run(merchantId: arguments.value("merchant"))
            print(String(decoding: report.json.serialized(), as: UTF8.self))
        }]
    }

    public func routeGroups(services: ModuleServices) -> [RouteGroup] {
        let relay = terminalRelay(services: services)
        let service = TransactionService(services: services, simulator: simulator, liveAcquirer: liveAcquirer,
                                         batching: settings.batching, preAuthExpiry: settings.preAuthExpiry,
                                         liveCardReading: LiveCardReading(channels: terminalChannels, relay: relay,
                                                                          waitMilliseconds: settings.terminalLimits.cardReadTimeoutMilliseconds))
        let payments = PaymentsRoutes(services: services, acquirers: ModeAcquirers(simulator: simulator, live: liveAcquirer),
                                      authorizationWindowSeconds: settings.paymentAuthorizationWindowSeconds,
                                      checkoutPageBaseURL: settings.checkoutPageBaseURL)
        let terminals = Terminals(services: services, limits: settings.terminalLimits, channels: terminalChannels, relay: relay)
        return [commerceGroup(services, service, terminals.service), payments.group, terminals.routes.group()]
    }

    private func commerceGroup(_ services: ModuleServices, _ service: TransactionService,
                               _ terminals: TerminalsService) -> RouteGroup {
        let write = services.accessGuard.require(AccessRequirement(surface: .commerce, scopes: ["transactions:write"]))
        let read = services.accessGuard.require(AccessRequirement(surface: .commerce, scopes: ["transactions:read"]))
        let idempotency = services.idempotencyMiddleware
        var group = RouteGroup(prefix: "/v1", surface: .commerce)
        group.schemas = TransactionsRouteSchemas.components
        group.schemas.merge(GranularRouteSchemas.components) { first, _ in first }
        let saleIdempotency = services.idempotencyMiddleware(deferredClaim: settings.deferredIdempotencyClaims)
        group.post("/transaction/sale", middleware: [write, saleIdempotency], schema: TransactionsRouteSchemas.sale) { (request, context: AuthenticatedContext) in
            try await service.sale(request, context: context)
        }
        group.post("/transaction/initiate", middleware: [write, idempotency], schema: GranularRouteSchemas.initiate) { (request, context: AuthenticatedContext) in
            try await service.initiate(request, context: context)
        }
        group.post("/transaction/complete", middleware: [write, idempotency], schema: GranularRouteSchemas.complete) { (request, context: AuthenticatedContext) in
            try await service.complete(request, context: context)
        }
        var sessionLimits = SessionLimits(heartbeatIntervalSeconds: settings.sessionHeartbeatIntervalSeconds)
        sessionLimits.actionsPerSecond = settings.sessionActionsPerSecond
        sessionLimits.actionBurstMax = settings.sessionActionBurstMax
        let session = SessionService(transactions: service, devices: terminals, limits: sessionLimits)
        group.webSocket("/session", middleware: [write], schema: SessionRouteSchema.session) {
            (request, context: AuthenticatedContext, connection) in
            await session.run(request, context, connection)
        }
        group.get("/transaction/:id", middleware: [read], schema: TransactionsRouteSchemas.get) { (request, context: AuthenticatedContext) in
            try await service.get(request.pathParameter("id") ?? "", tenant: context.tenant)
        }
        group.post("/transaction/:id/abort", middleware: [write, idempotency], schema: TransactionsRouteSchemas.abort) { (request, context: AuthenticatedContext) in
            try await service.abort(request.pathParameter("id") ?? "", tenant: context.tenant)
        }
        group.get("/transactions", middleware: [read], schema: TransactionsRouteSchemas.list) { (request, context: AuthenticatedContext) in
            try await service.list(request, tenant: context.tenant)
        }
        group.post("/stored-value/load", middleware: [write, idempotency], schema: TransactionsRouteSchemas.load) { (request, context: AuthenticatedContext) in
            try await service.load(request, context: context)
        }
        return group
    }
}
