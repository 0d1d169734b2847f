import AccessContract
import Foundation
import Kernel

/// `/api` routes of the offline terminal backend that Auth owns: token, refresh, session grant, policy.
/// Errors render as `{"error":"snake_case","message":"…"}` (TerminalErrorRenderer).
struct DeviceRoutes {
    let module: AuthService
    let service: DevicesService

    struct TokenBody: Decodable, Validatable {
        let tenantSlug: String
        let deviceId: String
        let deviceSecret: String
        let username: String
        let password: String
        let otpCode: String?
        let role: String
        /// Optional base64 DER SubjectPublicKeyInfo of the device's ECDSA P-256 key, stored at first login.
        let publicKey: String?

        func validate() throws(AtlasError) {
            for (field, value) in [("tenantSlug", tenantSlug), ("deviceId", deviceId), ("deviceSecret", deviceSecret),
                                   ("username", username), ("role", role), ("otpCode", otpCode ?? "")]
            where value.utf8.count > DeviceTokenLimits.fieldLengthMax {
                throw .invalidField(field, "\(field) is too long", constraint: "maxLength")
            }
            if password.utf8.count > DeviceTokenLimits.passwordLengthMax {
                throw .invalidField("password", "password is too long", constraint: "maxLength")
            }
        }
    }

    struct RefreshBody: Decodable {
        let sessionId: String?
        let refreshToken: String
    }

    func group() -> RouteGroup {
        let grantRoles = module.accessGuard.require(AccessRequirement(surface: .terminal, roles: DeviceRole.grantRoles))
        var group = RouteGroup(prefix: "/api", surface: .terminal)
        group.schemas = AuthRouteSchemas.deviceComponents
        group.post("/auth/token", schema: AuthRouteSchemas.deviceToken) { request, _ in try await issueToken(request) }
        group.post("/auth/refresh", schema: AuthRouteSchemas.deviceRefresh) { request, _ in try await refresh(request) }
        group.get("/session-grant", middleware: [TerminalSuspendedCode(), grantRoles], schema: AuthRouteSchemas.sessionGrant) { (request, context: AuthenticatedContext) in
            try await sessionGrant(request, context: context)
        }
        group.get("/policy", middleware: [grantRoles], schema: AuthRouteSchemas.policy) { (_, context: AuthenticatedContext) in
            let tenant = context.tenant
            return .json(try await service.grants.policy(merchantId: tenant.merchantId, mode: tenant.mode).json)
        }
        return group
    }

    // MARK: POST /api/auth/token

    func issueToken(_ request: Request) async throws -> Response {
        let body = try request.decodeJSON(TokenBody.self)
        guard let requestedRole = DeviceRole(rawValue: body.role) else { throw DeviceErrors.invalidRole }
        let publicKey = try body.publicKey.map(Self.p256PublicKey)
        try rateLimit(deviceId: body.deviceId)
        guard let tenant = try await service.store.tenant(slug: body.tenantSlug) else { throw DeviceErrors.invalidTenant }
        let device = try await service.store.device(id: body.deviceId, merchantId: tenant.merchantId)
        guard try service.verifySecret(body.deviceSecret, hash: device?.secretHash), let device,
              let verifiedHash = device.secretHash else {
            await loginFailed(tenant.merchantId, deviceId: body.deviceId, code: "invalid_device_credentials")
            throw DeviceErrors.invalidDeviceCredentials
        }
        let account = try await service.store.operatorAccount(merchantId: tenant.merchantId, mode: device.mode,
                                                              username: body.username)
        guard try service.verifySecret(body.password, hash: account?.passwordHash), let account else {
            await loginFailed(tenant.merchantId, deviceId: device.id, code: "invalid_credentials")
            throw DeviceErrors.invalidCredentials
        }
        if let refusal = Self.statusRefusal(tenant: tenant.status, device: device.status, account: account.status) {
            await loginFailed(tenant.merchantId, deviceId: device.id, code: refusal.code)
            throw refusal
        }
        try await checkOTP(body.otpCode, account: account, merchantId: tenant.merchantId, deviceId: device.id)
        guard requestedRole == device.role else {
            await loginFailed(tenant.merchantId, deviceId: device.id, code: "invalid_role")
            throw DeviceErrors.invalidRole
        }
        let now = service.clock.now()
        let sessions = service.sessions
        let tokens = try await service.database.transaction { executor -> DeviceSessions.IssuedTokens? in
            guard try await DeviceStore.consumeSecret(deviceId: device.id, verifiedHash: verifiedHash, publicKey: publicKey,
                                                      now: now, on: executor) else { return nil }
            return try await sessions.create(device: device, accountId: account.id, on: executor)
        }
        guard let tokens else { throw DeviceErrors.invalidDeviceCredentials }
        await audit("token.issued", merchantId: tenant.merchantId, mode: device.mode, deviceId: device.id,
                    fingerprint: tokens.accessToken, detail: ["accountId": .string(account.id), "sessionId": .string(tokens.sessionId),
                                                              "role": .string(device.role.rawValue)])
        return .json(Self.tokenJSON(tokens, tenantId: tenant.merchantId, deviceId: device.id, role: device.role,
                                    terminalNumber: device.terminalNumber, account: account.accountJSON))
    }

