import Crypto
import Foundation
import Kernel
import Postgres
import Testing
import AtlasTestSupport
@testable import Auth

/// `GET /api/session-grant`, `GET /api/policy` and the terminal-surface access convention (cases A7–A12).
@Suite(.serialized) struct DevicesGrantTests {
    static let vocabulary: Set<String> = ["read", "debit", "checkin", "checkout", "topup", "reissue", "block"]

    /// Recomputes the signature from the documented canonical form (docs/auth-devices.md) with OpenSSL.
    static func signatureVerifies(_ grant: JSONValue, login: JSONValue, keyBase64: String) -> Bool {
        guard let key = Data(base64Encoded: keyBase64), let signature = grant["signature"]?.stringValue,
              case .array(let ops)? = grant["allowedOps"] else { return false }
        let lines = ["atlas-session-grant/v1", login["tenantId"]?.stringValue ?? "", login["deviceId"]?.stringValue ?? "",
                     login["account"]?["accountId"]?.stringValue ?? "", login["role"]?.stringValue ?? "",
                     String(grant["keyVersion"]?.intValue ?? -1), grant["sessionKey"]?.stringValue ?? "",
                     String(grant["expiresAt"]?.intValue ?? -1), ops.compactMap(\.stringValue).joined(separator: ",")]
        let expected = OpenSSLCryptoService().hmacSHA256(key: Array(key), message: Array(lines.joined(separator: "\n").utf8))
        return Data(expected).base64EncodedString() == signature
    }

