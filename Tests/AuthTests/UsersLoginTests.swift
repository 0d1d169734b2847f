import AccessContract
import Crypto
import Foundation
import Kernel
import Postgres
import Synchronization
import Testing
import AtlasTestSupport
@testable import Auth

@Suite(.serialized) struct UsersLoginTests {
    /// B1: tokens, user and organizations; email matched case-insensitively.
    @Test func loginReturnsTokensUserAndOrganizations() async throws {
        let fixture = try await UsersFixture.make()
        let response = await fixture.login(fixture.email.uppercased())
        #expect(response.status == 200)
        #expect(response.headers["Cache-Control"] == "no-store")
        let body = try #require(response.bodyJSON)
        let tokens = try #require(body["tokens"])
        #expect(tokens["token_type"] == "bearer")
        #expect(tokens["expires_in"] == 3600)
        let access = try #require(tokens["access_token"]?.stringValue)
        let refresh = try #require(tokens["refresh_token"]?.stringValue)
        #expect(UserTokenStore.isWellFormed(access, use: UserTokenStore.accessUse))
        #expect(UserTokenStore.isWellFormed(refresh, use: UserTokenStore.refreshUse))
        #expect(body["user"]?["id"] == .string(fixture.userId))
        #expect(body["user"]?["email"] == .string(fixture.email))
        #expect(body["user"]?["full_name"] == "Alice Accountant")
        #expect(body["user"]?["role"] == "accountant")
        #expect(body["user"]?["organization_id"] == .string(fixture.organizationId))
        #expect(body["user"]?["password_hash"] == nil)
        #expect(body["organizations"] == [["id": .string(fixture.organizationId), "name": "Books Ltd", "role": "accountant"]])
        // Only hashes are stored.
        let stored = try await fixture.database.query("SELECT token_hash FROM auth_user_access_tokens")
        #expect(stored.count == 1)
        let storedHash = try #require(stored.first).decode("token_hash", as: [UInt8].self)
        #expect(storedHash == OpenSSLCryptoService().sha256(Array(access.utf8)))
    }

