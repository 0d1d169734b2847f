import Foundation
import Kernel

/// Device sessions: an opaque access token (15 min) and a rotating refresh token (30 days), both
/// stored as SHA-256 only. Refresh tokens are single-use; presenting one that was already rotated
/// or revoked is treated as theft and revokes every session of that device (contract A.1 notes).
struct DeviceSessions: Sendable {
    let database: any Database
    let crypto: any CryptoService
    let clock: any WallClock

    /// Raw tokens of a new or rotated session; shown once, in the response.
    struct IssuedTokens: Sendable {
        let sessionId: String
        let accessToken: String
        let refreshToken: String
        let accessExpiresAt: Date
    }

    /// What a valid access token stands for, with everything the verifier checks on every call.
    struct AccessContext: Sendable {
        let sessionId: String
        let merchantId: String
        let organizationId: String
        let mode: Mode
        let deviceId: String
        let accountId: String
        let role: DeviceRole
        let terminalNumber: Int
        let deviceStatus: String
        let tenantStatus: String
        let accountStatus: String
        let accessExpiresAt: Date
    }

    enum RefreshOutcome: Sendable {
        case rotated(IssuedTokens, AccessContext)
        case invalid
        /// The token is fine but its tenant, device or account is suspended; nothing was rotated.
        case refused(AtlasError)
        /// A used or revoked token came back: every session of `deviceId` is now revoked.
        case reuseDetected(deviceId: String, merchantId: String, mode: Mode)
    }

    func hash(_ token: String) -> [UInt8] { crypto.sha256(Array(token.utf8)) }

    func newToken(prefix: String) -> String {
        prefix + Encoding.base64URL(crypto.randomBytes(count: DeviceTokenLimits.tokenRandomBytes))
    }

    /// Creates a session inside the caller's transaction (the one that consumes the commissioning secret).
    func create(device: DeviceRecord, accountId: String, on executor: any SQLExecutor) async throws -> IssuedTokens {
        let now = clock.now()
        let sessionId = TypedID.generate(prefix: .terminalSession, clock: clock).rawValue
        let access = newToken(prefix: DeviceTokenLimits.accessPrefix)
        let refresh = newToken(prefix: DeviceTokenLimits.refreshPrefix)
        let accessExpiresAt = now.addingTimeInterval(DeviceTokenLimits.accessLifetimeSeconds)
        try await executor.execute("""
            INSERT INTO auth_device_sessions (id, merchant_id, mode, device_id, account_id, role, access_hash,
                access_expires_at, created_at)
            VALUES (\(sessionId), \(device.merchantId), \(device.mode), \(device.id), \(accountId), \(device.role.rawValue),
                \(hash(access)), \(accessExpiresAt), \(now))
            """)
        try await insertRefresh(refresh, sessionId: sessionId, merchantId: device.merchantId, mode: device.mode,
                                deviceId: device.id, on: executor)
        return IssuedTokens(sessionId: sessionId, accessToken: access, refreshToken: refresh, accessExpiresAt: accessExpiresAt)
    }

    private func insertRefresh(_ token: String, sessionId: String, merchantId: String, mode: Mode, deviceId: String,
                               on executor: any SQLExecutor) async throws {
        let now = clock.now()
        try await executor.execute("""
            INSERT INTO auth_device_refresh_tokens (token_hash, merchant_id, mode, session_id, device_id, expires_at, created_at)
            VALUES (\(hash(token)), \(merchantId), \(mode), \(sessionId), \(deviceId),
                \(now.addingTimeInterval(DeviceTokenLimits.refreshLifetimeSeconds)), \(now))
            """)
    }

    private static let contextSelect = """
        SELECT s.id AS session_id, s.merchant_id, s.mode, s.device_id, s.account_id, s.role, s.access_expires_at,
               s.status AS session_status, d.terminal_number, d.status AS device_status, m.status AS tenant_status,
               m.organization_id, o.status AS account_status
        FROM auth_device_sessions s
        JOIN auth_devices d ON d.id = s.device_id
        JOIN auth_merchants m ON m.id = s.merchant_id
        JOIN auth_device_operators o ON o.id = s.account_id
        """

    /// The session behind an access token, if it is active (expiry is checked by the caller, with its clock).
    func context(accessToken: String) async throws -> AccessContext? {
        let sql = SQL(Self.contextSelect + " WHERE s.access_hash = $1 AND s.status = 'active'",
                      binds: [.bytes(hash(accessToken))])
        return try await database.queryFirst(sql).map(Self.context(row:))
    }

    private func context(sessionId: String, on executor: any SQLExecutor) async throws -> AccessContext? {
        try await executor.queryFirst(SQL(Self.contextSelect + " WHERE s.id = $1", binds: [.text(sessionId)]))
            .map(Self.context(row:))
    }

