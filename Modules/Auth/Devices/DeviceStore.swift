import Foundation
import Kernel

/// Persistence for devices, operators and tenants-by-slug. Secrets are scrypt-hashed here and
/// returned raw only to the caller that created them.
struct DeviceStore: Sendable {
    let database: any Database
    let crypto: any CryptoService
    let clock: any WallClock

    struct Tenant: Sendable {
        let merchantId: String
        let organizationId: String
        let status: String
    }

    func tenant(slug: String) async throws -> Tenant? {
        guard let row = try await database.queryFirst(
            "SELECT id, organization_id, status FROM auth_merchants WHERE slug = \(slug)") else { return nil }
        return Tenant(merchantId: try row.decode("id"), organizationId: try row.decode("organization_id"),
                      status: try row.decode("status"))
    }

    func setTenantSlug(merchantId: String, slug: String) async throws -> Bool {
        try await database.execute("UPDATE auth_merchants SET slug = \(slug) WHERE id = \(merchantId)") == 1
    }

    // MARK: Devices

    /// Enrolls a device: the next free terminal number of the tenant, and a one-time commissioning secret.
    func enroll(merchantId: String, mode: Mode, role: DeviceRole, name: String?) async throws
        -> (record: DeviceRecord, secret: String) {
        let secret = Self.newSecret(crypto)
        let hash = try crypto.hashPassword(secret)
        var attempt = 0
        while true {
            attempt += 1
            let id = TypedID.generate(prefix: .terminalDevice, clock: clock).rawValue
            let sql: SQL = """
                INSERT INTO auth_devices (id, merchant_id, mode, role, terminal_number, name, secret_hash, created_at)
                SELECT \(id), \(merchantId), \(mode), \(role.rawValue),
                       COALESCE((SELECT max(terminal_number) FROM auth_devices WHERE merchant_id = \(merchantId)), 0) + 1,
                       \(name), \(hash), \(clock.now())
                RETURNING *
                """
            do {
                guard let row = try await database.queryFirst(sql) else { throw AtlasError.internalError() }
                return (try DeviceRecord(row: row), secret)
            } catch let error as DatabaseError where error.kind == .uniqueViolation && attempt < DeviceTokenLimits.enrollmentAttemptsMax {
                continue
            }
        }
    }

    /// Issues a fresh commissioning secret (re-commissioning), replacing any unused one.
    func resetSecret(deviceId: String) async throws -> String? {
        let secret = Self.newSecret(crypto)
        let hash = try crypto.hashPassword(secret)
        let updated = try await database.execute("""
            UPDATE auth_devices SET secret_hash = \(hash), secret_consumed_at = NULL WHERE id = \(deviceId)
            """)
        return updated == 1 ? secret : nil
    }

    func device(id: String) async throws -> DeviceRecord? {
        try await database.queryFirst("SELECT * FROM auth_devices WHERE id = \(id)").map(DeviceRecord.init(row:))
    }

    func device(id: String, merchantId: String) async throws -> DeviceRecord? {
        try await database.queryFirst("SELECT * FROM auth_devices WHERE id = \(id) AND merchant_id = \(merchantId)")
            .map(DeviceRecord.init(row:))
    }

    func setDeviceStatus(id: String, status: String) async throws -> Bool {
        try await database.execute("UPDATE auth_devices SET status = \(status) WHERE id = \(id)") == 1
    }

    /// Marks the commissioning secret used, only if it is still the one that was verified.
    /// False when a concurrent login consumed it first.
    static func consumeSecret(deviceId: String, verifiedHash: String, publicKey: [UInt8]?, now: Date,
                              on executor: any SQLExecutor) async throws -> Bool {
        try await executor.execute("""
            UPDATE auth_devices SET secret_hash = NULL, secret_consumed_at = \(now),
                public_key = COALESCE(\(publicKey), public_key)
            WHERE id = \(deviceId) AND secret_hash = \(verifiedHash)
            """) == 1
    }

    // MARK: Operators

    func createOperator(merchantId: String, mode: Mode, username: String, password: String, displayName: String,
                        roles: [String], otpSeed: [UInt8]?) async throws -> String {
        let id = TypedID.generate(prefix: .terminalOperator, clock: clock).rawValue
        let hash = try crypto.hashPassword(password)
        try await database.execute("""
            INSERT INTO auth_device_operators (id, merchant_id, mode, username, password_hash, display_name, roles,
                otp_secret, created_at)
            VALUES (\(id), \(merchantId), \(mode), \(username), \(hash), \(displayName), \(roles.joined(separator: ",")),
                \(otpSeed), \(clock.now()))
            """)
        return id
    }

    func operatorAccount(merchantId: String, mode: Mode, username: String) async throws -> DeviceOperatorRecord? {
        try await database.queryFirst("""
            SELECT * FROM auth_device_operators WHERE merchant_id = \(merchantId) AND mode = \(mode) AND username = \(username)
            """).map(DeviceOperatorRecord.init(row:))
    }

    func setOperatorStatus(id: String, status: String) async throws -> Bool {
        try await database.execute("UPDATE auth_device_operators SET status = \(status) WHERE id = \(id)") == 1
    }

    /// Records the TOTP step just used; false when that step (or a later one) was already used (replay).
    func claimOTPStep(operatorId: String, step: Int64) async throws -> Bool {
        try await database.execute("""
            UPDATE auth_device_operators SET otp_last_step = \(step) WHERE id = \(operatorId) AND otp_last_step < \(step)
            """) == 1
    }

    static func newSecret(_ crypto: any CryptoService) -> String {
        Encoding.base64URL(crypto.randomBytes(count: DeviceTokenLimits.commissioningSecretRandomBytes))
    }
}