    /// Spec B.4 rule 9: access and refresh tokens are RS256 JWTs with `sub`, `org`, `exp`, `iat`, `jti`, signed by a key
    /// the JWKS publishes; refresh rotates them (still JWTs) and the spent refresh token is refused.
    @Test func tokensAreJWTsSignedByAPublishedKey() async throws {
        let fixture = try await UsersFixture.make()
        let (access, refresh) = try await fixture.tokens()
        let published = try await fixture.auth.oauth.signingKeys.publishedKeys()
        for (token, use, lifetime) in [(access, "access", Int64(3600)), (refresh, "refresh", Int64(30 * 24 * 3600))] {
            let jws = try #require(CompactJWS.parse(token))
            #expect(jws.header["alg"] == "RS256" && jws.header["typ"] == "JWT")
            #expect(jws.claims["sub"] == .string(fixture.userId) && jws.claims["org"] == .string(fixture.organizationId))
            #expect(jws.claims["token_use"] == .string(use) && jws.claims["aud"] == "atlas-accounting")
            let issuedAt = try #require(jws.claims["iat"]?.intValue)
            #expect(try #require(jws.claims["exp"]?.intValue) - issuedAt == lifetime)
            #expect(jws.claims["jti"]?.stringValue?.count == 64)
            let key = try #require(published.first { $0.kid == jws.header["kid"]?.stringValue })
            #expect(OpenSSLCryptoService().verifyRS256(message: jws.signingInput, signature: jws.signature,
                                                       publicKeyPEM: key.publicKeyPEM))
        }
        #expect(await fixture.me(access).status == 200)
        #expect(!UserTokenStore.isWellFormed(access, use: UserTokenStore.refreshUse))
        // Signed with the same key as OAuth tokens, but another audience: the Commerce verifier refuses it.
        await #expect(throws: (any Error).self) {
            _ = try await fixture.auth.oauth.verifier.verify(token: access,
                                                             requirement: AccessRequirement(surface: .commerce, scopes: ["transactions:read"]))
        }
        let rotated = await fixture.refresh(refresh)
        #expect(rotated.status == 200)
        #expect(CompactJWS.parse(rotated.bodyJSON?["access_token"]?.stringValue ?? "") != nil)
        #expect(await fixture.refresh(refresh).status == 401)
    }

    /// B2: a wrong password and an unknown email get the same status and byte-identical body,
    /// and both pay for exactly one scrypt verification. (Counted, not timed: wall-clock ratios flaked
    /// when the whole suite ran in parallel on two cores.)
    @Test func wrongPasswordAndUnknownEmailAreIndistinguishable() async throws {
        let crypto = CountingCrypto()
        let fixture = try await UsersFixture.make(crypto: crypto)
        _ = fixture.auth.users.dummyPasswordHash()  // as runBackgroundTasks warms it at startup
        var wrong = Response()
        var unknown = Response()
        let before = crypto.passwordVerifications
        wrong = await fixture.login(password: "not the password")
        let wrongVerifications = crypto.passwordVerifications - before
        unknown = await fixture.login("nobody@example.com")
        let unknownVerifications = crypto.passwordVerifications - before - wrongVerifications
        let expected = accountingError("Incorrect email or password", status: 401)
        #expect(wrong.status == 401)
        #expect(unknown.status == 401)
        #expect(wrong.bodyText == expected)
        #expect(unknown.bodyText == expected)
        #expect(wrong.headers.fields.map(\.name) == unknown.headers.fields.map(\.name))
        // Neither short-circuits: each runs one scrypt verification (the unknown email against a dummy hash).
        #expect(wrongVerifications == 1)
        #expect(unknownVerifications == 1)
    }

    /// B3 and B32: field errors are 422 with the field named.
    @Test func validationErrorsName422Fields() async throws {
        let fixture = try await UsersFixture.make()
        let missingEmail = await fixture.client.send(.post, "/api/v1/auth/login", json: ["password": "x"])
        #expect(missingEmail.status == 422)
        #expect(missingEmail.bodyText == accountingError("email is required", status: 422, field: "email"))
        #expect(missingEmail.bodyJSON?["errors"]?.arrayValue?.first?["field"] == "email")

        let emptyPassword = await fixture.client.send(.post, "/api/v1/auth/login", json: ["email": "a@b.co", "password": ""])
        #expect(emptyPassword.bodyText == accountingError("password must not be empty", status: 422, field: "password"))

        let wrongType = await fixture.client.send(.post, "/api/v1/auth/login", json: ["email": 5, "password": "x"])
        #expect(wrongType.bodyText == accountingError("email must be a string", status: 422, field: "email"))

        let notJSON = await fixture.client.send(.post, "/api/v1/auth/login", headers: ["Content-Type": "application/json"],
                                                body: Array("{nope".utf8))
        #expect(notJSON.status == 422)
        #expect(notJSON.bodyText == accountingError("Request body is not valid JSON", status: 422))

        let missingToken = await fixture.client.send(.post, "/api/v1/auth/refresh", json: [:])
        #expect(missingToken.bodyText == accountingError("refresh_token is required", status: 422, field: "refresh_token"))
    }

    /// A suspended user with the right password gets 403; with a wrong one, the usual 401.
    /// Suspension also kills the tokens already issued, at once.
    @Test func suspendedUsersAreRefused() async throws {
        let fixture = try await UsersFixture.make()
        let (access, refresh) = try await fixture.tokens()
        #expect(await fixture.me(access).status == 200)
        try await fixture.auth.setUserStatus(userId: fixture.userId, suspended: true)
        let suspended = await fixture.login()
        #expect(suspended.status == 403)
        #expect(suspended.bodyText == accountingError("User account is suspended", status: 403))
        #expect(await fixture.login(password: "wrong password").bodyText == accountingError("Incorrect email or password", status: 401))
        #expect(await fixture.me(access).status == 401)
        #expect(await fixture.refresh(refresh).status == 401)
        try await fixture.auth.setUserStatus(userId: fixture.userId, suspended: false)
        #expect(await fixture.login().status == 200)
    }

    /// A suspended merchant's users cannot log in or use their tokens.
    @Test func suspendedMerchantStopsItsUsers() async throws {
        let fixture = try await UsersFixture.make()
        let (access, _) = try await fixture.tokens()
        try await fixture.auth.setMerchantStatus(merchantId: fixture.merchantId, suspended: true)
        fixture.auth.users.cache.apply("*")  // what the NOTIFY on the key channel does with a listener running
        #expect(await fixture.me(access).status == 401)
        #expect(await fixture.login().status == 403)
    }

    /// Login attempts are limited per email and IP: the 11th in a minute gets 429 with Retry-After.
    @Test func loginAttemptsAreRateLimited() async throws {
        let fixture = try await UsersFixture.make()
        for _ in 0..<10 { #expect(await fixture.login(password: "wrong password").status == 401) }
        let limited = await fixture.login()
        #expect(limited.status == 429)
        #expect(limited.headers["Retry-After"] != nil)
        #expect(limited.bodyJSON?["status_code"] == 429)
        #expect(await fixture.login("someone.else@example.com").status == 401)  // another email is its own bucket
        fixture.clock.advance(seconds: 60)
        #expect(await fixture.login().status == 200)
    }

    /// login, login.failed, refresh, refresh.reuse_detected and logout reach the audit log, without secrets.
    @Test func credentialEventsAreAudited() async throws {
        let fixture = try await UsersFixture.make()
        _ = await fixture.login(password: "wrong password")
        let (access, refresh) = try await fixture.tokens()
        let rotated = await fixture.refresh(refresh)
        #expect(rotated.status == 200)
        #expect(await fixture.refresh(refresh).status == 401)
        let (second, _) = try await fixture.tokens()
        #expect(await fixture.logout(second).status == 204)
        await fixture.auth.flushAudit()
        let rows = try await fixture.database.query(
            "SELECT event, principal_id, detail::text AS detail FROM auth_audit_log WHERE event <> 'request' ORDER BY id")
        let events = rows.compactMap { $0.text("event") }
        for event in ["login.failed", "login", "refresh", "refresh.reuse_detected", "logout"] {
            #expect(events.contains(event), "missing \(event) in \(events)")
        }
        #expect(rows.allSatisfy { $0.text("principal_id") == fixture.userId })
        let everything = try await fixture.database.query("SELECT row_to_json(a)::text AS j FROM auth_audit_log a")
        for row in everything {
            let text = row.text("j") ?? ""
            #expect(!text.contains(String(access.dropFirst(3))) && !text.contains(String(refresh.dropFirst(3))))
            #expect(!text.contains(UsersFixture.password))
        }
    }

    @Test func administrationRejectsBadInput() async throws {
        let fixture = try await UsersFixture.make()
        await #expect(throws: UserAdministrationError.self) {
            try await fixture.auth.createUser(organizationId: fixture.organizationId, email: fixture.email.uppercased(),
                                              password: UsersFixture.password, role: .employee)
        }
        await #expect(throws: UserAdministrationError.self) {
            try await fixture.auth.createUser(organizationId: fixture.organizationId, email: "not-an-email",
                                              password: UsersFixture.password, role: .employee)
        }
        await #expect(throws: UserAdministrationError.self) {
            try await fixture.auth.createUser(organizationId: fixture.organizationId, email: "short@example.com",
                                              password: "short", role: .employee)
        }
        await #expect(throws: UserAdministrationError.self) {
            try await fixture.auth.createUser(organizationId: "org_missing", email: "x@example.com",
                                              password: UsersFixture.password, role: .employee)
        }
        let empty = try await fixture.auth.createOrganization(name: "Empty")
        await #expect(throws: UserAdministrationError.self) {
            try await fixture.auth.createUser(organizationId: empty, email: "y@example.com",
                                              password: UsersFixture.password, role: .owner)
        }
        let mixed = try await fixture.auth.createUser(organizationId: fixture.organizationId, email: " Bob@Example.COM ",
                                                      password: UsersFixture.password, role: .bookkeeper)
        let row = try await fixture.database.queryFirst("SELECT email, password_hash FROM auth_users WHERE id = \(mixed)")
        #expect(row?.text("email") == "bob@example.com")
        #expect(row?.text("password_hash")?.contains(UsersFixture.password) == false)
        #expect(await fixture.login("BOB@example.com").status == 200)
    }
}

