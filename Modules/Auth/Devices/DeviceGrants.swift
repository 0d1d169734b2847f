import Foundation
import Kernel

/// Session grants (contract A.1 `GET /api/session-grant`, rules 8–10): a fresh 32-byte session key,
/// an expiry set by policy, the role's allowed operations, and an HMAC-SHA-256 signature with the
/// tenant's grant key of `keyVersion` over a canonical serialization (see docs/auth-devices.md).
struct DeviceGrants: Sendable {
    static let sessionKeyBytes = 32
    static let grantKeyBytes = 32
    static let keyVersionMax = 255
    static let canonicalPrefix = "atlas-session-grant/v1"

    let database: any Database
    let crypto: any CryptoService
    let clock: any WallClock

    struct GrantKey: Sendable {
        let version: Int
        let material: [UInt8]
    }

    /// The fields a grant signature covers. The terminal knows the first four from its token response.
    struct SignedFields: Sendable {
        let tenantId: String
        let deviceId: String
        let accountId: String
        let role: String
        let keyVersion: Int
        let sessionKeyBase64: String
        let expiresAt: Int64
        let allowedOps: [String]

        /// Lines joined by "\n", no trailing newline, UTF-8.
        var canonical: [UInt8] {
            let lines = [DeviceGrants.canonicalPrefix, tenantId, deviceId, accountId, role, String(keyVersion),
                         sessionKeyBase64, String(expiresAt), allowedOps.joined(separator: ",")]
            return Array(lines.joined(separator: "\n").utf8)
        }
    }

    /// Builds and signs a grant for the authenticated device.
    func issue(context: DeviceSessions.AccessContext, key: GrantKey, policy: TerminalPolicy) -> JSONValue {
        let lifetime = min(max(policy.grantLifetimeSec, TerminalPolicy.grantLifetimeRangeSec.lowerBound),
                           TerminalPolicy.grantLifetimeRangeSec.upperBound)
        let fields = SignedFields(
            tenantId: context.merchantId, deviceId: context.deviceId, accountId: context.accountId,
            role: context.role.rawValue, keyVersion: key.version,
            sessionKeyBase64: Data(crypto.randomBytes(count: Self.sessionKeyBytes)).base64EncodedString(),
            expiresAt: clock.unixSeconds() + Int64(lifetime), allowedOps: context.role.allowedOps)
        let signature = crypto.hmacSHA256(key: key.material, message: fields.canonical)
        return ["keyVersion": .int(Int64(fields.keyVersion)), "sessionKey": .string(fields.sessionKeyBase64),
                "expiresAt": .int(fields.expiresAt), "allowedOps": .array(fields.allowedOps.map { .string($0) }),
                "signature": .string(Data(signature).base64EncodedString())]
    }

    // MARK: Grant keys (per tenant and mode; versions 1–255, active | retired | revoked)

    /// The newest active key; version 1 is created on first use so a new tenant works at once.
    func activeKey(merchantId: String, mode: Mode) async throws -> GrantKey {
        if let key = try await newestActive(merchantId: merchantId, mode: mode) { return key }
        try await database.execute("""
            INSERT INTO auth_grant_keys (merchant_id, mode, key_version, key_material, created_at)
            VALUES (\(merchantId), \(mode), 1, \(crypto.randomBytes(count: Self.grantKeyBytes)), \(clock.now()))
            ON CONFLICT DO NOTHING
            """)
        guard let key = try await newestActive(merchantId: merchantId, mode: mode) else {
            throw AtlasError.unavailable("No active session-grant key")
        }
        return key
    }

    private func newestActive(merchantId: String, mode: Mode) async throws -> GrantKey? {
        try await database.queryFirst("""
            SELECT key_version, key_material FROM auth_grant_keys
            WHERE merchant_id = \(merchantId) AND mode = \(mode) AND status = 'active'
            ORDER BY key_version DESC LIMIT 1
            """).map(Self.key(row:))
    }

    /// A specific version while it is active or retired (rotation overlap, rule 10); nil when revoked or unknown.
    func servableKey(merchantId: String, mode: Mode, version: Int) async throws -> GrantKey? {
        try await database.queryFirst("""
            SELECT key_version, key_material FROM auth_grant_keys
            WHERE merchant_id = \(merchantId) AND mode = \(mode) AND key_version = \(version)
              AND status IN ('active', 'retired')
            """).map(Self.key(row:))
    }

