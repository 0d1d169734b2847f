import AccessContract
import Foundation
import Kernel
import Synchronization

/// Verifies `/v1/token` JWTs on the Commerce surface: RS256 only (the header's `alg` must be exactly
/// "RS256"; "none", HS256 and everything else are refused before any key is touched, which closes
/// the algorithm-confusion attacks), a known `kid`, then `exp`/`nbf`/`iat` with `clockSkewSeconds`
/// of leeway, `iss`, `aud`, `mode`, and finally that the client, its merchant and the token's
/// terminal are still active. Every failure is the same 401 so a caller learns nothing about why.
final class OAuthTokenVerifier: BearerTokenVerifier {
    private let signingKeys: SigningKeyStore
    private let crypto: any CryptoService
    private let clock: any WallClock
    private let configuration: @Sendable () -> OAuthConfiguration
    let standing: CredentialStandingCache
    /// Tokens whose signature, issuer and audience already checked out, by SHA-256 of the whole token:
    /// a client reuses one token for up to an hour, and parsing the PEM + RSA verification costs far more
    /// (hundreds of µs with OpenSSL 3) than a hash and a lookup. Times and standing are still checked per use.
    let verified = VerifiedTokenCache()

    init(signingKeys: SigningKeyStore, crypto: any CryptoService, clock: any WallClock,
         standing: CredentialStandingCache, configuration: @escaping @Sendable () -> OAuthConfiguration) {
        self.signingKeys = signingKeys
        self.crypto = crypto
        self.clock = clock
        self.standing = standing
        self.configuration = configuration
    }

    static var rejected: AtlasError { .unauthorized("Missing or invalid X-Api-Key / bearer token") }

    /// The claims a verified token carries.
    struct Claims: Sendable {
        let clientId: String
        let merchantId: String
        let mode: Mode
        let terminalId: String
        let scopes: Set<String>
        let jti: String
    }

    func verify(token: String, requirement: AccessRequirement) async throws -> Principal? {
        do {
            return try await verifyOrThrow(token)
        } catch is DatabaseError {
            // Like API keys: an outage is 503 (retry), not 401 (which would tell the client its token is bad).
            throw AtlasError.unavailable("Authentication is temporarily unavailable")
        }
    }

    private func verifyOrThrow(_ token: String) async throws -> Principal? {
        let claims: Claims
        let tokenHash = crypto.sha256(Array(token.utf8))
        if let cached = verified.lookup(tokenHash) {
            // The kid must still be published: a dropped key takes its tokens with it (a memory lookup).
            guard try await signingKeys.publicKeyPEM(kid: cached.kid) != nil else { throw Self.rejected }
            try checkTimes(cached.timeClaims)
            claims = cached.claims
        } else {
            guard let jws = CompactJWS.parse(token) else { return nil }
            claims = try await verifiedClaims(jws)
            verified.store(tokenHash, VerifiedTokenCache.Entry(claims: claims, kid: jws.header["kid"]?.stringValue ?? "",
                                                               timeClaims: Self.timeClaims(jws.claims)))
        }
        guard let organizationId = try await standing.organizationIfActive(claims) else { throw Self.rejected }
        return Principal(kind: .oauthClient, id: claims.clientId,
                         tenant: TenantContext(merchantId: claims.merchantId, mode: claims.mode),
                         organizationId: organizationId, scopes: claims.scopes, role: "terminal",
                         credentialFingerprint: Self.fingerprint(jti: claims.jti), terminalId: claims.terminalId)
    }

    /// The audit fingerprint of a token: the first 12 characters of its `jti` (random hex, not a secret),
    /// so request audit rows join to the `token.issued` row of the same token.
    static func fingerprint(jti: String) -> String { String(jti.prefix(12)) }

    func verifiedClaims(_ jws: CompactJWS) async throws -> Claims {
        guard jws.header["alg"]?.stringValue == "RS256", jws.header["crit"] == nil,
              Self.typeAcceptable(jws.header["typ"]), let kid = jws.header["kid"]?.stringValue else { throw Self.rejected }
        guard let publicKeyPEM = try await signingKeys.publicKeyPEM(kid: kid),
              crypto.verifyRS256(message: jws.signingInput, signature: jws.signature, publicKeyPEM: publicKeyPEM) else {
            throw Self.rejected
        }
        try checkTimes(jws.claims)
        return try checkIdentity(jws.claims)
    }

    private static func typeAcceptable(_ typ: JSONValue?) -> Bool {
        guard let typ else { return true }
        return typ.stringValue?.uppercased() == "JWT"
    }

    static func timeClaims(_ claims: [String: JSONValue]) -> [String: JSONValue] {
        claims.filter { ["exp", "nbf", "iat"].contains($0.key) }
    }

