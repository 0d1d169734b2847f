import AccessContract
import Crypto
import Foundation
import Kernel
import Postgres
import Testing
import AtlasTestSupport
@testable import Auth

@Suite(.serialized) struct OAuthVerifierTests {
    static let unauthorizedMessage = "Missing or invalid X-Api-Key / bearer token"

    func expectRejected(_ response: Response, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == 401, sourceLocation: sourceLocation)
        #expect(response.bodyJSON?["error"] == "UNAUTHORIZED", sourceLocation: sourceLocation)
        #expect(response.bodyJSON?["message"] == .string(Self.unauthorizedMessage), sourceLocation: sourceLocation)
        #expect(response.bodyJSON?["requestId"]?.stringValue?.hasPrefix("req_") == true, sourceLocation: sourceLocation)
    }

    @Test func tokenWorksOnAGuardedRouteAndScopesAreEnforced() async throws {
        let fixture = try await OAuthFixture.make()
        let token = try await fixture.token(scope: "transactions:read")
        let response = await fixture.get("/v1/probe/read", bearer: token)
        #expect(response.status == 200)
        #expect(response.bodyJSON?["kind"] == "oauth_client")
        #expect(response.bodyJSON?["mode"] == "test")
        #expect(response.bodyJSON?["merchantId"] == .string(fixture.merchantId))
        let jti = try #require(OAuthFixture.decode(token)?.claims["jti"]?.stringValue)
        #expect(response.bodyJSON?["fingerprint"] == .string(String(jti.prefix(12))))
        #expect(response.headers["X-RateLimit-Limit"] == "1000")
        let padded = await fixture.client.send(.get, "/v1/probe/read", headers: ["Authorization": "Bearer   \(token) \t"])
        #expect(padded.status == 200)

        let forbidden = await fixture.get("/v1/probe/narrow", bearer: token)
        #expect(forbidden.status == 403)
        #expect(forbidden.bodyJSON?["error"] == "FORBIDDEN")
        let wide = try await fixture.token(scope: "webhooks:manage")
        #expect(await fixture.get("/v1/probe/narrow", bearer: wide).status == 200)
        #expect(await fixture.get("/v1/probe/read", bearer: wide).status == 403)
    }

    @Test func principalCarriesTheTerminalAndClient() async throws {
        let fixture = try await OAuthFixture.make()
        let token = try await fixture.token(terminalId: OAuthFixture.otherTerminalId)
        let principal = try #require(try await fixture.auth.oauth.verifier.verify(
            token: token, requirement: AccessRequirement(surface: .commerce)))
        #expect(principal.kind == .oauthClient)
        #expect(principal.id == fixture.clientId)
        #expect(principal.terminalId == OAuthFixture.otherTerminalId)
        #expect(principal.scopes == CommerceScopes.all)
        #expect(principal.tenant == TenantContext(merchantId: fixture.merchantId, mode: .test))
        #expect(principal.organizationId?.hasPrefix("org_") == true)
        // Something that is not a JWT is not this verifier's to judge.
        #expect(try await fixture.auth.oauth.verifier.verify(token: "opaque", requirement: AccessRequirement(surface: .commerce)) == nil)
    }

    @Test func tamperedTokensAreRejected() async throws {
        let fixture = try await OAuthFixture.make()
        let token = try await fixture.token(scope: "transactions:read")
        #expect(await fixture.get("/v1/probe/read", bearer: token).status == 200)  // now in the verified cache
        let parts = token.split(separator: ".").map(String.init)
        // Flip one character in the middle of the signature (the last one may carry padding bits).
        var signature = Array(parts[2])
        let middle = signature.count / 2
        signature[middle] = signature[middle] == "A" ? "B" : "A"
        expectRejected(await fixture.get("/v1/probe/read", bearer: parts[0] + "." + parts[1] + "." + String(signature)))
        // Widen the scope in the payload but keep the signature.
        var claims = try #require(OAuthFixture.decode(token)).claims
        claims["scope"] = "webhooks:manage"
        let widened = Encoding.base64URL(JSONValue.object(claims).serialized())
        expectRejected(await fixture.get("/v1/probe/narrow", bearer: parts[0] + "." + widened + "." + parts[2]))
        expectRejected(await fixture.get("/v1/probe/read", bearer: parts[0] + "." + parts[1]))
        expectRejected(await fixture.get("/v1/probe/read", bearer: "eyJ.eyJ.e30"))
        expectRejected(await fixture.get("/v1/probe/read", bearer: token + "x"))
    }

    @Test func algorithmNoneAndHS256AreRejected() async throws {
        let fixture = try await OAuthFixture.make()
        let key = try await fixture.auth.oauth.signingKeys.signingKey()
        let claims = fixture.claims()
        let none = Encoding.base64URL(JSONValue.object(["alg": "none", "typ": "JWT", "kid": .string(key.kid)]).serialized())
            + "." + Encoding.base64URL(JSONValue.object(claims).serialized()) + "."
        expectRejected(await fixture.get("/v1/probe/read", bearer: none))
        // HS256 keyed with the public key PEM: the classic algorithm-confusion attack.
        let confused = CompactJWS.sign(header: ["alg": "HS256", "typ": "JWT", "kid": .string(key.kid)], claims: .object(claims)) {
            OpenSSLCryptoService().hmacSHA256(key: Array(key.publicKeyPEM.utf8), message: $0)
        }
        expectRejected(await fixture.get("/v1/probe/read", bearer: confused))
        for alg: JSONValue in ["rs256", "RS512", "PS256", 256] {
            let forged = try await fixture.forge(claims: claims, header: ["alg": alg, "typ": "JWT", "kid": .string(key.kid)])
            expectRejected(await fixture.get("/v1/probe/read", bearer: forged))
        }
        let critical = try await fixture.forge(claims: claims, header: ["alg": "RS256", "kid": .string(key.kid), "crit": ["exp"]])
        expectRejected(await fixture.get("/v1/probe/read", bearer: critical))
        // The same claims with the genuine header pass, so the rejections above are about the header.
        #expect(await fixture.get("/v1/probe/read", bearer: try await fixture.forge(claims: claims)).status == 200)
    }

    @Test func expiryAndNotBeforeAllowSixtySecondsOfSkew() async throws {
        let fixture = try await OAuthFixture.make()
        let token = try await fixture.token(scope: "transactions:read")
        fixture.clock.advance(seconds: 3_600 + 59)
        #expect(await fixture.get("/v1/probe/read", bearer: token).status == 200)
        fixture.clock.advance(seconds: 2)
        expectRejected(await fixture.get("/v1/probe/read", bearer: token))

        var claims = fixture.claims()
        claims["nbf"] = .int(fixture.clock.unixSeconds() + 120)
        expectRejected(await fixture.get("/v1/probe/read", bearer: try await fixture.forge(claims: claims)))
        claims["nbf"] = .int(fixture.clock.unixSeconds() + 30)
        #expect(await fixture.get("/v1/probe/read", bearer: try await fixture.forge(claims: claims)).status == 200)
        claims["iat"] = .int(fixture.clock.unixSeconds() + 3_000)
        expectRejected(await fixture.get("/v1/probe/read", bearer: try await fixture.forge(claims: claims)))
        var noExpiry = fixture.claims()
        noExpiry["exp"] = nil
        expectRejected(await fixture.get("/v1/probe/read", bearer: try await fixture.forge(claims: noExpiry)))
        var fractional = fixture.claims()
        fractional["exp"] = .double(Double(fixture.clock.unixSeconds()) + 100.5)  // only integer NumericDates
        expectRejected(await fixture.get("/v1/probe/read", bearer: try await fixture.forge(claims: fractional)))
    }

    @Test func issuerAudienceModeAndSubjectAreChecked() async throws {
        let fixture = try await OAuthFixture.make()
        let cases: [(String, JSONValue?)] = [
            ("iss", "https://evil.example"), ("iss", nil), ("aud", "atlas-payments"), ("aud", ["other"]), ("aud", nil),
            ("mode", "prod"), ("mode", "live"), ("sub", "cli_01JQABC1234567890123456789"), ("merchant_id", "mer_other"),
            ("terminal_id", "TID-NOPE"), ("scope", 7), ("jti", nil),
        ]
        for (name, value) in cases {
            var claims = fixture.claims()
            claims[name] = value
            expectRejected(await fixture.get("/v1/probe/read", bearer: try await fixture.forge(claims: claims)))
        }
        var listed = fixture.claims()
        listed["aud"] = ["other", "atlas-commerce"]
        #expect(await fixture.get("/v1/probe/read", bearer: try await fixture.forge(claims: listed)).status == 200)

        // A configured issuer is what tokens carry and what verification expects.
        let before = try await fixture.token()
        fixture.auth.configureOAuth(issuer: "https://auth.example.test")
        let after = try await fixture.token()
        #expect(OAuthFixture.decode(after)?.claims["iss"] == "https://auth.example.test")
        #expect(await fixture.get("/v1/probe/read", bearer: after).status == 200)
        expectRejected(await fixture.get("/v1/probe/read", bearer: before))
    }

    @Test func unknownKidIsRejected() async throws {
        let fixture = try await OAuthFixture.make()
        let stranger = try OpenSSLCryptoService().generateRSAKeyPair(bits: 2048)
        let forged = try CompactJWS.sign(header: ["alg": "RS256", "typ": "JWT", "kid": "kid_unknown"], claims: .object(fixture.claims())) {
            try OpenSSLCryptoService().signRS256(message: $0, privateKeyPEM: stranger.privateKeyPEM)
        }
        expectRejected(await fixture.get("/v1/probe/read", bearer: forged))
        // A stranger's key under our kid fails the signature check.
        let key = try await fixture.auth.oauth.signingKeys.signingKey()
        let borrowed = try CompactJWS.sign(header: ["alg": "RS256", "typ": "JWT", "kid": .string(key.kid)], claims: .object(fixture.claims())) {
            try OpenSSLCryptoService().signRS256(message: $0, privateKeyPEM: stranger.privateKeyPEM)
        }
        expectRejected(await fixture.get("/v1/probe/read", bearer: borrowed))
        let missingKid = try await fixture.forge(claims: fixture.claims(), header: ["alg": "RS256", "typ": "JWT"])
        expectRejected(await fixture.get("/v1/probe/read", bearer: missingKid))
    }

    @Test func suspendedMerchantDisabledClientAndSuspendedTerminalStopTokens() async throws {
        let fixture = try await OAuthFixture.make()
        let token = try await fixture.token(scope: "transactions:read")
        let other = try await fixture.token(scope: "transactions:read", terminalId: OAuthFixture.otherTerminalId)
        #expect(await fixture.get("/v1/probe/read", bearer: token).status == 200)

        try await fixture.base.database.execute("UPDATE auth_terminals SET status = 'suspended' WHERE id = \(OAuthFixture.otherTerminalId)")
        fixture.auth.oauth.standing.removeAll()
        expectRejected(await fixture.get("/v1/probe/read", bearer: other))
        #expect(await fixture.get("/v1/probe/read", bearer: token).status == 200)

        // Disabling a client drops its cached standing at once on this instance.
        _ = try await fixture.auth.setOAuthClientDisabled(clientId: fixture.clientId, merchantId: fixture.merchantId, mode: .test,
                                                          disabled: true)
        expectRejected(await fixture.get("/v1/probe/read", bearer: token))
        _ = try await fixture.auth.setOAuthClientDisabled(clientId: fixture.clientId, merchantId: fixture.merchantId, mode: .test,
                                                          disabled: false)
        #expect(await fixture.get("/v1/probe/read", bearer: token).status == 200)

        // Suspending the merchant reaches the verifier through the credential channel (background task).
        let background = Task { await fixture.auth.runBackgroundTasks() }
        defer { background.cancel() }
        try await Task.sleep(for: .milliseconds(300))
        try await fixture.auth.setMerchantStatus(merchantId: fixture.merchantId, suspended: true)
        var status = 0
        for _ in 0..<50 {
            status = await fixture.get("/v1/probe/read", bearer: token).status
            if status == 401 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(status == 401)
        expectRejected(await fixture.get("/v1/probe/read", bearer: token))
    }

    @Test func bearerTokenPlusApiKeyIsRejected() async throws {
        let fixture = try await OAuthFixture.make()
        let token = try await fixture.token()
        let both = await fixture.get("/v1/probe/read", bearer: token, extra: ["X-Api-Key": fixture.base.testKey])
        #expect(both.status == 400)
        #expect(both.bodyJSON?["error"] == "INVALID_REQUEST")
        #expect(both.bodyJSON?["message"] == "Send either X-Api-Key or Authorization: Bearer; use one, never both")
    }
}