    /// Retires the active key(s) and creates the next version; returns it (material shown once, for provisioning).
    func rotate(merchantId: String, mode: Mode) async throws -> GrantKey {
        let now = clock.now()
        let material = crypto.randomBytes(count: Self.grantKeyBytes)
        return try await database.transaction { executor in
            try await executor.execute("SELECT pg_advisory_xact_lock(hashtext(\("grant:" + merchantId + ":" + mode.rawValue)))")
            let row = try await executor.queryFirst("""
                SELECT COALESCE(max(key_version), 0) AS newest FROM auth_grant_keys
                WHERE merchant_id = \(merchantId) AND mode = \(mode)
                """)
            let next = (try row?.decode("newest", as: Int.self) ?? 0) + 1
            guard next <= Self.keyVersionMax else {
                throw AtlasError(kind: .conflict, status: 409, code: "key_versions_exhausted",
                                 message: "All 255 key versions are used")
            }
            try await executor.execute("""
                UPDATE auth_grant_keys SET status = 'retired', retired_at = \(now)
                WHERE merchant_id = \(merchantId) AND mode = \(mode) AND status = 'active'
                """)
            try await executor.execute("""
                INSERT INTO auth_grant_keys (merchant_id, mode, key_version, key_material, created_at)
                VALUES (\(merchantId), \(mode), \(next), \(material), \(now))
                """)
            return GrantKey(version: next, material: material)
        }
    }

    func setKeyStatus(merchantId: String, mode: Mode, version: Int, status: String) async throws -> Bool {
        try await database.execute("""
            UPDATE auth_grant_keys SET status = \(status),
                retired_at = CASE WHEN \(status) = 'active' THEN NULL ELSE COALESCE(retired_at, \(clock.now())) END
            WHERE merchant_id = \(merchantId) AND mode = \(mode) AND key_version = \(version)
            """) == 1
    }

    private static func key(row: Row) throws -> GrantKey {
        GrantKey(version: try row.decode("key_version"), material: try row.decode("key_material"))
    }

    // MARK: Policy

    func policy(merchantId: String, mode: Mode) async throws -> TerminalPolicy {
        var policy = TerminalPolicy()
        guard let row = try await database.queryFirst("""
            SELECT * FROM auth_terminal_policies WHERE merchant_id = \(merchantId) AND mode = \(mode)
            """) else { return policy }
        if let value = try row.decode("max_balance", as: Int64?.self) { policy.maxBalance = value }
        if let value = try row.decode("single_tx_limit", as: Int64?.self) { policy.singleTxLimit = value }
        if let value = try row.decode("daily_limit", as: Int64?.self) { policy.dailyLimit = value }
        if let value = try row.decode("weekly_limit", as: Int64?.self) { policy.weeklyLimit = value }
        if let value = try row.decode("blocked_statuses", as: String?.self) {
            policy.blockedStatuses = value.split(separator: ",").compactMap { Int($0) }
        }
        if let value = try row.decode("clock_drift_allowance_sec", as: Int?.self) { policy.clockDriftAllowanceSec = value }
        if let value = try row.decode("grant_lifetime_sec", as: Int?.self) { policy.grantLifetimeSec = value }
        return policy
    }

    func setPolicy(merchantId: String, mode: Mode, _ policy: TerminalPolicy) async throws {
        let statuses = policy.blockedStatuses.map(String.init).joined(separator: ",")
        try await database.execute("""
            INSERT INTO auth_terminal_policies (merchant_id, mode, max_balance, single_tx_limit, daily_limit, weekly_limit,
                blocked_statuses, clock_drift_allowance_sec, grant_lifetime_sec, updated_at)
            VALUES (\(merchantId), \(mode), \(policy.maxBalance), \(policy.singleTxLimit), \(policy.dailyLimit),
                \(policy.weeklyLimit), \(statuses), \(policy.clockDriftAllowanceSec), \(policy.grantLifetimeSec), \(clock.now()))
            ON CONFLICT (merchant_id, mode) DO UPDATE SET max_balance = EXCLUDED.max_balance,
                single_tx_limit = EXCLUDED.single_tx_limit, daily_limit = EXCLUDED.daily_limit,
                weekly_limit = EXCLUDED.weekly_limit, blocked_statuses = EXCLUDED.blocked_statuses,
                clock_drift_allowance_sec = EXCLUDED.clock_drift_allowance_sec,
                grant_lifetime_sec = EXCLUDED.grant_lifetime_sec, updated_at = EXCLUDED.updated_at
            """)
    }
}