    static func statusRefusal(tenant: String, device: String, account: String) -> AtlasError? {
        if tenant != "active" { return DeviceErrors.tenantSuspended }
        if device != "active" { return DeviceErrors.deviceSuspended }
        if account != "active" { return DeviceErrors.accountSuspended }
        return nil
    }

    private func checkOTP(_ code: String?, account: DeviceOperatorRecord, merchantId: String, deviceId: String) async throws {
        guard let seed = account.otpSecret else { return }
        guard let code, !code.isEmpty else {
            await loginFailed(merchantId, deviceId: deviceId, code: "mfa_required")
            throw DeviceErrors.mfaRequired
        }
        guard let step = DeviceOTP.matchingStep(code: code, seed: seed, unixSeconds: service.clock.unixSeconds(),
                                                crypto: service.crypto),
              try await service.store.claimOTPStep(operatorId: account.id, step: step) else {
            await loginFailed(merchantId, deviceId: deviceId, code: "invalid_credentials")
            throw DeviceErrors.invalidCredentials
        }
    }

    /// Per terminal identity (rule 11): the presented deviceId, before any expensive check.
    private func rateLimit(deviceId: String) throws {
        let decision = module.limiter.check(key: "device-token:" + deviceId, policies: [.deviceMinute])
        guard decision.allowed else {
            throw ContextualError(.rateLimited(retryAfterSeconds: decision.retryAfterSeconds),
                                  responseHeaders: decision.headers.filter { $0.0 != "Retry-After" })
        }
    }

    /// A P-256 SubjectPublicKeyInfo in DER: the fixed 26-byte header, then an uncompressed point (65 bytes).
    static func p256PublicKey(_ text: String) throws(AtlasError) -> [UInt8] {
        let header: [UInt8] = [0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
                               0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04]
        guard let data = Data(base64Encoded: text), data.count == 91, Array(data.prefix(header.count)) == header else {
            throw .invalidField("publicKey", "publicKey must be a base64 DER SubjectPublicKeyInfo of an ECDSA P-256 key",
                                constraint: "format")
        }
        return Array(data)
    }

    // MARK: POST /api/auth/refresh

    func refresh(_ request: Request) async throws -> Response {
        let body = try request.decodeJSON(RefreshBody.self)
        guard body.refreshToken.hasPrefix(DeviceTokenLimits.refreshPrefix),
              body.refreshToken.utf8.count <= DeviceTokenLimits.tokenLengthMax else { throw DeviceErrors.invalidRefreshToken }
        switch try await service.sessions.refresh(token: body.refreshToken, sessionId: body.sessionId) {
        case .invalid:
            throw DeviceErrors.invalidRefreshToken
        case .refused(let error):
            throw error
        case .reuseDetected(let deviceId, let merchantId, let mode):
            module.logger.warning("device refresh token reuse; all device sessions revoked", ["deviceId": .string(deviceId)])
            await audit("refresh.reuse_detected", merchantId: merchantId, mode: mode, deviceId: deviceId,
                        fingerprint: body.refreshToken, detail: nil)
            throw DeviceErrors.invalidRefreshToken
        case .rotated(let tokens, let context):
            await audit("refresh", merchantId: context.merchantId, mode: context.mode, deviceId: context.deviceId,
                        fingerprint: tokens.accessToken, detail: ["sessionId": .string(tokens.sessionId)])
            guard let account = try await accountJSON(context.accountId) else { throw DeviceErrors.invalidRefreshToken }
            return .json(Self.tokenJSON(tokens, tenantId: context.merchantId, deviceId: context.deviceId, role: context.role,
                                        terminalNumber: context.terminalNumber, account: account))
        }
    }

