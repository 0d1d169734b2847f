import AccessContract
import Foundation
import Kernel
import Synchronization

/// Accounting users: password login, JWT access tokens, rotating refresh tokens with reuse
/// detection, and the `/api/v1/auth` routes. See docs/auth-users.md.
final class UsersService: Sendable {
    let database: any Database
    let crypto: any CryptoService
    let clock: any WallClock
    let logger: Logger
    let store: UserStore
    let tokens: UserTokenStore
    let cache: UserTokenCache
    /// A hash of a random password, verified against when the email is unknown so that a
    /// login for an unknown email costs the same scrypt run as a wrong password.
    private let dummyHash = Mutex<String?>(nil)

    /// How often expired token rows are purged.
    static let purgeIntervalSeconds = 3600

    init(database: any Database, crypto: any CryptoService, clock: any WallClock, logger: Logger, signingKeys: SigningKeyStore,
         issuer: String) {
        self.database = database
        self.crypto = crypto
        self.clock = clock
        self.logger = logger
        store = UserStore(database: database, clock: clock)
        tokens = UserTokenStore(database: database, crypto: crypto, clock: clock, users: store, signingKeys: signingKeys,
                                issuer: issuer)
        cache = UserTokenCache(clock: clock)
    }

    /// Migrations in namespace "auth" (versions reserved per part: OAuth 10–19, Users 20–29, Devices 30–39).
    static var migrations: [Migration] { UsersSchema.migrations + MembershipsSchema.migrations }

    /// Bearer-token verifiers this part contributes, with the surfaces they serve.
    func verifiers() -> [(any BearerTokenVerifier, [APISurface])] {
        [(UserAccessTokenVerifier(service: self), [.accounting])]
    }

    func routeGroups(module: AuthService, companies: (any CompanyDirectory)?) -> [RouteGroup] {
        [UserAuthRoutes(module: module, service: self, companies: companies).group()]
    }

    /// Background work until cancelled: follow revocations, purge expired token rows.
    func runBackgroundTasks() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.cache.follow(database: self.database, logger: self.logger) }
            group.addTask { _ = self.dummyPasswordHash() }
            group.addTask { await self.purgeLoop() }
        }
    }

    private func purgeLoop() async {
        while !Task.isCancelled {
            do {
                let purged = try await tokens.purgeExpired()
                if purged > 0 { logger.info("purged expired user tokens", ["count": .int(Int64(purged))]) }
            } catch {
                logger.warning("user token purge failed", ["error": .string(String(describing: error))])
            }
            try? await Task.sleep(for: .seconds(Self.purgeIntervalSeconds))
        }
    }

    func dummyPasswordHash() -> String {
        if let hash = dummyHash.withLock({ $0 }) { return hash }
        let password = Encoding.hex(crypto.randomBytes(count: 16))
        let hash = (try? crypto.hashPassword(password)) ?? ""
        dummyHash.withLock { if $0 == nil { $0 = hash } }
        return dummyHash.withLock { $0 } ?? hash
    }

    // MARK: Login

    enum LoginOutcome {
        case success(UserRecord, IssuedUserTokens)
        case badCredentials(userId: String?, tenant: TenantContext?)
        case suspended(UserRecord)
    }

    /// Always runs exactly one scrypt verification, against a dummy hash for unknown emails.
    func login(email: String, password: String) async throws -> LoginOutcome {
        let found = try await store.find(email: email)
        let verified = crypto.verifyPassword(password, hash: found?.passwordHash ?? dummyPasswordHash())
        guard let found, verified else { return .badCredentials(userId: found?.record.id, tenant: found?.record.tenant) }
        guard found.record.isActive else { return .suspended(found.record) }
        let issued = try await tokens.issueForLogin(user: found.record)
        try await store.recordLogin(userId: found.record.id)
        return .success(found.record, issued)
    }

    // MARK: Verification and revocation

    /// Resolves an access token through the cache; nil when unknown, revoked, expired or its user cannot act.
    func resolveAccessToken(_ token: String) async throws -> ResolvedUserToken? {
        let hash = tokens.hash(token)
        let resolved: ResolvedUserToken?
        switch cache.lookup(hash) {
        case .hit(let token): resolved = token
        case .knownMissing: resolved = nil
        case .miss:
            resolved = try await tokens.resolveAccess(hash: hash)
            cache.store(resolved, hash: hash)
        }
        guard let resolved, clock.now() < resolved.expiresAt, resolved.user.isActive else { return nil }
        return resolved
    }

    func principal(for resolved: ResolvedUserToken, token: String) -> Principal {
        let user = resolved.user
        return Principal(kind: .user, id: user.id, tenant: user.tenant, organizationId: user.organizationId,
                         scopes: user.role.permissions.union([user.tier.scopeMarker]), role: user.role.rawValue,
                         credentialFingerprint: Encoding.hex(Array(tokens.hash(token).prefix(6))))
    }

    /// Revokes a family here at once and on other instances via NOTIFY.
    func revokeFamily(_ familyId: String, reason: String) async throws {
        try await tokens.revokeFamily(familyId, reason: reason)
        await broadcast("family:" + familyId)
    }

    /// Revokes all of a user's tokens here at once and on other instances via NOTIFY.
    func revokeUser(_ userId: String, reason: String) async throws {
        try await tokens.revokeUser(userId, reason: reason)
        await broadcast("user:" + userId)
    }

    func broadcast(_ message: String) async {
        cache.apply(message)
        do {
            try await database.notify(channel: UserTokenCache.channel, payload: message)
        } catch {
            // The database row is already revoked; other instances catch up within the cache TTL.
            logger.error("user token revocation broadcast failed", ["error": .string(String(describing: error))])
        }
    }
}

/// Verifies user access tokens (JWTs, or `at_` tokens issued before them) on the accounting surface.
struct UserAccessTokenVerifier: BearerTokenVerifier {
    let service: UsersService

    func verify(token: String, requirement: AccessRequirement) async throws -> Principal? {
        guard UserTokenStore.isUserToken(token) else { return nil }
        let invalid = CredentialAuthenticator.invalid(requirement.surface)
        guard UserTokenStore.isWellFormed(token, use: UserTokenStore.accessUse) else { throw invalid }
        let resolved: ResolvedUserToken?
        do {
            resolved = try await service.resolveAccessToken(token)
        } catch {
            throw AtlasError.unavailable("Authentication is temporarily unavailable")
        }
        guard let resolved else { throw invalid }
        return service.principal(for: resolved, token: token)
    }
}
