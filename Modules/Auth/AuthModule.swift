import Foundation
import Kernel

/// The Auth feature module: tenants, principals and credentials. Other modules see only the
/// Kernel `Principal` its `AccessGuard` attaches to each request, and its `IdempotencyStore`.
public final class AuthModule: FeatureModule {
    public let name = "auth"
    public var migrations: [Migration] {
        AuthSchema.migrations + OAuthService.migrations + UsersService.migrations + DevicesService.migrations
    }

    let database: any Database
    let crypto: any CryptoService
    let clock: any WallClock
    let logger: Logger
    let keys: APIKeyStore
    let cache: CredentialCache
    let tenancy: TenancyStore
    let audit: AuditTrail
    let limiter: RateLimiter
    let authenticator: CredentialAuthenticator
    let authGuard: AuthGuard
    let idempotency: PostgresIdempotencyStore
    let oauth: OAuthService
    let users: UsersService
    let devices: DevicesService

    public init(database: any Database, crypto: any CryptoService, clock: any WallClock = SystemWallClock(),
                logger: Logger) {
        self.database = database
        self.crypto = crypto
        self.clock = clock
        self.logger = logger
        keys = APIKeyStore(database: database, crypto: crypto, clock: clock)
        cache = CredentialCache(clock: clock)
        tenancy = TenancyStore(database: database, clock: clock)
        audit = AuditTrail(database: database, logger: logger)
        limiter = RateLimiter(clock: clock)
        authenticator = CredentialAuthenticator(keys: keys, cache: cache, clock: clock)
        authGuard = AuthGuard(authenticator: authenticator, limiter: limiter, audit: audit, clock: clock)
        idempotency = PostgresIdempotencyStore(database: database, clock: clock, crypto: crypto)
        oauth = OAuthService(database: database, crypto: crypto, clock: clock, logger: logger)
        users = UsersService(database: database, crypto: crypto, clock: clock, logger: logger)
        devices = DevicesService(database: database, crypto: crypto, clock: clock, logger: logger)
        for (verifier, surfaces) in oauth.verifiers() + users.verifiers() + devices.verifiers() {
            authenticator.register(verifier, for: surfaces)
        }
    }

    public var accessGuard: any AccessGuard { authGuard }
    public var idempotencyStore: any IdempotencyStore { idempotency }
    /// Merchant → organization lookups for other modules (partners acting for their merchants).
    public var tenantDirectory: any TenantDirectory { tenancy }

    /// Runs Auth's background work until cancelled: cache invalidation, audit flushing, and the
    /// hourly purge of expired idempotency keys.
    public func runBackgroundTasks() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.cache.follow(database: self.database, logger: self.logger) }
            group.addTask { await self.audit.runFlushLoop() }
            group.addTask { await self.purgeLoop() }
            group.addTask { await self.oauth.runBackgroundTasks() }
            group.addTask { await self.users.runBackgroundTasks() }
            group.addTask { await self.devices.runBackgroundTasks() }
        }
    }

    /// Writes buffered audit entries; call before exit and in tests.
    public func flushAudit() async { await audit.flush() }

    private func purgeLoop() async {
        while !Task.isCancelled {
            do {
                let purged = try await idempotency.purgeExpired()
                if purged > 0 { logger.info("purged expired idempotency keys", ["count": .int(Int64(purged))]) }
            } catch {
                logger.warning("idempotency purge failed", ["error": .string(String(describing: error))])
            }
            try? await Task.sleep(for: .seconds(3600))
        }
    }

    public func routeGroups(services: ModuleServices) -> [RouteGroup] {
        [APIKeyRoutes(module: self).commerceGroup(), APIKeyRoutes(module: self).roundingAdminGroup()]
            + oauth.routeGroups(module: self) + users.routeGroups(module: self) + devices.routeGroups(module: self)
    }

    // MARK: Administration (used by the admin CLI and tests)

    public func createOrganization(name: String, kind: String = "merchant") async throws -> String {
        try await tenancy.createOrganization(name: name, kind: kind)
    }

    public func createMerchant(organizationId: String, name: String, slug: String? = nil) async throws -> String {
        try await tenancy.createMerchant(organizationId: organizationId, name: name, slug: slug)
    }

    public func setMerchantStatus(merchantId: String, suspended: Bool) async throws {
        try await tenancy.setMerchantStatus(merchantId, status: suspended ? "suspended" : "active")
        try await database.notify(channel: CredentialCache.channel, payload: "*")
    }

    public func createTerminal(merchantId: String, mode: Mode, terminalId: String, storeId: String? = nil,
                               serialNumber: String? = nil) async throws {
        try await tenancy.createTerminal(merchantId: merchantId, mode: mode, terminalId: terminalId, storeId: storeId,
                                         serialNumber: serialNumber)
    }

    /// Issues an `sk_live_`/`sk_test_` key; returns its id and the raw secret (shown once).
    public func createSecretKey(merchantId: String, mode: Mode, scopes: Set<String>? = nil, terminalId: String? = nil,
                                name: String? = nil) async throws -> (id: String, secret: String) {
        let key = try await keys.create(merchantId: merchantId, mode: mode, kind: .secret, role: nil,
                                        scopes: scopes ?? CommerceScopes.all, terminalId: terminalId, name: name)
        await auditCredentialEvent("key.created", key: key.record)
        return (key.record.id, key.secret)
    }

    /// Issues a cash-rounding role key (`centsless_…`) for merchant, auditor, admin or partner.
    public func createRoleKey(merchantId: String, mode: Mode, role: String, name: String? = nil) async throws
        -> (id: String, secret: String) {
        precondition(RoundingRoles.all.contains(role), "unknown role")
        let key = try await keys.create(merchantId: merchantId, mode: mode, kind: .role, role: role, scopes: [],
                                        terminalId: nil, name: name)
        await auditCredentialEvent("key.created", key: key.record)
        return (key.record.id, key.secret)
    }

    func rotateKey(id: String, tenant: TenantContext) async throws -> (NewAPIKey, Date)? {
        guard let replacement = try await keys.rotate(id: id, merchantId: tenant.merchantId, mode: tenant.mode) else {
            return nil
        }
        try await database.notify(channel: CredentialCache.channel, payload: id)
        if let old = try await keys.find(id: id, merchantId: tenant.merchantId, mode: tenant.mode) {
            await auditCredentialEvent("key.rotated", key: old)
        }
        await auditCredentialEvent("key.created", key: replacement.record)
        return (replacement, clock.now().addingTimeInterval(APIKeyStore.rotationOverlapSeconds))
    }

    func revokeKey(id: String, tenant: TenantContext) async throws -> Bool {
        guard try await keys.revoke(id: id, merchantId: tenant.merchantId, mode: tenant.mode) else { return false }
        cache.invalidate(keyId: id)
        try await database.notify(channel: CredentialCache.channel, payload: id)
        if let record = try await keys.find(id: id, merchantId: tenant.merchantId, mode: tenant.mode) {
            await auditCredentialEvent("key.revoked", key: record)
        }
        return true
    }

    func auditCredentialEvent(_ event: String, key: APIKeyRecord) async {
        await audit.record(AuditEntry(merchantId: key.merchantId, mode: key.mode, occurredAt: clock.now(), event: event,
                                      principalKind: key.kind == .role ? "role_key" : "api_key", principalId: key.id,
                                      credentialFingerprint: nil, detail: ["prefix": .string(key.displayPrefix)]))
    }
}
