public import AccessContract
import Foundation
public import Kernel

/// Auth at run time, built by `AuthModule.provideContracts` over the platform services: tenants,
/// principals and credentials. Other modules see only what it provides through contracts (the `Principal`
/// its `AccessGuard` attaches to each request, and its `TenantDirectory`); the bootstrap,
/// the admin commands and tests use its administration methods below.
public final class AuthService: Sendable {
    static var migrations: [Migration] {
        AuthSchema.migrations + OAuthService.migrations + UsersService.migrations + DevicesService.migrations
    }

    let database: any Database
    let crypto: any CryptoService
    let clock: any WallClock
    let logger: Logger
    /// Scopes a Commerce API key or OAuth client may hold: those the wired modules declared (and the default grant).
    let commerceScopes: Set<String>
    /// Roles a cash-rounding role key may hold, in declaration order (error messages list them so).
    let roundingRoles: [String]
    let keys: APIKeyStore
    let cache: CredentialCache
    let tenancy: TenancyStore
    let audit: AuditTrail
    let limiter: RateLimiter
    let authenticator: CredentialAuthenticator
    let authGuard: AuthGuard
    let oauth: OAuthService
    let users: UsersService
    let devices: DevicesService

    init(platform: PlatformServices, settings: AuthSettings, catalog: AccessCatalog) {
        let (database, crypto, clock, logger) = (platform.database, platform.crypto, platform.clock, platform.logger)
        self.database = database
        self.crypto = crypto
        self.clock = clock
        self.logger = logger
        commerceScopes = Set(catalog.scopes(on: .commerce))
        roundingRoles = catalog.roles(on: .rounding)
        keys = APIKeyStore(database: database, crypto: crypto, clock: clock)
        cache = CredentialCache(clock: clock)
        tenancy = TenancyStore(database: database, clock: clock)
        audit = AuditTrail(database: database, logger: logger)
        limiter = RateLimiter(clock: clock)
        authenticator = CredentialAuthenticator(keys: keys, cache: cache, clock: clock)
        authGuard = AuthGuard(authenticator: authenticator, limiter: limiter, audit: audit, clock: clock,
                              versions: MerchantAPIVersions(database: database, clock: clock))
        oauth = OAuthService(database: database, crypto: crypto, clock: clock, logger: logger,
                             configuration: OAuthConfiguration(issuer: settings.oauthIssuer), knownScopes: commerceScopes)
        users = UsersService(database: database, crypto: crypto, clock: clock, logger: logger, signingKeys: oauth.signingKeys,
                             issuer: oauth.configuration.issuer)
        devices = DevicesService(database: database, crypto: crypto, clock: clock, logger: logger)
        for (verifier, surfaces) in oauth.verifiers() + users.verifiers() + devices.verifiers() {
            authenticator.register(verifier, for: surfaces)
        }
    }

    public var accessGuard: any AccessGuard { authGuard }
    /// Merchant → organization lookups for other modules (partners acting for their merchants).
    public var tenantDirectory: any TenantDirectory { tenancy }

    /// Auth's work beside the server: cache invalidation, audit flushing (a last flush at shutdown),
    /// and each part's own loops.
    var backgroundServices: [any BackgroundService] {
        [
            BackgroundTask(name: "auth.credential-cache") { await self.cache.follow(database: self.database, logger: self.logger) },
            BackgroundTask(name: "auth.audit-flush", shutdown: { await self.audit.flush() }) { await self.audit.runFlushLoop() },
            BackgroundTask(name: "auth.oauth") { await self.oauth.runBackgroundTasks() },
            BackgroundTask(name: "auth.users") { await self.users.runBackgroundTasks() },
            BackgroundTask(name: "auth.devices") { await self.devices.runBackgroundTasks() },
        ]
    }

    /// Runs every background service until cancelled, outside `serve` (tests of a second instance).
    public func runBackgroundTasks() async {
        await withTaskGroup(of: Void.self) { group in
            for service in backgroundServices { group.addTask { await service.run() } }
        }
    }

    /// Writes buffered audit entries; call before exit and in tests.
    public func flushAudit() async { await audit.flush() }

    /// `companies`: the organizations' companies for `/auth/me` and signup (Accounting's `CompanyDirectory`), if wired.
    func routeGroups(companies: (any CompanyDirectory)?) -> [RouteGroup] {
        [APIKeyRoutes(module: self).commerceGroup(), APIKeyRoutes(module: self).roundingAdminGroup()]
            + oauth.routeGroups(module: self) + users.routeGroups(module: self, companies: companies)
            + devices.routeGroups(module: self)
    }

    // MARK: Administration (used by the admin CLI and tests)

    public func createOrganization(name: String, kind: String = "merchant") async throws -> String {
        try await tenancy.createOrganization(name: name, kind: kind)
    }

    public func createMerchant(organizationId: String, name: String, slug: String? = nil) async throws -> String {
        try await tenancy.createMerchant(organizationId: organizationId, name: name, slug: slug)
    }

    /// The merchant with slug "sandbox" (the private cluster's development merchant), created with its
    /// organization on first use.
    public func sandboxMerchant() async throws -> String {
        if let existing = try await tenancy.merchantId(slug: "sandbox") { return existing }
        let organization = try await createOrganization(name: "Sandbox")
        return try await createMerchant(organizationId: organization, name: "Sandbox", slug: "sandbox")
    }

    public func setMerchantStatus(merchantId: String, suspended: Bool) async throws {
        try await tenancy.setMerchantStatus(merchantId, status: suspended ? "suspended" : "active")
        try await database.notify(channel: CredentialCache.channel, payload: "*")
    }

    /// The Commerce API version the merchant's requests run under when they send no `Atlas-API-Version`
    /// (nil: always the current one). False when the merchant does not exist.
    public func setMerchantAPIVersion(merchantId: String, version: APIVersion?) async throws -> Bool {
        try await authGuard.versions.setDefault(version, merchantId: merchantId)
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
                                        scopes: scopes ?? commerceScopes, terminalId: terminalId, name: name)
        await auditCredentialEvent("key.created", key: key.record)
        return (key.record.id, key.secret)
    }

    /// Issues a cash-rounding role key (`centsless_…`) for merchant, auditor, admin or partner.
    public func createRoleKey(merchantId: String, mode: Mode, role: String, name: String? = nil) async throws
        -> (id: String, secret: String) {
        precondition(roundingRoles.contains(role), "unknown role")
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
