import Crypto
import Foundation
import Kernel
import Postgres
import Testing
import AtlasTestSupport
@testable import Auth

/// `POST /api/auth/token` and `POST /api/auth/refresh` (contract A.1, rules 1–3, 7; cases A1–A6).
@Suite(.serialized) struct DevicesTokenTests {
    @Test func a1TokenIssuedWithAccountAndNoSecrets() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        let response = await fixture.token(fixture.tokenBody(fixture.terminal))
        #expect(response.status == 200)
        guard case .object(let body)? = response.bodyJSON else { Issue.record("no body"); return }
        #expect(Set(body.keys) == ["accessToken", "refreshToken", "expiresAt", "sessionId", "tenantId", "deviceId",
                                   "terminalId", "account", "role"])
        #expect(body["tenantId"] == .string(fixture.merchantId))
        #expect(body["deviceId"] == .string(fixture.terminal.id))
        #expect(body["terminalId"] == .int(Int64(fixture.terminal.terminalNumber)))
        #expect(body["role"] == "terminal")
        #expect(body["expiresAt"] == .int(fixture.clock.unixSeconds() + 900))
        #expect(body["accessToken"]?.stringValue?.hasPrefix("dvt_") == true)
        #expect(body["refreshToken"]?.stringValue?.hasPrefix("dvr_") == true)
        guard case .object(let account)? = body["account"] else { Issue.record("no account"); return }
        #expect(Set(account.keys) == ["accountId", "displayName", "roles"])
        #expect(account["accountId"] == .string(fixture.accountId))
        #expect(account["displayName"] == "Ibu Sari")
        #expect(account["roles"] == ["operator", "cashier"])
        let text = response.bodyText
        for secret in [fixture.terminal.secret, DevicesFixture.password] { #expect(!text.contains(secret)) }
        for field in ["deviceSecret", "password", "otp", "secret_hash", "passwordHash"] { #expect(!text.contains(field)) }
    }

    @Test func a2WrongOrUnknownOperatorIsInvalidCredentials() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        #expect(isTerminalError(await fixture.token(fixture.tokenBody(fixture.terminal, password: "wrong")), 401,
                                "invalid_credentials"))
        #expect(isTerminalError(await fixture.token(fixture.tokenBody(fixture.terminal, username: "nobody")), 401,
                                "invalid_credentials"))
        // A failed operator login does not consume the commissioning secret.
        #expect(await fixture.token(fixture.tokenBody(fixture.terminal)).status == 200)
    }

    @Test func a3WrongOrUnknownDeviceIsInvalidDeviceCredentials() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        #expect(isTerminalError(await fixture.token(fixture.tokenBody(fixture.terminal, secret: "not-the-secret")), 401,
                                "invalid_device_credentials"))
        let ghost = DevicesFixture.Device(id: "dev_01JUNKNOWNDEVICE000000000000", secret: "x", terminalNumber: 0, role: "terminal")
        #expect(isTerminalError(await fixture.token(fixture.tokenBody(ghost)), 401, "invalid_device_credentials"))
        // Another tenant's device id is unknown in this tenant.
        let organization = try await fixture.auth.createOrganization(name: "Other")
        let other = try await fixture.auth.createMerchant(organizationId: organization, name: "B", slug: "koperasi-b")
        #expect(isTerminalError(await fixture.token(fixture.tokenBody(fixture.terminal, slug: "koperasi-b")), 401,
                                "invalid_device_credentials"))
        _ = other
    }

    @Test func a4UnknownOrMismatchedRoleIsInvalidRole() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        #expect(isTerminalError(await fixture.token(fixture.tokenBody(fixture.terminal, role: "admin")), 422, "invalid_role"))
        #expect(isTerminalError(await fixture.token(fixture.tokenBody(fixture.terminal, role: "station")), 422, "invalid_role"))
        // The secret survives a refused login.
        #expect(await fixture.token(fixture.tokenBody(fixture.terminal)).status == 200)
    }

    @Test func a5UnknownTenantIsInvalidTenant() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        #expect(isTerminalError(await fixture.token(fixture.tokenBody(fixture.terminal, slug: "nope")), 422, "invalid_tenant"))
    }

    @Test func a6SuspendedDeviceTenantOrAccountIsForbidden() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        try await fixture.auth.setDeviceStatus(deviceId: fixture.terminal.id, suspended: true)
        #expect(isTerminalError(await fixture.token(fixture.tokenBody(fixture.terminal)), 403, "device_suspended"))
        try await fixture.auth.setDeviceStatus(deviceId: fixture.terminal.id, suspended: false)

        try await fixture.auth.setOperatorStatus(accountId: fixture.accountId, suspended: true)
        #expect(isTerminalError(await fixture.token(fixture.tokenBody(fixture.terminal)), 403, "account_suspended"))
        try await fixture.auth.setOperatorStatus(accountId: fixture.accountId, suspended: false)

        try await fixture.auth.setMerchantStatus(merchantId: fixture.merchantId, suspended: true)
        #expect(isTerminalError(await fixture.token(fixture.tokenBody(fixture.terminal)), 403, "tenant_suspended"))
        try await fixture.auth.setMerchantStatus(merchantId: fixture.merchantId, suspended: false)
        #expect(await fixture.token(fixture.tokenBody(fixture.terminal)).status == 200)
    }

    @Test func malformedBodiesAre400MalformedPayload() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        #expect(isTerminalError(await fixture.token(["tenantSlug": "koperasi-a"]), 400, "malformed_payload"))
        let response = await fixture.client.send(.post, "/api/auth/token", headers: ["Content-Type": "application/json"],
                                                 body: Array("{nope".utf8))
        #expect(isTerminalError(response, 400, "malformed_payload"))
        #expect(isTerminalError(await fixture.token(fixture.tokenBody(fixture.terminal, publicKey: "bm90LWEta2V5")), 400,
                                "malformed_payload"))
    }

    @Test func commissioningSecretIsOneTimeAndCanBeReset() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        #expect(await fixture.token(fixture.tokenBody(fixture.terminal)).status == 200)
        #expect(isTerminalError(await fixture.token(fixture.tokenBody(fixture.terminal)), 401, "invalid_device_credentials"))
        let row = try await fixture.database.queryFirst("SELECT secret_hash, secret_consumed_at FROM auth_devices WHERE id = \(fixture.terminal.id)")
        #expect(row?.text("secret_hash") == nil)
        #expect(row?.text("secret_consumed_at") != nil)
        let fresh = try #require(try await fixture.auth.resetDeviceSecret(deviceId: fixture.terminal.id))
        #expect(await fixture.token(fixture.tokenBody(fixture.terminal, secret: fresh)).status == 200)
        #expect(isTerminalError(await fixture.token(fixture.tokenBody(fixture.terminal, secret: fresh)), 401,
                                "invalid_device_credentials"))
    }

    @Test func secretsAreHashedAtRest() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        let body = try await fixture.login(fixture.station)
        let access = try #require(body["accessToken"]?.stringValue)
        let dump = try await fixture.database.query("""
            SELECT d.secret_hash, o.password_hash, encode(s.access_hash, 'hex') AS access, encode(r.token_hash, 'hex') AS refresh
            FROM auth_devices d, auth_device_operators o, auth_device_sessions s, auth_device_refresh_tokens r
            """)
        let text = dump.map { $0.values.compactMap { $0 }.joined(separator: " ") }.joined(separator: "\n")
        for secret in [fixture.terminal.secret, fixture.scout.secret, DevicesFixture.password, access,
                       body["refreshToken"]?.stringValue ?? "?"] {
            #expect(!text.contains(secret))
        }
        #expect(text.contains("scrypt") || text.contains("$"))
    }

    @Test func publicKeyIsRegisteredAtFirstLogin() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        let header: [UInt8] = [0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
                               0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04]
        let spki = header + OpenSSLCryptoService().randomBytes(count: 64)
        let response = await fixture.token(fixture.tokenBody(fixture.gate, publicKey: Data(spki).base64EncodedString()))
        #expect(response.status == 200)
        let row = try await fixture.database.queryFirst("SELECT public_key FROM auth_devices WHERE id = \(fixture.gate.id)")
        #expect(try row?.decode("public_key", as: [UInt8].self) == spki)
    }

    @Test func terminalNumbersAreAssignedPerTenant() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        let numbers = [fixture.station, fixture.terminal, fixture.gate, fixture.scout].map(\.terminalNumber)
        #expect(numbers == [1, 2, 3, 4])
        let organization = try await fixture.auth.createOrganization(name: "Other")
        let other = try await fixture.auth.createMerchant(organizationId: organization, name: "B", slug: "koperasi-b")
        #expect(try await fixture.auth.createDevice(merchantId: other, role: .terminal).terminalNumber == 1)
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 { group.addTask { try await fixture.auth.createDevice(merchantId: other, role: .gate).terminalNumber } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(Set(results) == [2, 3, 4, 5])
    }

    @Test func tokenEndpointIsRateLimitedPerDeviceId() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        var statuses: [Int] = []
        for _ in 0..<11 { statuses.append(await fixture.token(fixture.tokenBody(fixture.terminal, slug: "nope")).status) }
        #expect(statuses.prefix(10).allSatisfy { $0 == 422 })
        let limited = await fixture.token(fixture.tokenBody(fixture.terminal, slug: "nope"))
        #expect(isTerminalError(limited, 429, "rate_limited"))
        #expect(Int(limited.headers["Retry-After"] ?? "") != nil)
        // A different terminal identity is unaffected.
        #expect(await fixture.token(fixture.tokenBody(fixture.station)).status == 200)
    }

    @Test func accessTokensExpireAfterFifteenMinutes() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        let token = try await fixture.accessToken(fixture.terminal)
        fixture.clock.advance(seconds: 899)
        #expect(await fixture.get("/api/policy", token: token).status == 200)
        fixture.clock.advance(seconds: 2)
        #expect(isTerminalError(await fixture.get("/api/policy", token: token), 401, "invalid_token"))
    }

    @Test func refreshRotatesAndReuseRevokesEveryDeviceSession() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        let first = try await fixture.login(fixture.terminal)
        let firstRefresh = try #require(first["refreshToken"]?.stringValue)
        let firstAccess = try #require(first["accessToken"]?.stringValue)
        let sessionId = try #require(first["sessionId"]?.stringValue)
        fixture.clock.advance(seconds: 600)
        let rotated = await fixture.post("/api/auth/refresh", token: nil,
                                         json: ["sessionId": .string(sessionId), "refreshToken": .string(firstRefresh)])
        #expect(rotated.status == 200)
        let secondRefresh = try #require(rotated.bodyJSON?["refreshToken"]?.stringValue)
        let secondAccess = try #require(rotated.bodyJSON?["accessToken"]?.stringValue)
        #expect(secondRefresh != firstRefresh && secondAccess != firstAccess)
        #expect(rotated.bodyJSON?["sessionId"] == .string(sessionId))
        #expect(rotated.bodyJSON?["expiresAt"] == .int(fixture.clock.unixSeconds() + 900))
        #expect(rotated.bodyJSON?["account"]?["accountId"] == .string(fixture.accountId))
        #expect(isTerminalError(await fixture.get("/api/policy", token: firstAccess), 401, "invalid_token"))
        #expect(await fixture.get("/api/policy", token: secondAccess).status == 200)
        // Wrong session id → 401, and nothing rotates.
        #expect(isTerminalError(await fixture.post("/api/auth/refresh", token: nil,
            json: ["sessionId": "dss_other", "refreshToken": .string(secondRefresh)]), 401, "invalid_token"))

        // A second session of the same device (re-commissioned), then reuse of the first, rotated-away token.
        let fresh = try #require(try await fixture.auth.resetDeviceSecret(deviceId: fixture.terminal.id))
        let other = try #require(await fixture.token(fixture.tokenBody(fixture.terminal, secret: fresh)).bodyJSON)
        let otherAccess = try #require(other["accessToken"]?.stringValue)
        let stationAccess = try await fixture.accessToken(fixture.station)
        #expect(isTerminalError(await fixture.post("/api/auth/refresh", token: nil,
            json: ["refreshToken": .string(firstRefresh)]), 401, "invalid_token"))
        #expect(isTerminalError(await fixture.get("/api/policy", token: secondAccess), 401, "invalid_token"))
        #expect(isTerminalError(await fixture.get("/api/policy", token: otherAccess), 401, "invalid_token"))
        #expect(isTerminalError(await fixture.post("/api/auth/refresh", token: nil,
            json: ["refreshToken": .string(secondRefresh)]), 401, "invalid_token"))
        #expect(isTerminalError(await fixture.post("/api/auth/refresh", token: nil,
            json: ["refreshToken": other["refreshToken"] ?? .null]), 401, "invalid_token"))
        // Other devices keep working.
        #expect(await fixture.get("/api/policy", token: stationAccess).status == 200)
        await fixture.auth.flushAudit()
        let events = try await fixture.database.query("SELECT event FROM auth_audit_log WHERE event = 'refresh.reuse_detected'")
        // Every presentation of a used or revoked token counts as reuse (three above).
        #expect(events.count == 3)
    }

    @Test func refreshTokensExpireAfterThirtyDaysAndRefuseSuspendedDevices() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        let body = try await fixture.login(fixture.terminal)
        let refresh = try #require(body["refreshToken"]?.stringValue)
        try await fixture.auth.setDeviceStatus(deviceId: fixture.terminal.id, suspended: true)
        #expect(isTerminalError(await fixture.post("/api/auth/refresh", token: nil, json: ["refreshToken": .string(refresh)]),
                                403, "device_suspended"))
        try await fixture.auth.setDeviceStatus(deviceId: fixture.terminal.id, suspended: false)
        fixture.clock.advance(seconds: 30 * 86_400 + 1)
        #expect(isTerminalError(await fixture.post("/api/auth/refresh", token: nil, json: ["refreshToken": .string(refresh)]),
                                401, "invalid_token"))
        #expect(isTerminalError(await fixture.post("/api/auth/refresh", token: nil, json: ["refreshToken": "garbage"]),
                                401, "invalid_token"))
    }

    @Test func tenantWideRevocationEndsEverySession() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        let terminal = try await fixture.accessToken(fixture.terminal)
        let station = try await fixture.accessToken(fixture.station)
        #expect(try await fixture.auth.revokeTenantDeviceSessions(merchantId: fixture.merchantId) == 2)
        #expect(isTerminalError(await fixture.get("/api/policy", token: terminal), 401, "invalid_token"))
        #expect(isTerminalError(await fixture.get("/api/policy", token: station), 401, "invalid_token"))
    }

    @Test func expiredRefreshTokensAndSessionsArePurged() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        _ = try await fixture.login(fixture.terminal)
        #expect(try await fixture.auth.devices.sessions.purgeExpired() == 0)
        fixture.clock.advance(seconds: 32 * 86_400)
        #expect(try await fixture.auth.devices.sessions.purgeExpired() == 1)
        let left = try await fixture.database.query("SELECT id FROM auth_device_sessions")
        #expect(left.isEmpty)
    }

    @Test func otpIsRequiredWhenConfigured() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        let created = try await fixture.auth.createOperator(merchantId: fixture.merchantId, username: "supervisor",
                                                           password: "another long password", requireOTP: true)
        let uri = try #require(created.otpURI)
        #expect(uri.contains("algorithm=SHA256") && uri.contains("digits=6") && uri.contains("period=30"))
        let seed = try #require(try await fixture.database.queryFirst(
            "SELECT otp_secret FROM auth_device_operators WHERE id = \(created.accountId)")?.decode("otp_secret", as: [UInt8].self))
        #expect(uri.contains("secret=" + DeviceOTP.base32(seed)))
        func body(_ otp: String?, secret: String? = nil) -> JSONValue {
            fixture.tokenBody(fixture.station, secret: secret, username: "supervisor", password: "another long password",
                              otpCode: otp)
        }
        #expect(isTerminalError(await fixture.token(body(nil)), 401, "mfa_required"))
        let step = fixture.clock.unixSeconds() / 30
        let code = referenceTOTP(seed: seed, step: step)
        let wrong = code == "000000" ? "111111" : "000000"
        #expect(isTerminalError(await fixture.token(body(wrong)), 401, "invalid_credentials"))
        #expect(await fixture.token(body(code)).status == 200)
        // The same code cannot be replayed (new secret, same step).
        let fresh = try #require(try await fixture.auth.resetDeviceSecret(deviceId: fixture.station.id))
        #expect(isTerminalError(await fixture.token(body(code, secret: fresh)), 401, "invalid_credentials"))
        fixture.clock.advance(seconds: 30)
        #expect(await fixture.token(body(referenceTOTP(seed: seed, step: step + 1), secret: fresh)).status == 200)
    }

    @Test func totpMatchesRFC6238SHA256Vectors() {
        let seed = Array("12345678901234567890123456789012".utf8)
        let crypto = OpenSSLCryptoService()
        #expect(DeviceOTP.code(seed: seed, step: 59 / 30, crypto: crypto, digits: 8) == "46119246")
        #expect(DeviceOTP.code(seed: seed, step: 1_111_111_109 / 30, crypto: crypto, digits: 8) == "68084774")
        #expect(DeviceOTP.code(seed: seed, step: 2_000_000_000 / 30, crypto: crypto, digits: 8) == "90698825")
        #expect(DeviceOTP.base32(Array("foobar".utf8)) == "MZXW6YTBOI")
    }

    @Test func credentialEventsAreAudited() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        let token = try await fixture.accessToken(fixture.terminal)
        _ = await fixture.token(fixture.tokenBody(fixture.station, password: "wrong"))
        #expect(await fixture.get("/api/session-grant", token: token).status == 200)
        await fixture.auth.flushAudit()
        let rows = try await fixture.database.query("SELECT event, principal_id, detail::text AS detail FROM auth_audit_log ORDER BY id")
        let events = rows.compactMap { $0.text("event") }
        for event in ["device.created", "operator.created", "token.issued", "login.failed", "grant.issued"] {
            #expect(events.contains(event), "missing \(event)")
        }
        let text = rows.map { $0.values.compactMap { $0 }.joined(separator: " ") }.joined(separator: "\n")
        for secret in [fixture.terminal.secret, DevicesFixture.password, token] { #expect(!text.contains(secret)) }
    }
}

/// TOTP computed here from the seed with OpenSSL HMAC-SHA-256 (RFC 6238 / RFC 4226 truncation), independently of DeviceOTP.
func referenceTOTP(seed: [UInt8], step: Int64) -> String {
    var counter: [UInt8] = []
    for shift in stride(from: 56, through: 0, by: -8) { counter.append(UInt8((UInt64(step) >> UInt64(shift)) & 0xFF)) }
    let mac = OpenSSLCryptoService().hmacSHA256(key: seed, message: counter)
    let offset = Int(mac[31] & 0x0F)
    let value = (Int(mac[offset]) & 0x7F) << 24 | Int(mac[offset + 1]) << 16 | Int(mac[offset + 2]) << 8 | Int(mac[offset + 3])
    return String(format: "%06d", value % 1_000_000)
}
