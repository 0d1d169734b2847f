import Crypto
import Foundation
import Kernel
import Postgres
import Testing
import AtlasTestSupport
@testable import Auth

@Suite(.serialized) struct OAuthTokenEndpointTests {
    @Test func jsonRequestIssuesTheDocumentedResponseAndToken() async throws {
        let fixture = try await OAuthFixture.make()
        let response = await fixture.requestToken(fixture.body())
        #expect(response.status == 200)
        #expect(response.headers["Cache-Control"] == "no-store")
        #expect(response.headers["Pragma"] == "no-cache")
        guard case .object(let body)? = response.bodyJSON else { Issue.record("not JSON"); return }
        #expect(Set(body.keys) == ["access_token", "token_type", "expires_in", "scope", "terminal_id"])
        #expect(body["token_type"] == "Bearer")
        #expect(body["expires_in"] == 3600)
        #expect(body["terminal_id"] == .string(OAuthFixture.terminalId))
        #expect(body["scope"]?.stringValue == CommerceScopes.all.sorted().joined(separator: " "))

        let token = try #require(body["access_token"]?.stringValue)
        #expect(token.hasPrefix("eyJ"))
        let (header, claims) = try #require(OAuthFixture.decode(token))
        #expect(Set(header.keys) == ["alg", "typ", "kid"])
        #expect(header["alg"] == "RS256")
        #expect(header["typ"] == "JWT")
        #expect(header["kid"]?.stringValue?.hasPrefix("kid_") == true)
        #expect(Set(claims.keys) == ["iss", "aud", "sub", "iat", "nbf", "exp", "jti", "scope", "terminal_id",
                                     "merchant_id", "mode"])
        #expect(claims["iss"] == "https://auth.atlas.local")
        #expect(claims["aud"] == "atlas-commerce")
        #expect(claims["sub"] == .string(fixture.clientId))
        #expect(claims["merchant_id"] == .string(fixture.merchantId))
        #expect(claims["mode"] == "test")
        #expect(claims["terminal_id"] == .string(OAuthFixture.terminalId))
        #expect(claims["iat"] == .int(fixture.clock.unixSeconds()))
        #expect(claims["nbf"] == claims["iat"])
        #expect(claims["exp"]?.intValue == (claims["iat"]?.intValue ?? 0) + 3600)
        #expect(claims["jti"]?.stringValue?.count == 32)
        #expect(fixture.clientId.hasPrefix("cli_") && TypedID(rawValue: fixture.clientId).matches(.client))
        #expect(fixture.secret.hasPrefix("cs_test_") && fixture.secret.count == 8 + 64)
    }

    @Test func formBodyAndBasicAuthenticationWork() async throws {
        let fixture = try await OAuthFixture.make()
        let form = "grant_type=client_credentials&client_id=\(fixture.clientId)&client_secret=\(fixture.secret)"
            + "&scope=transactions%3Aread+terminal%3Aread&terminal_id=\(OAuthFixture.terminalId)"
        let viaForm = await fixture.requestToken(form: form)
        #expect(viaForm.status == 200)
        #expect(viaForm.bodyJSON?["scope"] == "terminal:read transactions:read")

        let basic = OAuthFixture.basic(fixture.clientId, fixture.secret)
        let viaBasicForm = await fixture.requestToken(form: "grant_type=client_credentials&terminal_id=\(OAuthFixture.terminalId)",
                                                      headers: ["Authorization": basic])
        #expect(viaBasicForm.status == 200)
        let viaBasicJSON = await fixture.requestToken(["grant_type": "client_credentials", "terminal_id": .string(OAuthFixture.terminalId),
                                                       "client_id": .string(fixture.clientId)],
                                                      headers: ["Authorization": basic])
        #expect(viaBasicJSON.status == 200)
        #expect(viaBasicJSON.bodyJSON?["token_type"] == "Bearer")
    }

    @Test func requestErrorsUseTheRFC6749Body() async throws {
        let fixture = try await OAuthFixture.make()
        let terminal = OAuthFixture.terminalId
        // (response, status, error, description)
        var cases: [(Response, Int, String, String)] = []
        cases.append((await fixture.client.send(.post, "/v1/token", body: Array("{}".utf8)), 400, "invalid_request",
                      "Content-Type must be application/json or application/x-www-form-urlencoded"))
        cases.append((await fixture.client.send(.post, "/v1/token", headers: ["Content-Type": "text/plain"], body: Array("x".utf8)),
                      400, "invalid_request", "Content-Type must be application/json or application/x-www-form-urlencoded"))
        cases.append((await fixture.client.send(.post, "/v1/token", headers: ["Content-Type": "application/json"],
                                                body: Array("{not json".utf8)), 400, "invalid_request",
                      "Request body must be a JSON object"))
        cases.append((await fixture.requestToken(fixture.body(["grant_type": .null])), 400, "invalid_request", "grant_type is required"))
        cases.append((await fixture.requestToken(fixture.body(["grant_type": "password"])), 400, "unsupported_grant_type",
                      "grant_type must be client_credentials"))
        cases.append((await fixture.requestToken(fixture.body(["terminal_id": .null])), 400, "invalid_request", "terminal_id is required"))
        cases.append((await fixture.requestToken(fixture.body(["scope": 5])), 400, "invalid_request", "scope must be a string"))
        cases.append((await fixture.requestToken(form: "grant_type=client_credentials&grant_type=client_credentials"), 400,
                      "invalid_request", "grant_type is repeated"))
        cases.append((await fixture.requestToken(form: "grant_type=client_credentials&client_id=%zz"), 400,
                      "invalid_request", "Request body is not valid form encoding"))
        cases.append((await fixture.requestToken(fixture.body(), headers: ["Authorization": OAuthFixture.basic(fixture.clientId, fixture.secret)]),
                      400, "invalid_request", "Send client credentials in the Authorization header or the body, not both"))
        cases.append((await fixture.requestToken(["grant_type": "client_credentials", "terminal_id": .string(terminal), "client_id": "cli_other"],
                                                 headers: ["Authorization": OAuthFixture.basic(fixture.clientId, fixture.secret)]),
                      400, "invalid_request", "client_id in the body differs from the Authorization header"))
        cases.append((await fixture.requestToken(fixture.body(["scope": "transactions:read refunds:everything"])), 400,
                      "invalid_scope", "Unknown scope refunds:everything"))
        cases.append((await fixture.requestToken(fixture.body(["terminal_id": "TID-NOPE"])), 400, "invalid_grant",
                      "terminal_id is not available to this client"))
        for (response, status, error, description) in cases {
            #expect(response.status == status, "\(response.bodyText)")
            #expect(oauthError(response).0 == error, "\(response.bodyText)")
            #expect(oauthError(response).1 == description, "\(response.bodyText)")
            #expect(response.headers["Cache-Control"] == "no-store")
        }
        let wrongMethod = await fixture.client.send(.get, "/v1/token")
        #expect(wrongMethod.status == 405)
        #expect(oauthError(wrongMethod).0 == "invalid_request")
        #expect(oauthError(wrongMethod).1 == "Method not allowed")
    }

    @Test func expiresInBounds() async throws {
        let fixture = try await OAuthFixture.make()
        let message = "expires_in must be an integer from 1 to 86400"
        for bad: JSONValue in [0, -5, 86_401, "abc", "1.5"] {
            let response = await fixture.requestToken(fixture.body(["expires_in": bad]))
            #expect(response.status == 400)
            #expect(oauthError(response).0 == "invalid_request")
            #expect(oauthError(response).1 == message)
        }
        let formBad = await fixture.requestToken(form: "grant_type=client_credentials&client_id=\(fixture.clientId)"
            + "&client_secret=\(fixture.secret)&terminal_id=\(OAuthFixture.terminalId)&expires_in=86401")
        #expect(oauthError(formBad).1 == message)
        for good: JSONValue in [1, 86_400, "600"] {
            let response = await fixture.requestToken(fixture.body(["expires_in": good]))
            #expect(response.status == 200)
            let expected = good.intValue ?? Int64(good.stringValue ?? "") ?? 0
            #expect(response.bodyJSON?["expires_in"] == .int(expected))
            let claims = try #require(OAuthFixture.decode(response.bodyJSON?["access_token"]?.stringValue ?? "")).claims
            #expect((claims["exp"]?.intValue ?? 0) - (claims["iat"]?.intValue ?? 0) == expected)
        }
    }

    @Test func clientAuthenticationFailuresAreInvalidClient() async throws {
        let fixture = try await OAuthFixture.make()
        var failures: [Response] = []
        failures.append(await fixture.requestToken(fixture.body(["client_secret": .string("cs_test_" + String(repeating: "0", count: 64))])))
        failures.append(await fixture.requestToken(fixture.body(["client_secret": .null])))
        failures.append(await fixture.requestToken(fixture.body(["client_id": .null, "client_secret": .null])))
        failures.append(await fixture.requestToken(fixture.body(["client_id": "cli_01JQABC1234567890123456789"])))
        failures.append(await fixture.requestToken(fixture.body(["client_id": "not-a-client"])))
        failures.append(await fixture.requestToken(fixture.body(["client_secret": "sk_test_abc"])))
        for response in failures {
            #expect(response.status == 401)
            #expect(oauthError(response).0 == "invalid_client")
            #expect(oauthError(response).1 == "Client authentication failed")
            #expect(response.headers["WWW-Authenticate"] == nil)
            #expect(!response.bodyText.contains(fixture.secret))
        }
        let badBasic = await fixture.requestToken(form: "grant_type=client_credentials&terminal_id=\(OAuthFixture.terminalId)",
                                                  headers: ["Authorization": OAuthFixture.basic(fixture.clientId, "cs_test_wrong")])
        #expect(badBasic.status == 401)
        #expect(oauthError(badBasic).0 == "invalid_client")
        #expect(badBasic.headers["WWW-Authenticate"] == "Basic realm=\"atlas\"")
        let garbageBasic = await fixture.requestToken(form: "grant_type=client_credentials&terminal_id=\(OAuthFixture.terminalId)",
                                                      headers: ["Authorization": "Basic !!!"])
        #expect(garbageBasic.status == 401)
        #expect(garbageBasic.headers["WWW-Authenticate"] == "Basic realm=\"atlas\"")

        // A live client's secret never works as another client's, and a test secret is not a live one.
        let live = try await fixture.auth.createOAuthClient(merchantId: fixture.merchantId, mode: .live)
        #expect(live.secret.hasPrefix("cs_live_"))
        let crossed = await fixture.requestToken(fixture.body(secret: live.secret))
        #expect(crossed.status == 401)
    }

    @Test func suspendedMerchantAndDisabledClientGetInvalidClient() async throws {
        let fixture = try await OAuthFixture.make()
        #expect(await fixture.requestToken(fixture.body()).status == 200)
        #expect(try await fixture.auth.setOAuthClientDisabled(clientId: fixture.clientId, merchantId: fixture.merchantId,
                                                              mode: .test, disabled: true))
        let disabled = await fixture.requestToken(fixture.body())
        #expect(disabled.status == 401)
        #expect(oauthError(disabled).0 == "invalid_client")
        _ = try await fixture.auth.setOAuthClientDisabled(clientId: fixture.clientId, merchantId: fixture.merchantId,
                                                          mode: .test, disabled: false)
        #expect(await fixture.requestToken(fixture.body()).status == 200)
        try await fixture.auth.setMerchantStatus(merchantId: fixture.merchantId, suspended: true)
        let suspended = await fixture.requestToken(fixture.body())
        #expect(suspended.status == 401)
        #expect(oauthError(suspended).0 == "invalid_client")
        #expect(oauthError(suspended).1 == "Client authentication failed")
    }

    @Test func scopesAreASubsetOfTheClients() async throws {
        let fixture = try await OAuthFixture.make()
        let narrow = try await fixture.auth.createOAuthClient(merchantId: fixture.merchantId, mode: .test,
                                                              scopes: ["transactions:read", "terminal:read"])
        let all = await fixture.requestToken(fixture.body(clientId: narrow.id, secret: narrow.secret))
        #expect(all.bodyJSON?["scope"] == "terminal:read transactions:read")
        let one = await fixture.requestToken(fixture.body(["scope": "  transactions:read  "], clientId: narrow.id, secret: narrow.secret))
        #expect(one.bodyJSON?["scope"] == "transactions:read")
        let denied = await fixture.requestToken(fixture.body(["scope": "transactions:read transactions:write"],
                                                             clientId: narrow.id, secret: narrow.secret))
        #expect(denied.status == 400)
        #expect(oauthError(denied).0 == "invalid_scope")
        #expect(oauthError(denied).1 == "Scope transactions:write is not allowed for this client")
        await #expect(throws: OAuthAdminError.self) {
            _ = try await fixture.auth.createOAuthClient(merchantId: fixture.merchantId, mode: .test, scopes: ["root"])
        }
    }

    @Test func terminalBinding() async throws {
        let fixture = try await OAuthFixture.make()
        let bound = try await fixture.auth.createOAuthClient(merchantId: fixture.merchantId, mode: .test,
                                                             terminalIds: [OAuthFixture.terminalId])
        let allowed = await fixture.requestToken(fixture.body(clientId: bound.id, secret: bound.secret))
        #expect(allowed.status == 200)
        let claims = try #require(OAuthFixture.decode(allowed.bodyJSON?["access_token"]?.stringValue ?? "")).claims
        #expect(claims["terminal_id"] == .string(OAuthFixture.terminalId))
        let other = await fixture.requestToken(fixture.body(["terminal_id": .string(OAuthFixture.otherTerminalId)],
                                                            clientId: bound.id, secret: bound.secret))
        #expect(other.status == 400)
        #expect(oauthError(other).0 == "invalid_grant")
        #expect(oauthError(other).1 == "terminal_id is not available to this client")
        // The unrestricted client may use the other terminal, but not one of another mode or a suspended one.
        #expect(await fixture.requestToken(fixture.body(["terminal_id": .string(OAuthFixture.otherTerminalId)])).status == 200)
        try await fixture.auth.createTerminal(merchantId: fixture.merchantId, mode: .live, terminalId: "TID-LIVE-1")
        #expect(oauthError(await fixture.requestToken(fixture.body(["terminal_id": "TID-LIVE-1"]))).0 == "invalid_grant")
        try await fixture.base.database.execute("UPDATE auth_terminals SET status = 'suspended' WHERE id = \(OAuthFixture.otherTerminalId)")
        #expect(oauthError(await fixture.requestToken(fixture.body(["terminal_id": .string(OAuthFixture.otherTerminalId)]))).0 == "invalid_grant")
        await #expect(throws: OAuthAdminError.self) {
            _ = try await fixture.auth.createOAuthClient(merchantId: fixture.merchantId, mode: .test, terminalIds: ["TID-NOPE"])
        }
    }

    @Test func secretRotationOverlapsExactly24Hours() async throws {
        let fixture = try await OAuthFixture.make()
        let rotated = try #require(try await fixture.auth.rotateOAuthClientSecret(clientId: fixture.clientId,
                                                                                  merchantId: fixture.merchantId, mode: .test))
        #expect(rotated.secret != fixture.secret && rotated.secret.hasPrefix("cs_test_"))
        #expect(rotated.previousSecretExpiresAt.timeIntervalSince(fixture.clock.now()) == 86_400)
        #expect(await fixture.requestToken(fixture.body(secret: rotated.secret)).status == 200)
        fixture.clock.advance(seconds: 86_400 - 1)
        #expect(await fixture.requestToken(fixture.body()).status == 200)
        fixture.clock.advance(seconds: 2)
        let expired = await fixture.requestToken(fixture.body())
        #expect(expired.status == 401)
        #expect(oauthError(expired).0 == "invalid_client")
        #expect(await fixture.requestToken(fixture.body(secret: rotated.secret)).status == 200)
        // Another merchant's client id cannot be rotated from here.
        #expect(try await fixture.auth.rotateOAuthClientSecret(clientId: fixture.clientId, merchantId: fixture.merchantId,
                                                               mode: .live) == nil)
    }

    @Test func issuanceIsRateLimitedPerClient() async throws {
        let fixture = try await OAuthFixture.make()
        for _ in 0..<20 { #expect(await fixture.requestToken(fixture.body()).status == 200) }
        let limited = await fixture.requestToken(fixture.body())
        #expect(limited.status == 429)
        #expect(oauthError(limited).0 == "rate_limited")
        #expect(oauthError(limited).1 == "Too many token requests; retry after 1 seconds")
        #expect(limited.headers["Retry-After"] == "1")
        #expect(limited.headers["X-RateLimit-Limit"] == "60")
        // Another client has its own budget; the first recovers one token per second.
        let other = try await fixture.auth.createOAuthClient(merchantId: fixture.merchantId, mode: .test)
        #expect(await fixture.requestToken(fixture.body(clientId: other.id, secret: other.secret)).status == 200)
        fixture.clock.advance(seconds: 1)
        #expect(await fixture.requestToken(fixture.body()).status == 200)
        // Failed authentication never consumes the client's budget.
        fixture.clock.advance(seconds: 60)
        for _ in 0..<30 { _ = await fixture.requestToken(fixture.body(secret: "cs_test_wrong")) }
        #expect(await fixture.requestToken(fixture.body()).status == 200)
    }

    @Test func issuanceAndFailuresAreAuditedWithoutSecrets() async throws {
        let fixture = try await OAuthFixture.make()
        let token = try await fixture.token(scope: "transactions:read")
        _ = await fixture.requestToken(fixture.body(secret: "cs_test_" + String(repeating: "1", count: 64)))
        await fixture.auth.flushAudit()
        let rows = try await fixture.base.database.query("""
            SELECT event, principal_kind, principal_id, merchant_id, mode, credential_fingerprint, status, detail::text AS detail
            FROM auth_audit_log WHERE route = '/v1/token' ORDER BY id
            """)
        #expect(rows.count == 2)
        let issued = try #require(rows.first)
        #expect(issued.text("event") == "token.issued")
        #expect(issued.text("principal_kind") == "oauth_client")
        #expect(issued.text("principal_id") == fixture.clientId)
        #expect(issued.text("merchant_id") == fixture.merchantId)
        #expect(issued.text("mode") == "test")
        let jti = try #require(OAuthFixture.decode(token)?.claims["jti"]?.stringValue)
        #expect(issued.text("credential_fingerprint") == String(jti.prefix(12)))
        #expect(issued.text("detail")?.contains(OAuthFixture.terminalId) == true)
        let failed = try #require(rows.last)
        #expect(failed.text("event") == "auth.failed")
        #expect(failed.text("principal_id") == fixture.clientId)
        #expect(failed.text("status") == "401")
        let everything = try await fixture.base.database.query("SELECT row_to_json(a)::text AS row FROM auth_audit_log a")
        #expect(!everything.contains { $0.text("row")?.contains("cs_test_") == true })
        #expect(!everything.contains { $0.text("row")?.contains(token) == true })
    }
}
