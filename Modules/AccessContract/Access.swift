public import Kernel

/// The API surfaces Atlas serves. Credentials, error codes and rate-limit policies differ by surface.
/// WHY here and not in Kernel's routing: the router only knows prefixes and error renderers; which
/// surfaces exist and which credentials each takes is the agreement between Auth and the modules serving them.
public enum APISurface: String, Sendable, Hashable {
    /// `/v1`: X-Api-Key `sk_live_`/`sk_test_` or Bearer JWT from `/v1/token`.
    case commerce
    /// `/api/v1` cash rounding: `x-api-key` role keys (`centsless_…`).
    case rounding
    /// `/api/v1` accounting: Bearer user access tokens.
    case accounting
    /// `/api`: Bearer device tokens.
    case terminal
    /// `/functions/v1`: Bearer `sk_` keys.
    case payments
}

/// What a route needs from its caller. Checked by the `AccessGuard` middleware that Auth provides.
public struct AccessRequirement: Sendable, Hashable {
    public var surface: APISurface
    /// Every one of these scopes (API keys, OAuth tokens).
    public var scopes: Set<String>
    /// At least one of these roles, when non-empty (role keys, users, devices).
    public var roles: Set<String>
    /// Which of the caller's rate-limit buckets the route's calls count against.
    public var rateLimitBucket: RateLimitBucket

    /// A credential in `?apiKey=` is accepted on WebSocket routes only (`RouteGroup.webSocket`, seen by the guard
    /// as `RequestContext.isWebSocketRoute`), never by a flag here: a query string ends up in proxies' logs.
    public init(surface: APISurface, scopes: Set<String> = [], roles: Set<String> = [],
                rateLimitBucket: RateLimitBucket = .standard) {
        self.surface = surface
        self.scopes = scopes
        self.roles = roles
        self.rateLimitBucket = rateLimitBucket
    }
}

/// The rate-limit bucket a route's calls are counted in. Auth sets the numbers (docs/auth.md, Rate limits).
public enum RateLimitBucket: String, Sendable, Hashable {
    /// The credential's one bucket for all its calls.
    case standard
    /// Uploads of bounded batches (`POST /api/reconcile`, at most 500 offline events each), counted per request
    /// in a bucket of their own that holds a backlog: a terminal back from a long offline period uploads it
    /// at once, and neither waits behind nor starves its other calls (session grant, policy, reports). Auth
    /// gives devices this bucket; other credentials keep their standard one (docs/reconciliation.md).
    case batchUpload
}

/// Builds the middleware that authenticates a request, enforces its requirement, applies rate
/// limits (adding X-RateLimit-* headers), and records the audit trail. Implemented by Auth;
/// modules ask for one per route through `ModuleServices.accessGuard`.
public protocol AccessGuard: Sendable {
    func require(_ requirement: AccessRequirement) -> any Middleware
}