    private func checkTimes(_ claims: [String: JSONValue]) throws {
        let now = clock.now().timeIntervalSince1970
        let skew = Double(configuration().clockSkewSeconds)
        guard let exp = claims["exp"]?.intValue, now < Double(exp) + skew else { throw Self.rejected }
        if let nbf = claims["nbf"] {
            guard let value = nbf.intValue, Double(value) <= now + skew else { throw Self.rejected }
        }
        if let iat = claims["iat"] {
            guard let value = iat.intValue, Double(value) <= now + skew else { throw Self.rejected }
        }
    }

    private func checkIdentity(_ claims: [String: JSONValue]) throws -> Claims {
        let configuration = configuration()
        guard claims["iss"]?.stringValue == configuration.issuer, Self.audience(claims["aud"], contains: configuration.audience),
              let clientId = claims["sub"]?.stringValue, let merchantId = claims["merchant_id"]?.stringValue,
              let mode = claims["mode"]?.stringValue.flatMap(Mode.init(rawValue:)),
              let terminalId = claims["terminal_id"]?.stringValue, let scope = claims["scope"]?.stringValue,
              let jti = claims["jti"]?.stringValue, !jti.isEmpty else { throw Self.rejected }
        return Claims(clientId: clientId, merchantId: merchantId, mode: mode, terminalId: terminalId,
                      scopes: Set(scope.split(separator: " ").map(String.init)), jti: jti)
    }

    /// RFC 7519 §4.1.3: `aud` is a string or an array of strings.
    private static func audience(_ value: JSONValue?, contains expected: String) -> Bool {
        switch value {
        case .string(let audience)?: return audience == expected
        case .array(let audiences)?: return audiences.contains { $0.stringValue == expected }
        default: return false
        }
    }
}

/// Verified tokens, bounded: when full it is emptied (every entry can be re-verified from scratch).
/// A signing key purged from the database stays trusted here only for tokens that have expired anyway.
final class VerifiedTokenCache: Sendable {
    static let entriesMax = 100_000

    struct Entry: Sendable {
        let claims: OAuthTokenVerifier.Claims
        let kid: String
        let timeClaims: [String: JSONValue]
    }

    private let entries = Mutex<[[UInt8]: Entry]>([:])

    func lookup(_ hash: [UInt8]) -> Entry? { entries.withLock { $0[hash] } }

    func store(_ hash: [UInt8], _ entry: Entry) {
        entries.withLock { table in
            if table.count >= Self.entriesMax { table.removeAll(keepingCapacity: true) }
            table[hash] = entry
        }
    }

    func removeAll() { entries.withLock { $0.removeAll() } }
}

/// Whether a token's client, merchant and terminal are still active, cached per (client, merchant, mode, terminal)
/// for `entryTTLSeconds`. Suspending a merchant or disabling a client publishes on the credential
/// channel, which `OAuthService.runBackgroundTasks` follows to clear this cache at once.
final class CredentialStandingCache: Sendable {
    static let entryTTLSeconds: TimeInterval = 10
    static let entriesMax = 100_000

    private struct Entry {
        /// The organization id when everything is active; nil when something is not.
        let organizationId: String?
        let storedAt: Date
    }

    private let database: any Database
    private let clock: any WallClock
    private let entries = Mutex<[String: Entry]>([:])

    init(database: any Database, clock: any WallClock) {
        self.database = database
        self.clock = clock
    }

    func organizationIfActive(_ claims: OAuthTokenVerifier.Claims) async throws -> String? {
        // Every claim the query reads is in the key, so one token's answer never stands in for another's.
        let key = [claims.clientId, claims.merchantId, claims.mode.rawValue, claims.terminalId].joined(separator: "|")
        let now = clock.now()
        if let entry = entries.withLock({ $0[key] }), now.timeIntervalSince(entry.storedAt) < Self.entryTTLSeconds {
            return entry.organizationId
        }
        let row = try await database.queryFirst("""
            SELECT m.organization_id
            FROM auth_oauth_clients c
            JOIN auth_merchants m ON m.id = c.merchant_id
            JOIN auth_terminals t ON t.merchant_id = c.merchant_id AND t.mode = c.mode AND t.id = \(claims.terminalId)
            WHERE c.id = \(claims.clientId) AND c.merchant_id = \(claims.merchantId) AND c.mode = \(claims.mode)
              AND c.status = 'active' AND m.status = 'active' AND t.status = 'active'
            """)
        let organizationId: String? = try row?.decode("organization_id")
        entries.withLock { table in
            if table.count >= Self.entriesMax { table.removeAll() }
            table[key] = Entry(organizationId: organizationId, storedAt: now)
        }
        return organizationId
    }

    func removeAll() { entries.withLock { $0.removeAll() } }

    func invalidate(clientId: String) {
        entries.withLock { table in table = table.filter { !$0.key.hasPrefix(clientId + "|") } }
    }
}