/// OpenSSL crypto that counts password verifications (each is one scrypt run).
final class CountingCrypto: CryptoService {
    private let base = OpenSSLCryptoService()
    private let verifications = Mutex(0)
    var passwordVerifications: Int { verifications.withLock { $0 } }

    func sha256(_ data: [UInt8]) -> [UInt8] { base.sha256(data) }
    func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] { base.hmacSHA256(key: key, message: message) }
    func randomBytes(count: Int) -> [UInt8] { base.randomBytes(count: count) }
    func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool { base.constantTimeEquals(lhs, rhs) }
    func hashPassword(_ password: String) throws -> String { try base.hashPassword(password) }
    func verifyPassword(_ password: String, hash: String) -> Bool {
        verifications.withLock { $0 += 1 }
        return base.verifyPassword(password, hash: hash)
    }
    func signRS256(message: [UInt8], privateKeyPEM: String) throws -> [UInt8] {
        try base.signRS256(message: message, privateKeyPEM: privateKeyPEM)
    }
    func verifyRS256(message: [UInt8], signature: [UInt8], publicKeyPEM: String) -> Bool {
        base.verifyRS256(message: message, signature: signature, publicKeyPEM: publicKeyPEM)
    }
    func generateRSAKeyPair(bits: Int) throws -> (privateKeyPEM: String, publicKeyPEM: String) {
        try base.generateRSAKeyPair(bits: bits)
    }
    func rsaPublicComponents(publicKeyPEM: String) throws -> (modulus: [UInt8], exponent: [UInt8]) {
        try base.rsaPublicComponents(publicKeyPEM: publicKeyPEM)
    }
}
