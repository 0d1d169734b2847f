import AccessContract
import Foundation
import Kernel
import Synchronization

/// Verifies a bearer token that is not an API key (OAuth JWTs, user and device access tokens).
/// Returns nil when the token is not of its kind, so several verifiers can be tried in turn.
protocol BearerTokenVerifier: Sendable {
    func verify(token: String, requirement: AccessRequirement) async throws -> Principal?
}

/// A failed authentication, for the audit trail: the fingerprint of what was presented, never the value.
struct AuthenticationFailure: Error {
    let error: AtlasError
    let credentialFingerprint: String?
}

/// Turns the credentials on a request into a `Principal`, per surface rules:
/// commerce accepts `X-Api-Key: sk_…`, `Authorization: Bearer sk_…` or a Bearer JWT (never both);
/// payments accepts `sk_` keys; rounding accepts `x-api-key` role keys; accounting and terminal
/// accept their Bearer tokens. `?apiKey=` is honoured only on WebSocket routes' upgrade requests (browsers cannot
/// set headers on a WebSocket), and there only when no header credential is present.
final class CredentialAuthenticator: Sendable {
    let keys: APIKeyStore
    let cache: CredentialCache
    let clock: any WallClock
    private let verifiers = Mutex<[APISurface: [any BearerTokenVerifier]]>([:])

    init(keys: APIKeyStore, cache: CredentialCache, clock: any WallClock) {
        self.keys = keys
        self.cache = cache
        self.clock = clock
    }

    func register(_ verifier: any BearerTokenVerifier, for surfaces: [APISurface]) {
        verifiers.withLock { table in for surface in surfaces { table[surface, default: []].append(verifier) } }
    }

    func authenticate(_ request: Request, requirement: AccessRequirement, acceptsQueryKey: Bool = false)
        async throws(AuthenticationFailure) -> Principal {
        let credential = try Self.extract(request, requirement: requirement, acceptsQueryKey: acceptsQueryKey)
        switch credential {
        case .none:
            throw AuthenticationFailure(error: Self.missing(requirement.surface), credentialFingerprint: nil)
        case .apiKey(let key):
            return try await authenticateKey(key, requirement: requirement)
        case .bearer(let token):
            return try await authenticateBearer(token, requirement: requirement)
        }
    }

    enum Credential {
        case none
        case apiKey(String)
        case bearer(String)
    }

    static func extract(_ request: Request, requirement: AccessRequirement, acceptsQueryKey: Bool = false)
        throws(AuthenticationFailure) -> Credential {
        let apiKey = request.headers["X-Api-Key"]
        var bearer: String?
        if let authorization = request.headers["Authorization"] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
                throw AuthenticationFailure(error: missing(requirement.surface), credentialFingerprint: nil)
            }
            bearer = Self.trimmingBlanks(parts[1])
        }
        if apiKey != nil, bearer != nil {
            throw AuthenticationFailure(error: .invalidField("Authorization",
                "Send either X-Api-Key or Authorization: Bearer; use one, never both", constraint: "exclusive"),
                credentialFingerprint: nil)
        }
        if let apiKey { return .apiKey(apiKey) }
        if let bearer { return APIKeyFlavor.classify(bearer) != nil ? .apiKey(bearer) : .bearer(bearer) }
        if acceptsQueryKey, let key = request.queryParameters["apiKey"] { return .apiKey(key) }
        return .none
    }

    private func authenticateKey(_ key: String, requirement: AccessRequirement) async throws(AuthenticationFailure)
        -> Principal {
        let hash = keys.hash(key)
        let fingerprint = Encoding.hex(Array(hash.prefix(6)))
        let invalid = AuthenticationFailure(error: Self.invalid(requirement.surface), credentialFingerprint: fingerprint)
        guard let flavor = APIKeyFlavor.classify(key), Self.accepts(flavor, on: requirement.surface) else { throw invalid }
        let resolved: ResolvedAPIKey?
        switch cache.lookup(hash) {
        case .hit(let key): resolved = key
        case .knownMissing: resolved = nil
        case .miss:
            do {
                resolved = try await keys.lookup(secretHash: hash)
            } catch {
                throw AuthenticationFailure(error: .unavailable("Authentication is temporarily unavailable"),
                                            credentialFingerprint: fingerprint)
            }
            cache.store(resolved, hash: hash)
        }
        guard let resolved, isUsable(resolved.record), resolved.merchantActive else { throw invalid }
        let record = resolved.record
        return Principal(kind: record.kind == .role ? .roleKey : .apiKey, id: record.id,
                         tenant: TenantContext(merchantId: record.merchantId, mode: record.mode),
                         organizationId: resolved.organizationId, scopes: record.scopes,
                         role: record.role ?? (record.terminalId == nil ? "merchant" : "terminal"),
                         credentialFingerprint: fingerprint, terminalId: record.terminalId)
    }

    private func isUsable(_ record: APIKeyRecord) -> Bool {
        switch record.status {
        case "active": return true
        case "rotated": return record.expiresAt.map { clock.now() < $0 } ?? false
        default: return false
        }
    }

    private func authenticateBearer(_ token: String, requirement: AccessRequirement) async throws(AuthenticationFailure)
        -> Principal {
        let fingerprint = Encoding.hex(Array(keys.hash(token).prefix(6)))
        let candidates = verifiers.withLock { $0[requirement.surface] ?? [] }
        for verifier in candidates {
            do {
                if let principal = try await verifier.verify(token: token, requirement: requirement) { return principal }
            } catch let error as AtlasError {
                throw AuthenticationFailure(error: error, credentialFingerprint: fingerprint)
            } catch {
                throw AuthenticationFailure(error: Self.invalid(requirement.surface), credentialFingerprint: fingerprint)
            }
        }
        throw AuthenticationFailure(error: Self.invalid(requirement.surface), credentialFingerprint: fingerprint)
    }

    /// Trims ASCII spaces and tabs. Not Foundation's `trimmingCharacters`, which bridges through
    /// NSString/UTF-16 on Linux and costs ~25 µs on a 1 KB JWT, more than the rest of authentication.
    static func trimmingBlanks(_ text: Substring) -> String {
        var view = text.utf8[...]
        while let first = view.first, first == 0x20 || first == 0x09 { view = view.dropFirst() }
        while let last = view.last, last == 0x20 || last == 0x09 { view = view.dropLast() }
        return String(Substring(view))
    }

    static func accepts(_ flavor: APIKeyFlavor, on surface: APISurface) -> Bool {
        switch (flavor, surface) {
        case (.secret, .commerce), (.secret, .payments), (.role, .rounding): return true
        default: return false
        }
    }

    static func missing(_ surface: APISurface) -> AtlasError {
        switch surface {
        case .commerce: return .unauthorized("Missing or invalid X-Api-Key / bearer token")
        case .rounding: return .unauthorized("Invalid or missing API key")
        case .terminal: return .unauthorized("Missing or invalid bearer token")
        case .accounting: return .unauthorized("Not authenticated")
        case .payments: return .unauthorized("Missing or invalid API key")
        }
    }

    static func invalid(_ surface: APISurface) -> AtlasError {
        switch surface {
        case .accounting: return .unauthorized("Could not validate credentials")
        default: return missing(surface)
        }
    }
}
