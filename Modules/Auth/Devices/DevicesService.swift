import AccessContract
import Foundation
import Kernel
import Synchronization

/// The offline terminal backend's credentials (`/api`): device enrollment with one-time
/// commissioning secrets, operator accounts, device sessions (access + rotating refresh tokens),
/// session grants signed with per-tenant key material, and per-tenant terminal policy.
final class DevicesService: Sendable {
    let database: any Database
    let crypto: any CryptoService
    let clock: any WallClock
    let logger: Logger
    let store: DeviceStore
    let sessions: DeviceSessions
    let grants: DeviceGrants
    /// A scrypt hash of a random string, verified against when a device or user is unknown so the
    /// response time does not tell whether it exists. Computed on first use (~70 ms).
    private let dummyHash = Mutex<String?>(nil)

    static let purgeIntervalSeconds = 3_600

    init(database: any Database, crypto: any CryptoService, clock: any WallClock, logger: Logger) {
        self.database = database
        self.crypto = crypto
        self.clock = clock
        self.logger = logger
        store = DeviceStore(database: database, crypto: crypto, clock: clock)
        sessions = DeviceSessions(database: database, crypto: crypto, clock: clock)
        grants = DeviceGrants(database: database, crypto: crypto, clock: clock)
    }

    /// Migrations in namespace "auth" (versions reserved per part: OAuth 10–19, Users 20–29, Devices 30–39).
    static var migrations: [Migration] { DeviceSchema.migrations }

    /// Bearer-token verifiers this part contributes, with the surfaces they serve.
    func verifiers() -> [(any BearerTokenVerifier, [APISurface])] {
        [(DeviceTokenVerifier(sessions: sessions, clock: clock), [.terminal])]
    }

    func routeGroups(module: AuthService) -> [RouteGroup] { [DeviceRoutes(module: module, service: self).group()] }

    /// Purges expired refresh tokens and sessions hourly until cancelled.
    func runBackgroundTasks() async {
        while !Task.isCancelled {
            do {
                let purged = try await sessions.purgeExpired()
                if purged > 0 { logger.info("purged expired device refresh tokens", ["count": .int(Int64(purged))]) }
            } catch {
                logger.warning("device session purge failed", ["error": .string(String(describing: error))])
            }
            try? await Task.sleep(for: .seconds(Self.purgeIntervalSeconds))
        }
    }

    func verifySecret(_ secret: String, hash: String?) throws -> Bool {
        guard let hash else {
            _ = crypto.verifyPassword(secret, hash: try dummy())
            return false
        }
        return crypto.verifyPassword(secret, hash: hash)
    }

    private func dummy() throws -> String {
        if let hash = dummyHash.withLock({ $0 }) { return hash }
        let hash = try crypto.hashPassword(Encoding.hex(crypto.randomBytes(count: 16)))
        dummyHash.withLock { $0 = $0 ?? hash }
        return hash
    }
}

/// Accepts `dvt_` access tokens on the terminal surface. Every call re-reads the session, device,
/// tenant and account, so a suspension or revocation takes effect on the next request.
struct DeviceTokenVerifier: BearerTokenVerifier {
    let sessions: DeviceSessions
    let clock: any WallClock

    func verify(token: String, requirement: AccessRequirement) async throws -> Principal? {
        guard token.hasPrefix(DeviceTokenLimits.accessPrefix) else { return nil }
        guard token.utf8.count <= DeviceTokenLimits.tokenLengthMax else { throw DeviceErrors.invalidToken }
        let found: DeviceSessions.AccessContext?
        do {
            found = try await sessions.context(accessToken: token)
        } catch {
            throw AtlasError.unavailable("Authentication is temporarily unavailable")
        }
        guard let context = found, clock.now() < context.accessExpiresAt else { throw DeviceErrors.invalidToken }
        if let refusal = DeviceSessions.refusal(context) { throw refusal }
        return Principal(kind: .device, id: context.deviceId,
                         tenant: TenantContext(merchantId: context.merchantId, mode: context.mode),
                         organizationId: context.organizationId, scopes: Set(context.role.allowedOps),
                         role: context.role.rawValue,
                         credentialFingerprint: Encoding.hex(Array(sessions.hash(token).prefix(6))),
                         terminalId: String(context.terminalNumber))
    }
}
