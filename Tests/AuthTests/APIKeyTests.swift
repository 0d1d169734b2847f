import Crypto
import Foundation
import Kernel
import Postgres
import Testing
import AtlasTestSupport
@testable import Auth

@Suite(.serialized) struct APIKeyTests {
    @Test func secretKeysAuthenticateInEveryAcceptedHeader() async throws {
        let fixture = try await AuthFixture.make()
        let viaHeader = await fixture.get("/v1/probe/read", key: fixture.liveKey)
        #expect(viaHeader.status == 200)
        #expect(viaHeader.bodyJSON?["mode"] == "live")
        let lower = await fixture.client.send(.get, "/v1/probe/read", headers: ["x-api-key": fixture.testKey])
        #expect(lower.bodyJSON?["mode"] == "test")
        let bearer = await fixture.client.send(.get, "/v1/probe/read", headers: ["Authorization": "Bearer \(fixture.liveKey)"])
        #expect(bearer.status == 200)
        #expect(viaHeader.headers["X-RateLimit-Limit"] == "1000")
        #expect(viaHeader.bodyJSON?["fingerprint"]?.stringValue?.count == 12)
    }

    @Test func missingInvalidAndDoubleCredentialsGetDocumentedErrors() async throws {
        let fixture = try await AuthFixture.make()
        let missing = await fixture.get("/v1/probe/read", key: nil)
        #expect(missing.status == 401)
        #expect(missing.bodyJSON?["error"] == "UNAUTHORIZED")
        #expect(missing.bodyJSON?["message"] == "Missing or invalid X-Api-Key / bearer token")
        #expect(missing.bodyJSON?["requestId"]?.stringValue?.hasPrefix("req_") == true)

        let wrong = await fixture.get("/v1/probe/read", key: "sk_live_" + String(repeating: "0", count: 48))
        #expect(wrong.status == 401)
        let garbage = await fixture.get("/v1/probe/read", key: String(repeating: "x", count: 5000))
        #expect(garbage.status == 401)
        #expect(!(garbage.bodyText.contains("xxxx")))

        let both = await fixture.get("/v1/probe/read", key: fixture.liveKey, extra: ["Authorization": "Bearer eyJhbGciOi.x.y"])
        #expect(both.status == 400)
        #expect(both.bodyJSON?["message"]?.stringValue?.contains("never both") == true)

        let queryKey = await fixture.client.send(.get, "/v1/probe/read?apiKey=\(fixture.liveKey)")
        #expect(queryKey.status == 401)
        // Accepted on a WebSocket route: past the guard, the handshake check answers (426: no Upgrade headers).
        let webSocket = await fixture.client.send(.get, "/v1/probe/ws?apiKey=\(fixture.liveKey)")
        #expect(webSocket.status == 426)
    }

    @Test func scopesAreEnforcedWith403() async throws {
        let fixture = try await AuthFixture.make()
        let narrow = try await fixture.auth.createSecretKey(merchantId: fixture.merchantId, mode: .test,
                                                            scopes: ["transactions:read"])
        #expect(await fixture.get("/v1/probe/read", key: narrow.secret).status == 200)
        let forbidden = await fixture.get("/v1/probe/narrow", key: narrow.secret)
        #expect(forbidden.status == 403)
        #expect(forbidden.bodyJSON?["error"] == "FORBIDDEN")
        #expect(forbidden.bodyJSON?["message"] == "API key is valid but lacks permission for this operation")
    }

