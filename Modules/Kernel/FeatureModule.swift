/// What the app hands every feature module: shared infrastructure behind Kernel protocols.
public struct ModuleServices: Sendable {
    public let database: any Database
    public let clock: any WallClock
    public let crypto: any CryptoService
    public let events: any EventBus
    public let logger: Logger
    /// Middleware that authenticates requests, provided by Auth through `authenticator`.
    public let authenticator: (any Authenticator)?
    public let configuration: [String: String]

    public init(database: any Database, clock: any WallClock, crypto: any CryptoService, events: any EventBus,
                logger: Logger, authenticator: (any Authenticator)? = nil, configuration: [String: String] = [:]) {
        self.database = database
        self.clock = clock
        self.crypto = crypto
        self.events = events
        self.logger = logger
        self.authenticator = authenticator
        self.configuration = configuration
    }
}

/// Turns a request's credentials into a `Principal`. Auth implements it; other modules only call it,
/// through a middleware built with `AuthenticationMiddleware`.
public protocol Authenticator: Sendable {
    /// Returns the principal, nil when the request carries no credential, or throws 400/401/403.
    func authenticate(_ request: Request) async throws -> Principal?
}

/// Requires an authenticated principal holding `scopes` (all of them), else 401/403.
public struct AuthenticationMiddleware: Middleware {
    public let authenticator: any Authenticator
    public let requiredScopes: Set<String>

    public init(authenticator: any Authenticator, requiredScopes: Set<String> = []) {
        self.authenticator = authenticator
        self.requiredScopes = requiredScopes
    }

    public func respond(to request: Request, context: RequestContext, next: Handler) async throws -> Response {
        guard let principal = try await authenticator.authenticate(request) else { throw AtlasError.unauthorized() }
        guard requiredScopes.isSubset(of: principal.scopes) else { throw AtlasError.forbidden() }
        var context = context
        context.principal = principal
        return try await next(request, context)
    }
}

/// A feature module is a plugin: it declares its migrations, routes and event handlers, and the
/// app registers a list of modules. It depends on Kernel only.
public protocol FeatureModule: Sendable {
    /// The module name; also its migration namespace.
    var name: String { get }
    var migrations: [Migration] { get }
    func routeGroups(services: ModuleServices) -> [RouteGroup]
    func eventHandlers(services: ModuleServices) -> [EventHandler]
}

extension FeatureModule {
    public var migrations: [Migration] { [] }
    public func routeGroups(services: ModuleServices) -> [RouteGroup] { [] }
    public func eventHandlers(services: ModuleServices) -> [EventHandler] { [] }
}
