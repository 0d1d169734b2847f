public import AccessContract
public import Kernel

/// The Webhooks module's limits (the bootstrap passes them; tests shorten them).
public struct WebhooksSettings: Sendable {
    public var delivery = DeliveryLimits()
    public var endpoints = EndpointLimits()
    /// Events per fan-out statement.
    public var fanOutBatchEventsMax = 500
    /// Encrypts endpoint secrets at rest (`ATLAS_WEBHOOK_SECRET_KEYS`); nil stores them in clear (development).
    public var secretKeys: WebhookSecretKeyring?

    public init() {}
}

/// The Webhooks feature module: endpoints (`/v1/webhook-endpoints`), the fan-out of every logged event into
/// per-endpoint deliveries (consumer `webhooks.fanout`), and the delivery worker that signs, sends, retries,
/// dead-letters and logs attempts. Outgoing HTTP goes through Kernel's `OutboundHTTPClient` (the bootstrap
/// hands it the HTTPClient module's); without one, endpoints cannot be saved and nothing is sent.
public struct WebhooksModule: FeatureModule, AccessDeclaring {
    let settings: WebhooksSettings
    let client: (any OutboundHTTPClient)?
    /// Shared by the consumer, the routes and the worker of one assembly: new deliveries wake the worker.
    let wake = WakeSignal()

    public init(settings: WebhooksSettings = WebhooksSettings(), client: (any OutboundHTTPClient)? = nil) {
        self.settings = settings
        self.client = client
    }

    public var name: String { WebhooksSchema.namespace }
    public var migrations: [Migration] { WebhooksSchema.migrations }

    /// Declared ahead of the routes so Commerce keys can already be granted it; the accounting roles that
    /// manage `/api/v1/webhooks` (admin and above, spec B rule 27).
    public var accessDeclarations: [AccessDeclaration] {
        [AccessDeclaration(surface: .commerce, scopes: ["webhooks:manage"]),
         AccessDeclaration(surface: .accounting, roles: Array(AccountingWebhooksRoutes.roles).sorted())]
    }

    public var adminCommands: [AdminCommand] { [WebhooksAdminCommands(settings: settings).command] }

    public func routeGroups(services: ModuleServices) -> [RouteGroup] {
        let endpointStore = EndpointStore(database: services.database)
        let deliveryStore = deliveryStore(services)
        let handlers = { (surface: EndpointSurface) in
            EndpointHandlers(store: endpointStore, deliveries: deliveryStore, client: client,
                             signer: WebhookSigner(crypto: services.crypto), sealer: sealer(services),
                             clock: services.clock, limits: settings.endpoints, wake: wake, surface: surface)
        }
        let endpoints = handlers(.commerce)
        let deliveries = DeliveryHandlers(endpoints: endpointStore, store: deliveryStore, clock: services.clock, wake: wake)
        let attempts = AttemptHandlers(endpoints: endpointStore, store: deliveryStore)
        let accounting = AccountingWebhooksRoutes(services: services, endpoints: handlers(.accounting),
                                                  deliveries: AccountingDeliveryHandlers(deliveries: deliveries))
        return [WebhooksRoutes(services: services, endpoints: endpoints, deliveries: deliveries, attempts: attempts).group()]
            + accounting.groups()
    }

    public func eventConsumers(services: ModuleServices) -> [EventConsumer] {
        let store = deliveryStore(services)
        let clock = services.clock
        let wake = wake
        return [EventConsumer(name: "webhooks.fanout", batchEventsMax: settings.fanOutBatchEventsMax) { batch in
            if try await store.fanOut(batch, now: clock.now()) > 0 { wake.signal() }
        }]
    }

    public func backgroundServices(services: ModuleServices) -> [any BackgroundService] {
        guard let client else { return [] }
        return [deliveryWorker(services: services, client: client)]
    }

    func deliveryWorker(services: ModuleServices, client: any OutboundHTTPClient,
                        schedules: FlavourSchedules = FlavourSchedules()) -> DeliveryWorker {
        DeliveryWorker(store: deliveryStore(services), client: client,
                       signer: WebhookSigner(crypto: services.crypto), clock: services.clock, schedules: schedules,
                       limits: settings.delivery, logger: services.logger, wake: wake,
                       secretsEncrypted: settings.secretKeys != nil)
    }

    func sealer(_ services: ModuleServices) -> SecretSealer {
        SecretSealer(keyring: settings.secretKeys, crypto: services.crypto)
    }

    func deliveryStore(_ services: ModuleServices) -> DeliveryStore {
        DeliveryStore(database: services.database, eventLog: services.eventLog, sealer: sealer(services))
    }
}