    @Test func createListRotateAndRevokeKeys() async throws {
        let fixture = try await AuthFixture.make()
        let created = await fixture.client.send(.post, "/v1/api-keys", headers: ["X-Api-Key": fixture.testKey],
                                                json: ["scopes": ["transactions:read"], "name": "till 1"])
        #expect(created.status == 201)
        let secret = try #require(created.bodyJSON?["secret"]?.stringValue)
        let id = try #require(created.bodyJSON?["id"]?.stringValue)
        #expect(secret.hasPrefix("sk_test_"))
        #expect(created.bodyJSON?["livemode"] == false)

        let list = await fixture.get("/v1/api-keys", key: fixture.testKey)
        #expect(list.status == 200)
        #expect(!list.bodyText.contains(secret))
        #expect(!list.bodyText.contains(String(secret.dropFirst(12))))
        let listed = list.bodyJSON?["data"]?.arrayValue ?? []
        #expect(listed.count == 2)
        #expect(listed.allSatisfy { $0["livemode"] == false })
        #expect(listed.contains { $0["last4"]?.stringValue == String(secret.suffix(4)) })

        let rotated = await fixture.client.send(.post, "/v1/api-keys/\(id)/rotate", headers: ["X-Api-Key": fixture.testKey])
        #expect(rotated.status == 201)
        let newSecret = try #require(rotated.bodyJSON?["secret"]?.stringValue)
        #expect(await fixture.get("/v1/probe/read", key: secret).status == 200)
        #expect(await fixture.get("/v1/probe/read", key: newSecret).status == 200)
        fixture.clock.advance(seconds: 24 * 3600 - 5)
        #expect(await fixture.get("/v1/probe/read", key: secret).status == 200)
        fixture.clock.advance(seconds: 10)
        #expect(await fixture.get("/v1/probe/read", key: secret).status == 401)
        #expect(await fixture.get("/v1/probe/read", key: newSecret).status == 200)

        let newId = try #require(rotated.bodyJSON?["id"]?.stringValue)
        let revoked = await fixture.client.send(.delete, "/v1/api-keys/\(newId)", headers: ["X-Api-Key": fixture.testKey])
        #expect(revoked.status == 200)
        #expect(await fixture.get("/v1/probe/read", key: newSecret).status == 401)
        let again = await fixture.client.send(.delete, "/v1/api-keys/\(newId)", headers: ["X-Api-Key": fixture.testKey])
        #expect(again.status == 404)
    }

    @Test func testKeysNeverSeeLiveData() async throws {
        let fixture = try await AuthFixture.make()
        let liveOnly = try await fixture.auth.createSecretKey(merchantId: fixture.merchantId, mode: .live, name: "live till")
        let list = await fixture.get("/v1/api-keys", key: fixture.testKey)
        #expect(!list.bodyText.contains(liveOnly.id))
        let revoke = await fixture.client.send(.delete, "/v1/api-keys/\(liveOnly.id)", headers: ["X-Api-Key": fixture.testKey])
        #expect(revoke.status == 404)
        #expect(await fixture.get("/v1/probe/read", key: liveOnly.secret).status == 200)
    }

    @Test func revocationReachesASecondInstanceAtOnce() async throws {
        let first = try await AuthFixture.make()
        let second = try await AuthFixture.make(database: first.database)
        let background = Task { await second.auth.runBackgroundTasks() }
        defer { background.cancel() }
        let key = try await first.auth.createSecretKey(merchantId: first.merchantId, mode: .test)
        #expect(await second.get("/v1/probe/read", key: key.secret).status == 200)  // now cached on the second
        try await Task.sleep(for: .milliseconds(300))  // the listener is subscribed
        let revoke = await first.client.send(.delete, "/v1/api-keys/\(key.id)", headers: ["X-Api-Key": first.testKey])
        #expect(revoke.status == 200)
        var status = 0
        for _ in 0..<50 {
            status = await second.get("/v1/probe/read", key: key.secret).status
            if status == 401 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(status == 401)
    }

    @Test func suspendedMerchantsKeysStopWorking() async throws {
        let fixture = try await AuthFixture.make()
        #expect(await fixture.get("/v1/probe/read", key: fixture.liveKey).status == 200)
        try await fixture.auth.setMerchantStatus(merchantId: fixture.merchantId, suspended: true)
        fixture.auth.cache.removeAll()
        #expect(await fixture.get("/v1/probe/read", key: fixture.liveKey).status == 401)
    }
}

extension JSONValue {
    var arrayValue: [JSONValue]? { if case .array(let values) = self { return values }; return nil }
}
