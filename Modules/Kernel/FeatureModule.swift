/// What the app hands every feature module: shared infrastructure behind Kernel protocols.
public struct ModuleServices: Sendable {
    public let database: any Database
    public let clock: any WallClock
    public let crypto: any CryptoService
    /// The durable event log, for appending events with the changes that cause them.
    public let eventLog: any EventLogWriter
    public let logger: Logger
    /// Authentication, authorization, rate limits and audit, provided by the Auth module.
    public let accessGuard: any AccessGuard
    /// Durable Idempotency-Key storage, provided by the Auth module.
    public let idempotency: any IdempotencyStore
    /// Cash rounding for cash tenders, provided by the Rounding module (nil when it is not wired).
    public let cashRounding: (any CashRounding)?
    /// Merchant → organization lookups, provided by the Auth module (nil when it is not wired).
    public let tenants: (any TenantDirectory)?
    public let configuration: [String: String]

    public init(database: any Database, clock: any WallClock, crypto: any CryptoService, eventLog: any EventLogWriter,
                logger: Logger, accessGuard: any AccessGuard, idempotency: any IdempotencyStore,
                cashRounding: (any CashRounding)? = nil, tenants: (any TenantDirectory)? = nil,
                configuration: [String: String] = [:]) {
        self.database = database
        self.clock = clock
        self.crypto = crypto
        self.eventLog = eventLog
        self.logger = logger
        self.accessGuard = accessGuard
        self.idempotency = idempotency
        self.cashRounding = cashRounding
        self.tenants = tenants
        self.configuration = configuration
    }

    /// The idempotency middleware bound to this process's store and hash.
    public var idempotencyMiddleware: IdempotencyMiddleware {
        let crypto = crypto
        return IdempotencyMiddleware(store: idempotency, hash: { crypto.sha256($0) })
    }

    /// The idempotency middleware with deferred claims (see `IdempotencyMiddleware.deferredClaim`).
    public func idempotencyMiddleware(deferredClaim: Bool) -> IdempotencyMiddleware {
        let crypto = crypto
        return IdempotencyMiddleware(store: idempotency, hash: { crypto.sha256($0) }, deferredClaim: deferredClaim)
    }
}

/// A feature module is a plugin: it declares its migrations, routes and event handlers, and the
/// app registers a list of modules. It depends on Kernel only.
public protocol FeatureModule: Sendable {
    /// The module name; also its migration namespace.
    var name: String { get }
    var migrations: [Migration] { get }
    func routeGroups(services: ModuleServices) -> [RouteGroup]
    /// The module's reactions to events of other modules (or its own), run by the event log.
    func eventConsumers(services: ModuleServices) -> [EventConsumer]
}

extension FeatureModule {
    public var migrations: [Migration] { [] }
    public func routeGroups(services: ModuleServices) -> [RouteGroup] { [] }
    public func eventConsumers(services: ModuleServices) -> [EventConsumer] { [] }
}