    @Test func a7MissingOrInvalidTokenIs401InvalidToken() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        let missing = await fixture.get("/api/session-grant", token: nil)
        #expect(isTerminalError(missing, 401, "invalid_token"))
        #expect(isTerminalError(await fixture.get("/api/session-grant", token: "dvt_garbage"), 401, "invalid_token"))
        #expect(isTerminalError(await fixture.get("/api/session-grant", token: "something-else"), 401, "invalid_token"))
        #expect(isTerminalError(await fixture.get("/api/policy", token: nil), 401, "invalid_token"))
        var headers = HTTPHeaders()
        headers.add("Authorization", "Basic abc")
        #expect(isTerminalError(await fixture.client.send(.get, "/api/policy", headers: headers), 401, "invalid_token"))
    }

    @Test func a8TerminalGrantIsSignedAndBounded() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        let key = try await fixture.auth.rotateGrantKey(merchantId: fixture.merchantId)
        #expect(key.keyVersion == 1)
        let login = try await fixture.login(fixture.terminal)
        let response = await fixture.get("/api/session-grant", token: login["accessToken"]?.stringValue)
        #expect(response.status == 200)
        let grant = try #require(response.bodyJSON)
        guard case .object(let object) = grant else { Issue.record("not an object"); return }
        #expect(Set(object.keys) == ["keyVersion", "sessionKey", "expiresAt", "allowedOps", "signature"])
        #expect(grant["keyVersion"] == .int(1))
        let sessionKey = try #require(Data(base64Encoded: grant["sessionKey"]?.stringValue ?? ""))
        #expect(sessionKey.count == 32)
        let expiresAt = try #require(grant["expiresAt"]?.intValue)
        let now = fixture.clock.unixSeconds()
        #expect(expiresAt >= now + 3_600 && expiresAt <= now + 86_400 && expiresAt <= Int64(UInt32.max))
        #expect(expiresAt == now + 8 * 3_600)
        guard case .array(let ops)? = grant["allowedOps"] else { Issue.record("no ops"); return }
        let opSet = Set(ops.compactMap(\.stringValue))
        #expect(opSet.isSubset(of: Self.vocabulary))
        #expect(opSet.isDisjoint(with: ["topup", "reissue", "block"]))
        #expect(opSet.contains("debit"))
        #expect(Data(base64Encoded: grant["signature"]?.stringValue ?? "")?.count == 32)
        #expect(Self.signatureVerifies(grant, login: login, keyBase64: key.keyMaterialBase64))
        // A tampered field no longer verifies.
        guard case .object(var tampered) = grant else { return }
        tampered["expiresAt"] = .int(expiresAt + 3_600)
        #expect(!Self.signatureVerifies(.object(tampered), login: login, keyBase64: key.keyMaterialBase64))
        // Each grant has a fresh session key.
        let again = await fixture.get("/api/session-grant", token: login["accessToken"]?.stringValue)
        #expect(again.bodyJSON?["sessionKey"] != grant["sessionKey"])
    }

    @Test func stationAndGateGrantsCarryTheirRolesOps() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        let station = await fixture.get("/api/session-grant", token: try await fixture.accessToken(fixture.station))
        #expect(station.status == 200)
        #expect(station.bodyJSON?["allowedOps"] == ["read", "debit", "checkin", "checkout", "topup", "reissue", "block"])
        let gate = await fixture.get("/api/session-grant", token: try await fixture.accessToken(fixture.gate))
        #expect(gate.bodyJSON?["allowedOps"] == ["read", "checkin", "checkout"])
    }

    @Test func a9ScoutGetsNoGrantNorPolicy() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        let login = try await fixture.login(fixture.scout)
        #expect(login["role"] == "scout")
        let token = login["accessToken"]?.stringValue
        #expect(isTerminalError(await fixture.get("/api/session-grant", token: token), 403, "insufficient_role"))
        #expect(isTerminalError(await fixture.get("/api/policy", token: token), 403, "insufficient_role"))
        // A scout may read (GET on a read route), nothing more.
        let read = await fixture.get("/api/probe/cards", token: token)
        #expect(read.status == 200)
        #expect(read.bodyJSON?["scopes"] == ["read"])
        #expect(isTerminalError(await fixture.post("/api/probe/cards", token: token), 403, "insufficient_role"))
        #expect(isTerminalError(await fixture.post("/api/probe/topup", token: token), 403, "insufficient_role"))
    }

    @Test func a10SuspendedTerminalGetsTerminalSuspendedOnGrantsAndDeviceSuspendedElsewhere() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        let token = try await fixture.accessToken(fixture.terminal)
        try await fixture.auth.setDeviceStatus(deviceId: fixture.terminal.id, suspended: true)
        #expect(isTerminalError(await fixture.get("/api/session-grant", token: token), 403, "terminal_suspended"))
        #expect(isTerminalError(await fixture.get("/api/policy", token: token), 403, "device_suspended"))
        #expect(isTerminalError(await fixture.get("/api/probe/cards", token: token), 403, "device_suspended"))
        try await fixture.auth.setDeviceStatus(deviceId: fixture.terminal.id, suspended: false)
        #expect(await fixture.get("/api/session-grant", token: token).status == 200)
        // A suspended tenant or account is refused on every call too.
        try await fixture.auth.setOperatorStatus(accountId: fixture.accountId, suspended: true)
        #expect(isTerminalError(await fixture.get("/api/policy", token: token), 403, "account_suspended"))
        try await fixture.auth.setOperatorStatus(accountId: fixture.accountId, suspended: false)
        try await fixture.auth.setMerchantStatus(merchantId: fixture.merchantId, suspended: true)
        #expect(isTerminalError(await fixture.get("/api/policy", token: token), 403, "tenant_suspended"))
    }

    @Test func a11GrantRequestsAreRateLimitedPerTerminal() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        let terminal = try await fixture.accessToken(fixture.terminal)
        let station = try await fixture.accessToken(fixture.station)
        var statuses: [Int] = []
        for _ in 0..<10 { statuses.append(await fixture.get("/api/session-grant", token: terminal).status) }
        #expect(statuses.allSatisfy { $0 == 200 })
        let limited = await fixture.get("/api/session-grant", token: terminal)
        #expect(isTerminalError(limited, 429, "rate_limited"))
        let retryAfter = try #require(Int(limited.headers["Retry-After"] ?? ""))
        #expect(retryAfter >= 1)
        #expect(await fixture.get("/api/session-grant", token: station).status == 200)
        fixture.clock.advance(seconds: Double(retryAfter))
        #expect(await fixture.get("/api/session-grant", token: terminal).status == 200)
    }

    @Test func a12PolicyHasTheSixDefaultFields() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        let response = await fixture.get("/api/policy", token: try await fixture.accessToken(fixture.terminal))
        #expect(response.status == 200)
        #expect(response.bodyJSON == [
            "maxBalance": 5_000_000, "singleTxLimit": 1_000_000, "dailyLimit": 2_000_000, "weeklyLimit": 5_000_000,
            "blockedStatuses": [1, 2, 3, 4], "clockDriftAllowanceSec": 3_600,
        ])
    }

    @Test func policyAndGrantLifetimeAreOverridablePerTenant() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        var policy = TerminalPolicy()
        policy.maxBalance = 3_000_000
        policy.grantLifetimeSec = 2 * 3_600
        try await fixture.auth.setTerminalPolicy(merchantId: fixture.merchantId, policy)
        let token = try await fixture.accessToken(fixture.gate)
        #expect(await fixture.get("/api/policy", token: token).bodyJSON?["maxBalance"] == 3_000_000)
        let grant = await fixture.get("/api/session-grant", token: token)
        #expect(grant.bodyJSON?["expiresAt"] == .int(fixture.clock.unixSeconds() + 7_200))
    }

    @Test func keyRotationServesBothVersionsUntilRevoked() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        let login = try await fixture.login(fixture.terminal)
        let token = login["accessToken"]?.stringValue
        // Version 1 is created on first use; rotation retires it and makes version 2 the default.
        #expect(await fixture.get("/api/session-grant", token: token).bodyJSON?["keyVersion"] == 1)
        let v1Material = try #require(try await fixture.database.queryFirst(
            "SELECT key_material FROM auth_grant_keys WHERE key_version = 1")?.decode("key_material", as: [UInt8].self))
        let v2 = try await fixture.auth.rotateGrantKey(merchantId: fixture.merchantId)
        #expect(v2.keyVersion == 2)
        let current = try #require(await fixture.get("/api/session-grant", token: token).bodyJSON)
        #expect(current["keyVersion"] == 2)
        #expect(Self.signatureVerifies(current, login: login, keyBase64: v2.keyMaterialBase64))
        let old = try #require(await fixture.get("/api/session-grant?keyVersion=1", token: token).bodyJSON)
        #expect(old["keyVersion"] == 1)
        #expect(Self.signatureVerifies(old, login: login, keyBase64: Data(v1Material).base64EncodedString()))
        try await fixture.auth.setGrantKeyStatus(merchantId: fixture.merchantId, keyVersion: 1, status: "revoked")
        #expect(isTerminalError(await fixture.get("/api/session-grant?keyVersion=1", token: token), 422, "invalid_key_version"))
        #expect(isTerminalError(await fixture.get("/api/session-grant?keyVersion=9", token: token), 422, "invalid_key_version"))
        #expect(isTerminalError(await fixture.get("/api/session-grant?keyVersion=x", token: token), 400, "malformed_payload"))
    }

    @Test func principalCarriesRoleTerminalNumberAndOps() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        let station = try await fixture.accessToken(fixture.station)
        let echo = await fixture.post("/api/probe/cards", token: station)
        #expect(echo.status == 200)
        #expect(echo.bodyJSON?["kind"] == "device")
        #expect(echo.bodyJSON?["id"] == .string(fixture.station.id))
        #expect(echo.bodyJSON?["role"] == "station")
        #expect(echo.bodyJSON?["terminalId"] == .string(String(fixture.station.terminalNumber)))
        #expect(echo.bodyJSON?["mode"] == "live")
        #expect(await fixture.post("/api/probe/topup", token: station).status == 200)
        let terminal = try await fixture.accessToken(fixture.terminal)
        #expect(isTerminalError(await fixture.post("/api/probe/cards", token: terminal), 403, "insufficient_role"))
        #expect(isTerminalError(await fixture.post("/api/probe/topup", token: terminal), 403, "insufficient_role"))
    }

    @Test func testModeDevicesUseTestModeOperatorsAndKeys() async throws {
        let fixture = try await DevicesFixture.make()
        defer { fixture.close() }
        let created = try await fixture.auth.createDevice(merchantId: fixture.merchantId, role: .terminal, mode: .test)
        let device = DevicesFixture.Device(id: created.deviceId, secret: created.deviceSecret,
                                           terminalNumber: created.terminalNumber, role: "terminal")
        // The live operator does not exist in test mode.
        #expect(isTerminalError(await fixture.token(fixture.tokenBody(device)), 401, "invalid_credentials"))
        _ = try await fixture.auth.createOperator(merchantId: fixture.merchantId, mode: .test,
                                                  username: DevicesFixture.username, password: DevicesFixture.password)
        let token = try await fixture.accessToken(device)
        #expect(await fixture.get("/api/probe/cards", token: token).bodyJSON?["mode"] == "test")
        #expect(await fixture.get("/api/session-grant", token: token).status == 200)
        let keys = try await fixture.database.query("SELECT mode FROM auth_grant_keys")
        #expect(keys.compactMap { $0.text("mode") } == ["test"])
    }
}