    private func accountJSON(_ accountId: String) async throws -> JSONValue? {
        try await service.database.queryFirst("SELECT * FROM auth_device_operators WHERE id = \(accountId)")
            .map { try DeviceOperatorRecord(row: $0).accountJSON }
    }

    static func tokenJSON(_ tokens: DeviceSessions.IssuedTokens, tenantId: String, deviceId: String, role: DeviceRole,
                          terminalNumber: Int, account: JSONValue) -> JSONValue {
        ["accessToken": .string(tokens.accessToken), "refreshToken": .string(tokens.refreshToken),
         "expiresAt": .int(Int64(tokens.accessExpiresAt.timeIntervalSince1970.rounded(.down))),
         "sessionId": .string(tokens.sessionId), "tenantId": .string(tenantId), "deviceId": .string(deviceId),
         "terminalId": .int(Int64(terminalNumber)), "account": account, "role": .string(role.rawValue)]
    }

    // MARK: GET /api/session-grant

    func sessionGrant(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let token = request.headers["Authorization"].map { String($0.dropFirst("Bearer ".count)) } ?? ""
        guard let session = try await service.sessions.context(accessToken: token.trimmingCharacters(in: .whitespaces))
        else { throw DeviceErrors.invalidToken }
        let key: DeviceGrants.GrantKey
        if let text = request.queryParameters["keyVersion"] {
            guard let version = UInt8(text), version >= 1 else {
                throw AtlasError.invalidField("keyVersion", "keyVersion must be an integer from 1 to 255")
            }
            guard let found = try await service.grants.servableKey(merchantId: tenant.merchantId, mode: tenant.mode,
                                                                   version: Int(version)) else {
                throw DeviceErrors.invalidKeyVersion
            }
            key = found
        } else {
            key = try await service.grants.activeKey(merchantId: tenant.merchantId, mode: tenant.mode)
        }
        let policy = try await service.grants.policy(merchantId: tenant.merchantId, mode: tenant.mode)
        let grant = service.grants.issue(context: session, key: key, policy: policy)
        await audit("grant.issued", merchantId: tenant.merchantId, mode: tenant.mode, deviceId: session.deviceId,
                    fingerprint: token, detail: ["keyVersion": .int(Int64(key.version)), "expiresAt": grant["expiresAt"] ?? .null,
                                                 "accountId": .string(session.accountId)])
        return .json(grant)
    }

    // MARK: Audit

    private func audit(_ event: String, merchantId: String, mode: Mode, deviceId: String, fingerprint: String,
                       detail: JSONValue?) async {
        await module.audit.record(AuditEntry(
            merchantId: merchantId, mode: mode, occurredAt: service.clock.now(), event: event, principalKind: "device",
            principalId: deviceId, credentialFingerprint: Encoding.hex(Array(service.sessions.hash(fingerprint).prefix(6))),
            detail: detail))
    }

    private func loginFailed(_ merchantId: String, deviceId: String, code: String) async {
        await module.audit.record(AuditEntry(
            merchantId: merchantId, mode: nil, occurredAt: service.clock.now(), event: "login.failed",
            principalKind: "device", principalId: String(deviceId.prefix(64)), credentialFingerprint: nil,
            detail: ["code": .string(code)]))
    }
}

/// On `/api/session-grant` a suspended device is reported as `terminal_suspended` (contract rule 4 / A10);
/// every other route keeps `device_suspended`.
struct TerminalSuspendedCode: Middleware {
    func respond(to request: Request, context: RequestContext, next: Handler) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as AtlasError where error.code == DeviceErrors.deviceSuspended.code {
            throw DeviceErrors.terminalSuspended
        }
    }
}
