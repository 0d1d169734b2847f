import Crypto
import Foundation
import Kernel
import Postgres
import Testing
import AtlasTestSupport
@testable import Auth

/// Security review: a key may hand out only what it holds itself, and the cash-rounding admin
/// endpoint manages role keys only.
@Suite(.serialized) struct KeyGrantLimitsTests {
    @Test func aKeyCannotCreateAKeyWithScopesItLacks() async throws {
        let fixture = try await AuthFixture.make()
        let manager = try await fixture.auth.createSecretKey(merchantId: fixture.merchantId, mode: .test,
                                                             scopes: ["keys:manage", "transactions:read"])
        let escalated = await fixture.client.send(.post, "/v1/api-keys", headers: ["X-Api-Key": manager.secret],
                                                  json: ["scopes": ["transactions:write"]])
        #expect(escalated.status == 403)
        #expect(escalated.bodyJSON?["error"] == "FORBIDDEN")
        #expect(escalated.bodyJSON?["message"] == "API key is valid but lacks permission for this operation")

        let defaulted = await fixture.client.send(.post, "/v1/api-keys", headers: ["X-Api-Key": manager.secret],
                                                  json: ["name": "child"])
        #expect(defaulted.status == 201)
        #expect(defaulted.bodyJSON?["scopes"] == ["keys:manage", "transactions:read"])

        let full = try #require(await fixture.get("/v1/api-keys", key: manager.secret).bodyJSON?["data"]?.arrayValue?
            .first { $0["scopes"]?.arrayValue?.count == CommerceScopes.all.count }?["id"]?.stringValue)
        let rotateFull = await fixture.client.send(.post, "/v1/api-keys/\(full)/rotate", headers: ["X-Api-Key": manager.secret])
        #expect(rotateFull.status == 403)
        #expect(rotateFull.bodyJSON?["secret"] == nil)

        let subset = await fixture.client.send(.post, "/v1/api-keys", headers: ["X-Api-Key": manager.secret],
                                               json: ["scopes": ["transactions:read"]])
        #expect(subset.status == 201)
        #expect(subset.bodyJSON?["scopes"] == ["transactions:read"])
    }

    @Test func aTerminalBoundKeyCannotCreateAnUnboundOrForeignTerminalKey() async throws {
        let fixture = try await AuthFixture.make()
        let bound = try await fixture.auth.createSecretKey(merchantId: fixture.merchantId, mode: .test, terminalId: "T1")
        let other = await fixture.client.send(.post, "/v1/api-keys", headers: ["X-Api-Key": bound.secret],
                                              json: ["terminalId": "T2"])
        #expect(other.status == 403)
        #expect(other.bodyJSON?["error"] == "FORBIDDEN")
        let unbound = await fixture.client.send(.post, "/v1/api-keys", headers: ["X-Api-Key": bound.secret], json: [:])
        #expect(unbound.status == 201)
        #expect(unbound.bodyJSON?["terminalId"] == "T1")
        let unboundKey = try #require(await fixture.get("/v1/api-keys", key: fixture.testKey).bodyJSON?["data"]?.arrayValue?
            .first { $0["terminalId"] == .null }?["id"]?.stringValue)
        let rotate = await fixture.client.send(.post, "/v1/api-keys/\(unboundKey)/rotate", headers: ["X-Api-Key": bound.secret])
        #expect(rotate.status == 403)
        #expect(rotate.bodyJSON?["secret"] == nil)
    }

    @Test func roundingAdminCannotRevokeCommerceSecretKeys() async throws {
        let fixture = try await AuthFixture.make()
        let admin = try await fixture.auth.createRoleKey(merchantId: fixture.merchantId, mode: .test, role: "admin")
        let secret = try await fixture.auth.createSecretKey(merchantId: fixture.merchantId, mode: .test)
        let revoke = await fixture.client.send(.delete, "/api/v1/admin/api-keys/\(secret.id)",
                                               headers: ["x-api-key": admin.secret])
        #expect(revoke.status == 404)
        #expect(revoke.bodyJSON == ["error": "NOT_FOUND", "message": "API key not found"])
        #expect(await fixture.get("/v1/probe/read", key: secret.secret).status == 200)
    }
}
