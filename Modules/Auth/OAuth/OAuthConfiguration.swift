import Foundation
import Kernel

/// Token and signing-key settings. The issuer comes from `AuthSettings.oauthIssuer` (it must equal the
/// public URL verifiers see as `iss`); everything else is fixed by the Commerce contract.
struct OAuthConfiguration: Sendable {
    var issuer: String
    /// `aud` of every token; the Commerce API is the only resource server.
    var audience = "atlas-commerce"
    var tokenLifetimeDefaultSeconds = 3_600
    /// Also the longest time a retired signing key must stay in the JWKS.
    var tokenLifetimeMaxSeconds = 86_400
    /// Leeway for `exp`, `nbf` and `iat` between instances whose clocks differ (NTP keeps them far closer).
    var clockSkewSeconds = 60
    /// Signing keys are replaced this often by the background task (30 days).
    var signingKeyRotationSeconds: TimeInterval = 30 * 86_400
    /// Per client: 60 tokens a minute, bursts of 20. A token lives an hour, so a well-behaved client needs
    /// one per terminal per hour; this still allows a fleet restart, and stops a loop from burning CPU on RSA.
    var tokenIssuancePolicy = RateLimitPolicy(name: "token_minute", limit: 60, periodSeconds: 60, burst: 20)
}

/// The RFC 6749 §5.2 error codes `/v1/token` answers with, as `AtlasError`s of kind `.custom`
/// so handlers throw them like any other error and `OAuthErrorRenderer` writes the OAuth body.
enum OAuthError {
    static func invalidRequest(_ description: String) -> AtlasError {
        AtlasError(kind: .custom, status: 400, code: "invalid_request", message: description)
    }

    static func invalidClient(basicAuthentication: Bool) -> AtlasError {
        // RFC 6749 §5.2: a client that tried the Authorization header gets a matching WWW-Authenticate.
        AtlasError(kind: .custom, status: 401, code: "invalid_client", message: "Client authentication failed",
                   headers: basicAuthentication ? [("WWW-Authenticate", "Basic realm=\"atlas\"")] : [])
    }

    static func invalidScope(_ description: String) -> AtlasError {
        AtlasError(kind: .custom, status: 400, code: "invalid_scope", message: description)
    }

    static func invalidGrant(_ description: String) -> AtlasError {
        AtlasError(kind: .custom, status: 400, code: "invalid_grant", message: description)
    }

    static func unsupportedGrantType() -> AtlasError {
        AtlasError(kind: .custom, status: 400, code: "unsupported_grant_type",
                   message: "grant_type must be client_credentials")
    }

    static func rateLimited(retryAfterSeconds: Int, headers: [(String, String)]) -> AtlasError {
        AtlasError(kind: .custom, status: 429, code: "rate_limited",
                   message: "Too many token requests; retry after \(retryAfterSeconds) seconds", headers: headers)
    }
}

/// `{"error":"…","error_description":"…"}` (RFC 6749 §5.2) with `Cache-Control: no-store`, for
/// `/v1/token`. Errors raised outside the endpoint's own checks (404, 405, 413, 500, 503) map onto
/// the nearest OAuth code so a client's OAuth library can always parse the body.
struct OAuthErrorRenderer: ErrorRenderer {
    func render(_ error: AtlasError, requestId: String) -> Response {
        let (code, status) = Self.codeAndStatus(error)
        var response = Response.json(["error": .string(code), "error_description": .string(error.message)],
                                     status: status)
        response.headers.set("Cache-Control", "no-store")
        response.headers.set("Pragma", "no-cache")
        for (name, value) in error.headers { response.headers.add(name, value) }
        return response
    }

    static func codeAndStatus(_ error: AtlasError) -> (String, Int) {
        switch error.kind {
        case .custom: return (error.code, error.status)
        case .unauthorized: return ("invalid_client", 401)
        case .rateLimited: return ("rate_limited", 429)
        case .internalError: return ("server_error", 500)
        case .unavailable: return ("temporarily_unavailable", 503)
        default: return ("invalid_request", error.status)
        }
    }
}
