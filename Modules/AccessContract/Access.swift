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
    /// Routes that accept a credential in `?apiKey=` (WebSocket upgrades only).
    public var allowsQueryKey: Bool

    public init(surface: APISurface, scopes: Set<String> = [], roles: Set<String> = [], allowsQueryKey: Bool = false) {
        self.surface = surface
        self.scopes = scopes
        self.roles = roles
        self.allowsQueryKey = allowsQueryKey
    }
}

/// Builds the middleware that authenticates a request, enforces its requirement, applies rate
/// limits (adding X-RateLimit-* headers), and records the audit trail. Implemented by Auth;
/// modules ask for one per route through `ModuleServices.accessGuard`.
public protocol AccessGuard: Sendable {
    func require(_ requirement: AccessRequirement) -> any Middleware
}