    private static func context(row: Row) throws -> AccessContext {
        AccessContext(sessionId: try row.decode("session_id"), merchantId: try row.decode("merchant_id"),
                      organizationId: try row.decode("organization_id"),
                      mode: Mode(rawValue: try row.decode("mode")) ?? .live, deviceId: try row.decode("device_id"),
                      accountId: try row.decode("account_id"),
                      role: DeviceRole(rawValue: try row.decode("role")) ?? .scout,
                      terminalNumber: try row.decode("terminal_number"), deviceStatus: try row.decode("device_status"),
                      tenantStatus: try row.decode("tenant_status"), accountStatus: try row.decode("account_status"),
                      accessExpiresAt: try row.decode("access_expires_at"))
    }

    /// Rotates a refresh token: the presented one becomes `used`, the session gets a new access token.
    func refresh(token: String, sessionId: String?) async throws -> RefreshOutcome {
        let now = clock.now()
        let tokenHash = hash(token)
        return try await database.transaction { executor in
            guard let row = try await executor.queryFirst("""
                SELECT session_id, merchant_id, mode, device_id, status, expires_at
                FROM auth_device_refresh_tokens WHERE token_hash = \(tokenHash) FOR UPDATE
                """) else { return .invalid }
            let tokenSession: String = try row.decode("session_id")
            let deviceId: String = try row.decode("device_id")
            let merchantId: String = try row.decode("merchant_id")
            let mode = Mode(rawValue: try row.decode("mode")) ?? .live
            if let sessionId, sessionId != tokenSession { return .invalid }
            guard try row.decode("status", as: String.self) == "active" else {
                try await Self.revokeDevice(deviceId, now: now, on: executor)
                return .reuseDetected(deviceId: deviceId, merchantId: merchantId, mode: mode)
            }
            guard now < (try row.decode("expires_at", as: Date.self)) else { return .invalid }
            guard let current = try await context(sessionId: tokenSession, on: executor) else { return .invalid }
            if let refusal = DeviceSessions.refusal(current) { return .refused(refusal) }
            try await executor.execute("UPDATE auth_device_refresh_tokens SET status = 'used' WHERE token_hash = \(tokenHash)")
            let access = newToken(prefix: DeviceTokenLimits.accessPrefix)
            let refresh = newToken(prefix: DeviceTokenLimits.refreshPrefix)
            let accessExpiresAt = now.addingTimeInterval(DeviceTokenLimits.accessLifetimeSeconds)
            let updated = try await executor.execute("""
                UPDATE auth_device_sessions SET access_hash = \(hash(access)), access_expires_at = \(accessExpiresAt)
                WHERE id = \(tokenSession) AND status = 'active'
                """)
            guard updated == 1, let context = try await context(sessionId: tokenSession, on: executor) else { return .invalid }
            try await insertRefresh(refresh, sessionId: tokenSession, merchantId: merchantId, mode: mode, deviceId: deviceId,
                                    on: executor)
            let tokens = IssuedTokens(sessionId: tokenSession, accessToken: access, refreshToken: refresh,
                                      accessExpiresAt: accessExpiresAt)
            return .rotated(tokens, context)
        }
    }

    /// The 403 for a session whose tenant, device or account is not active (checked on every call).
    static func refusal(_ context: AccessContext) -> AtlasError? {
        if context.tenantStatus != "active" { return DeviceErrors.tenantSuspended }
        if context.deviceStatus != "active" { return DeviceErrors.deviceSuspended }
        if context.accountStatus != "active" { return DeviceErrors.accountSuspended }
        return nil
    }

    /// Revokes every session and refresh token of one device.
    static func revokeDevice(_ deviceId: String, now: Date, on executor: any SQLExecutor) async throws {
        try await executor.execute("""
            UPDATE auth_device_sessions SET status = 'revoked', revoked_at = \(now)
            WHERE device_id = \(deviceId) AND status = 'active'
            """)
        try await executor.execute("""
            UPDATE auth_device_refresh_tokens SET status = 'revoked' WHERE device_id = \(deviceId) AND status = 'active'
            """)
    }

    /// Revokes every session of a tenant (all modes); returns how many sessions were active.
    func revokeTenant(merchantId: String) async throws -> Int {
        let now = clock.now()
        return try await database.transaction { executor in
            let count = try await executor.execute("""
                UPDATE auth_device_sessions SET status = 'revoked', revoked_at = \(now)
                WHERE merchant_id = \(merchantId) AND status = 'active'
                """)
            try await executor.execute("""
                UPDATE auth_device_refresh_tokens SET status = 'revoked' WHERE merchant_id = \(merchantId) AND status = 'active'
                """)
            return count
        }
    }

    /// Deletes refresh tokens and sessions that expired more than a day ago (hourly, in the background).
    func purgeExpired() async throws -> Int {
        let cutoff = clock.now().addingTimeInterval(-86_400)
        return try await database.transaction { executor in
            let tokens = try await executor.execute("DELETE FROM auth_device_refresh_tokens WHERE expires_at < \(cutoff)")
            try await executor.execute("""
                DELETE FROM auth_device_sessions s WHERE s.access_expires_at < \(cutoff)
                  AND NOT EXISTS (SELECT 1 FROM auth_device_refresh_tokens r WHERE r.session_id = s.id)
                """)
            return tokens
        }
    }
}
