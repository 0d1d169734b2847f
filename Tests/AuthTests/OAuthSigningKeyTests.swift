import Crypto
import Foundation
import Kernel
import Postgres
import Testing
import AtlasTestSupport
@testable import Auth

@Suite(.serialized) struct OAuthSigningKeyTests {
    func jwks(_ fixture: OAuthFixture) async -> (Response, [JSONValue]) {
        let response = await fixture.client.send(.get, "/.well-known/jwks.json")
        return (response, response.bodyJSON?["keys"]?.arrayValue ?? [])
    }

    @Test func jwksPublishesTheFirstKeyCreatedOnFirstUse() async throws {
        let fixture = try await OAuthFixture.make()
        let before = try await fixture.base.database.query("SELECT kid FROM auth_oauth_signing_keys")
        #expect(before.isEmpty)
        let (response, keys) = await jwks(fixture)
        #expect(response.status == 200)
        #expect(response.headers["Cache-Control"] == "public, max-age=300")
        #expect(response.headers["Content-Type"] == "application/json")
        #expect(keys.count == 1)
        guard case .object(let key)? = keys.first else { Issue.record("no key"); return }
        #expect(Set(key.keys) == ["kty", "use", "alg", "kid", "n", "e"])
        #expect(key["kty"] == "RSA" && key["use"] == "sig" && key["alg"] == "RS256")
        #expect(key["e"] == "AQAB")
        let modulus = try #require(Encoding.base64URLDecode(key["n"]?.stringValue ?? ""))
        #expect(modulus.count == 256)
        #expect(modulus.first != 0)
        // The published n/e are the token's verification key.
        let token = try await fixture.token()
        #expect(OAuthFixture.decode(token)?.header["kid"] == key["kid"])
        let (_, again) = await jwks(fixture)
        #expect(again == keys)
    }

    @Test func jwksNeedsNoCredentials() async throws {
        let fixture = try await OAuthFixture.make()
        let response = await fixture.client.send(.get, "/.well-known/jwks.json", headers: ["Authorization": "Bearer nonsense"])
        #expect(response.status == 200)
        #expect(await fixture.client.send(.post, "/.well-known/jwks.json").status == 405)
    }

    @Test func rotationKeepsTheOldKidUntilItsTokensHaveExpired() async throws {
        let fixture = try await OAuthFixture.make()
        let oldToken = try await fixture.token(scope: "transactions:read")
        let oldKid = try #require(OAuthFixture.decode(oldToken)?.header["kid"]?.stringValue)
        let longLived = await fixture.requestToken(fixture.body(["expires_in": 86_400, "scope": "transactions:read"]))
        let longToken = try #require(longLived.bodyJSON?["access_token"]?.stringValue)

        let newKid = try await fixture.auth.rotateOAuthSigningKey()
        #expect(newKid != oldKid)
        let newToken = try await fixture.token(scope: "transactions:read")
        #expect(OAuthFixture.decode(newToken)?.header["kid"] == .string(newKid))
        let (_, both) = await jwks(fixture)
        #expect(both.compactMap { $0["kid"]?.stringValue } == [newKid, oldKid])
        #expect(await fixture.get("/v1/probe/read", bearer: oldToken).status == 200)
        #expect(await fixture.get("/v1/probe/read", bearer: newToken).status == 200)

        // One second before every old-key token has expired, the old kid is still published and accepted.
        fixture.clock.advance(seconds: 86_400 - 1)
        try await fixture.auth.oauth.maintain()
        let (_, stillBoth) = await jwks(fixture)
        #expect(stillBoth.count == 2)
        #expect(await fixture.get("/v1/probe/read", bearer: longToken).status == 200)

        // Afterwards it is dropped from the JWKS and deleted.
        fixture.clock.advance(seconds: 2)
        try await fixture.auth.oauth.maintain()
        let (_, onlyNew) = await jwks(fixture)
        #expect(onlyNew.compactMap { $0["kid"]?.stringValue } == [newKid])
        let rows = try await fixture.base.database.query("SELECT kid FROM auth_oauth_signing_keys")
        #expect(rows.compactMap { $0.text("kid") } == [newKid])
        fixture.auth.oauth.signingKeys.clearCache()
        #expect(await fixture.get("/v1/probe/read", bearer: longToken).status == 401)
    }

    @Test func backgroundMaintenanceRotatesEveryThirtyDays() async throws {
        let fixture = try await OAuthFixture.make()
        try await fixture.auth.oauth.maintain()
        let first = try await fixture.auth.oauth.signingKeys.signingKey().kid
        fixture.clock.advance(seconds: 30 * 86_400 - 10)
        try await fixture.auth.oauth.maintain()
        #expect(try await fixture.auth.oauth.signingKeys.signingKey().kid == first)
        fixture.clock.advance(seconds: 20)
        try await fixture.auth.oauth.maintain()
        let second = try await fixture.auth.oauth.signingKeys.signingKey().kid
        #expect(second != first)
        let active = try await fixture.base.database.query("SELECT kid FROM auth_oauth_signing_keys WHERE retired_at IS NULL")
        #expect(active.compactMap { $0.text("kid") } == [second])
    }

    @Test func anotherInstanceSignsWithTheRotatedKeyAtOnce() async throws {
        let first = try await OAuthFixture.make()
        let second = try await AuthFixture.make(database: first.base.database)
        let oldKid = try await first.auth.oauth.signingKeys.signingKey().kid
        #expect(try await second.auth.oauth.signingKeys.signingKey().kid == oldKid)
        let newKid = try await first.auth.rotateOAuthSigningKey()
        #expect(try await second.auth.oauth.signingKeys.signingKey().kid == newKid)
    }

    @Test func concurrentFirstUseCreatesExactlyOneActiveKey() async throws {
        let fixture = try await OAuthFixture.make()
        let store = fixture.auth.oauth.signingKeys
        let kids = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<4 { group.addTask { try await store.signingKey().kid } }
            var kids: Set<String> = []
            for try await kid in group { kids.insert(kid) }
            return kids
        }
        #expect(kids.count == 1)
        let rows = try await fixture.base.database.query("SELECT kid FROM auth_oauth_signing_keys")
        #expect(rows.count == 1)
    }
}
