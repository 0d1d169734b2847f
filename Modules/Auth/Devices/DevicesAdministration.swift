import Foundation
public import Kernel

/// Administration of the offline terminal backend, for the admin CLI and tests. Raw secrets are
/// returned once, to the caller, and never logged.
extension AuthService {
    /// Enrolls a device (live unless `mode` is test); returns its id, the one-time commissioning
    /// secret and the tenant-unique terminal number (uint16) assigned to it.
    public func createDevice(merchantId: String, role: DeviceRole, mode: Mode = .live, name: String? = nil)
        async throws -> (deviceId: String, deviceSecret: String, terminalNumber: Int) {
        let (record, secret) = try await devices.store.enroll(merchantId: merchantId, mode: mode, role: role, name: name)
        await auditDeviceAdmin("device.created", merchantId: merchantId, mode: mode, principalKind: "device",
                               principalId: record.id, detail: ["role": .string(role.rawValue),
                                                                "terminalId": .int(Int64(record.terminalNumber))])
        return (record.id, secret, record.terminalNumber)
    }

    /// Issues a new one-time commissioning secret for a device (re-commissioning); nil when unknown.
    public func resetDeviceSecret(deviceId: String) async throws -> String? {
        guard let device = try await devices.store.device(id: deviceId),
              let secret = try await devices.store.resetSecret(deviceId: deviceId) else { return nil }
        await auditDeviceAdmin("device.secret_reset", merchantId: device.merchantId, mode: device.mode,
                               principalKind: "device", principalId: deviceId, detail: nil)
        return secret
    }

    /// Suspends or reactivates a device; a suspended device gets 403 on every call at once.
    @discardableResult
    public func setDeviceStatus(deviceId: String, suspended: Bool) async throws -> Bool {
        try await devices.store.setDeviceStatus(id: deviceId, status: suspended ? "suspended" : "active")
    }

    /// Creates an operator account of a tenant. With `requireOTP` a TOTP seed is generated and the
    /// `otpauth://` URI (SHA-256, 6 digits, 30 s) is returned once, for an authenticator app.
    public func createOperator(merchantId: String, mode: Mode = .live, username: String, password: String,
                               displayName: String? = nil, roles: [String] = ["operator"], requireOTP: Bool = false)
        async throws -> (accountId: String, otpURI: String?) {
        let seed = requireOTP ? crypto.randomBytes(count: DeviceOTP.seedBytes) : nil
        let id = try await devices.store.createOperator(merchantId: merchantId, mode: mode, username: username,
                                                        password: password, displayName: displayName ?? username,
                                                        roles: roles, otpSeed: seed)
        await auditDeviceAdmin("operator.created", merchantId: merchantId, mode: mode, principalKind: "operator",
                               principalId: id, detail: ["otp": .bool(requireOTP)])
        return (id, seed.map { DeviceOTP.provisioningURI(seed: $0, issuer: "Atlas", account: username) })
    }

    @discardableResult
    public func setOperatorStatus(accountId: String, suspended: Bool) async throws -> Bool {
        try await devices.store.setOperatorStatus(id: accountId, status: suspended ? "suspended" : "active")
    }

    /// Sets the slug devices log in with (`tenantSlug`); false when the merchant is unknown.
    @discardableResult
    public func setTenantSlug(merchantId: String, slug: String) async throws -> Bool {
        try await devices.store.setTenantSlug(merchantId: merchantId, slug: slug)
    }

    /// Retires the active session-grant key and creates the next version. Returns the version and
    /// its key material (base64, shown once) for provisioning terminals that verify grants.
    public func rotateGrantKey(merchantId: String, mode: Mode = .live) async throws -> (keyVersion: Int, keyMaterialBase64: String) {
        let key = try await devices.grants.rotate(merchantId: merchantId, mode: mode)
        await auditDeviceAdmin("grant_key.rotated", merchantId: merchantId, mode: mode, principalKind: nil, principalId: nil,
                               detail: ["keyVersion": .int(Int64(key.version))])
        return (key.version, Data(key.material).base64EncodedString())
    }

    /// Sets a grant key version's status: active, retired (still served on request) or revoked (never served).
    @discardableResult
    public func setGrantKeyStatus(merchantId: String, mode: Mode = .live, keyVersion: Int, status: String) async throws -> Bool {
        precondition(["active", "retired", "revoked"].contains(status), "unknown key status")
        return try await devices.grants.setKeyStatus(merchantId: merchantId, mode: mode, version: keyVersion, status: status)
    }

    public func terminalPolicy(merchantId: String, mode: Mode = .live) async throws -> TerminalPolicy {
        try await devices.grants.policy(merchantId: merchantId, mode: mode)
    }

    public func setTerminalPolicy(merchantId: String, mode: Mode = .live, _ policy: TerminalPolicy) async throws {
        precondition(TerminalPolicy.grantLifetimeRangeSec.contains(policy.grantLifetimeSec), "grant lifetime must be 1-24 h")
        try await devices.grants.setPolicy(merchantId: merchantId, mode: mode, policy)
    }

    /// Revokes every session (access and refresh tokens) of one device.
    public func revokeDeviceSessions(deviceId: String) async throws {
        let now = clock.now()
        try await database.transaction { executor in try await DeviceSessions.revokeDevice(deviceId, now: now, on: executor) }
    }

    /// Revokes every device session of a tenant; returns how many were active.
    @discardableResult
    public func revokeTenantDeviceSessions(merchantId: String) async throws -> Int {
        try await devices.sessions.revokeTenant(merchantId: merchantId)
    }

    func auditDeviceAdmin(_ event: String, merchantId: String, mode: Mode, principalKind: String?, principalId: String?,
                          detail: JSONValue?) async {
        await audit.record(AuditEntry(merchantId: merchantId, mode: mode, occurredAt: clock.now(), event: event,
                                      principalKind: principalKind, principalId: principalId, credentialFingerprint: nil,
                                      detail: detail))
    }
}
