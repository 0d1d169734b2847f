import AccessContract
import Foundation
import Kernel
import Synchronization

/// OAuth 2.0 client credentials for the Commerce API (commerce spec §4): clients and secrets,
/// `POST /v1/token` issuing RS256 JWTs, `GET /.well-known/jwks.json`, and the bearer verifier the
/// Commerce surface uses. See docs/auth-oauth.md.
final class OAuthService: Sendable {
    /// How often the background task checks whether the signing key is due for rotation.
    static let maintenanceIntervalSeconds: Double = 3_600
    /// JWKS responses may be cached this long; verifiers refetch on an unknown kid anyway.
    static let jwksMaxAgeSeconds = 300

    let database: any Database
    let crypto: any CryptoService
    let clock: any WallClock
    let logger: Logger
    let clients: OAuthClientStore
    let signingKeys: SigningKeyStore
    let standing: CredentialStandingCache
    let verifier: OAuthTokenVerifier
    let settings: OAuthSettings

    init(database: any Database, crypto: any CryptoService, clock: any WallClock, logger: Logger,
         configuration: OAuthConfiguration, knownScopes: Set<String>) {
        self.database = database
        self.crypto = crypto
        self.clock = clock
        self.logger = logger
        let settings = OAuthSettings(configuration)
        self.settings = settings
        clients = OAuthClientStore(database: database, crypto: crypto, clock: clock, knownScopes: knownScopes)
        signingKeys = SigningKeyStore(database: database, crypto: crypto, clock: clock,
                                      retentionSeconds: TimeInterval(configuration.tokenLifetimeMaxSeconds))
        standing = CredentialStandingCache(database: database, clock: clock)
        verifier = OAuthTokenVerifier(signingKeys: signingKeys, crypto: crypto, clock: clock, standing: standing,
                                      configuration: { settings.current })
    }

    /// Migrations in namespace "auth" (versions reserved per part: OAuth 10–19, Users 20–29, Devices 30–39).
    static var migrations: [Migration] { OAuthSchema.migrations }

    var configuration: OAuthConfiguration { settings.current }

    /// Bearer-token verifiers this part contributes, with the surfaces they serve.
    func verifiers() -> [(any BearerTokenVerifier, [APISurface])] { [(verifier, [.commerce])] }

    func routeGroups(module: AuthService) -> [RouteGroup] {
        [TokenEndpoint(module: module, service: self).routeGroup(), jwksGroup()]
    }

    /// `GET /.well-known/jwks.json`, unauthenticated.
    func jwksGroup() -> RouteGroup {
        var group = RouteGroup(prefix: "/.well-known", surface: .commerce)
        group.get("/jwks.json", schema: AuthRouteSchemas.jwks) { _, _ in
            let keys = try await self.signingKeys.publishedKeys()
            var response = Response.json(try self.signingKeys.jwks(keys))
            response.headers.set("Cache-Control", "public, max-age=\(Self.jwksMaxAgeSeconds)")
            return response
        }
        return group
    }

    struct IssuedToken: Sendable {
        let token: String
        let jti: String
        let kid: String
        let scope: String
    }

    /// Signs a token for an authenticated client; scopes and terminal are already checked.
    func issueToken(client: OAuthClientRecord, scopes: Set<String>, terminalId: String, lifetimeSeconds: Int) async throws
        -> IssuedToken {
        let configuration = configuration
        let key = try await signingKeys.signingKey()
        let issuedAt = clock.unixSeconds()
        let jti = Encoding.hex(crypto.randomBytes(count: 16))
        let scope = scopes.sorted().joined(separator: " ")
        let claims: JSONValue = [
            "iss": .string(configuration.issuer), "aud": .string(configuration.audience), "sub": .string(client.id),
            "iat": .int(issuedAt), "nbf": .int(issuedAt), "exp": .int(issuedAt + Int64(lifetimeSeconds)),
            "jti": .string(jti), "scope": .string(scope), "terminal_id": .string(terminalId),
            "merchant_id": .string(client.merchantId), "mode": .string(client.mode.rawValue),
        ]
        let header: JSONValue = ["alg": "RS256", "typ": "JWT", "kid": .string(key.kid)]
        let token = try CompactJWS.sign(header: header, claims: claims) { input in
            try crypto.signRS256(message: input, privateKeyPEM: key.privateKeyPEM)
        }
        return IssuedToken(token: token, jti: jti, kid: key.kid, scope: scope)
    }

    /// Background work until cancelled: rotate the signing key when due and purge retired keys (hourly),
    /// and clear the verifier's standing cache when credentials change (merchant suspended, client disabled).
    func runBackgroundTasks() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.maintenanceLoop() }
            group.addTask { await self.followCredentialChanges() }
        }
    }

    func maintain() async throws {
        if try await signingKeys.rotateIfDue(intervalSeconds: configuration.signingKeyRotationSeconds) {
            logger.info("rotated the OAuth signing key")
        }
        try await signingKeys.purgeExpired()
    }

    private func maintenanceLoop() async {
        while !Task.isCancelled {
            do {
                try await maintain()
            } catch {
                logger.warning("OAuth signing key maintenance failed", ["error": .string(String(describing: error))])
            }
            try? await Task.sleep(for: .seconds(Self.maintenanceIntervalSeconds))
        }
    }

    private func followCredentialChanges() async {
        do {
            let stream = try await database.listen(channel: CredentialCache.channel)
            for await notification in stream {
                if notification.payload == "*" { standing.removeAll() } else { standing.invalidate(clientId: notification.payload) }
            }
        } catch {
            logger.error("OAuth verifier cannot listen for credential changes", ["error": .string(String(describing: error))])
        }
    }
}

/// The OAuth settings, shared by the endpoint and the verifier; changeable at run time (tests, admin).
final class OAuthSettings: Sendable {
    private let state: Mutex<OAuthConfiguration>

    init(_ configuration: OAuthConfiguration) { state = Mutex(configuration) }

    var current: OAuthConfiguration { state.withLock { $0 } }

    func update(_ change: (inout OAuthConfiguration) -> Void) { state.withLock { change(&$0) } }
}
