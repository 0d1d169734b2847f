import Crypto
import Foundation
import Kernel
import Postgres
import AtlasTestSupport
@testable import Auth

/// An `AuthFixture` with the OAuth tables, terminals TID-00012345 and TID-00067890 (test mode),
/// and one test-mode client allowed every Commerce scope on any terminal.
struct OAuthFixture {
    static let terminalId = "TID-00012345"
    static let otherTerminalId = "TID-00067890"

    let base: AuthFixture
    let clientId: String
    let secret: String

    var auth: AuthService { base.auth }
    var client: InProcessClient { base.client }
    var clock: ManualWallClock { base.clock }
    var merchantId: String { base.merchantId }

    static func make() async throws -> OAuthFixture {
        let database = try await TestDatabase.fresh(migrations: AuthSchema.migrations + OAuthService.migrations)
        let base = try await AuthFixture.make(database: database)
        for terminal in [terminalId, otherTerminalId] {
            try await base.auth.createTerminal(merchantId: base.merchantId, mode: .test, terminalId: terminal)
        }
        let created = try await base.auth.createOAuthClient(merchantId: base.merchantId, mode: .test)
        return OAuthFixture(base: base, clientId: created.id, secret: created.secret)
    }

    /// POST /v1/token with a JSON body.
    func requestToken(_ body: JSONValue, headers: HTTPHeaders = HTTPHeaders()) async -> Response {
        await client.send(.post, "/v1/token", headers: headers, json: body)
    }

    /// POST /v1/token with a form body.
    func requestToken(form: String, headers: HTTPHeaders = HTTPHeaders()) async -> Response {
        var headers = headers
        headers.add("Content-Type", "application/x-www-form-urlencoded")
        return await client.send(.post, "/v1/token", headers: headers, body: Array(form.utf8))
    }

    /// The standard JSON request for this fixture's client, with overrides (`.null` removes a field).
    func body(_ overrides: [String: JSONValue] = [:], clientId: String? = nil, secret: String? = nil) -> JSONValue {
        var object: [String: JSONValue] = [
            "grant_type": "client_credentials", "client_id": .string(clientId ?? self.clientId),
            "client_secret": .string(secret ?? self.secret), "terminal_id": .string(Self.terminalId),
        ]
        for (name, value) in overrides { object[name] = value == .null ? nil : value }
        return .object(object)
    }

    /// Issues a token and returns the access token (fails the test when issuance fails).
    func token(scope: String? = nil, terminalId: String = OAuthFixture.terminalId) async throws -> String {
        var overrides: [String: JSONValue] = ["terminal_id": .string(terminalId)]
        if let scope { overrides["scope"] = .string(scope) }
        let response = await requestToken(body(overrides))
        guard response.status == 200, let token = response.bodyJSON?["access_token"]?.stringValue else {
            throw TestFailure("token request failed: \(response.status) \(response.bodyText)")
        }
        return token
    }

    func get(_ path: String, bearer: String, extra: HTTPHeaders = HTTPHeaders()) async -> Response {
        var headers = extra
        headers.add("Authorization", "Bearer \(bearer)")
        return await client.send(.get, path, headers: headers)
    }

    /// The claims a genuine token would carry now, for tests that forge variations of them.
    func claims(lifetimeSeconds: Int64 = 3_600) -> [String: JSONValue] {
        let now = clock.unixSeconds()
        return ["iss": "https://auth.atlas.local", "aud": "atlas-commerce", "sub": .string(clientId), "iat": .int(now),
                "nbf": .int(now), "exp": .int(now + lifetimeSeconds), "jti": .string(Encoding.hex(OpenSSLCryptoService().randomBytes(count: 16))),
                "scope": "transactions:read", "terminal_id": .string(Self.terminalId), "merchant_id": .string(merchantId),
                "mode": "test"]
    }

    /// Signs `claims` with the active signing key (so only the claims or header are wrong).
    func forge(claims: [String: JSONValue], header: [String: JSONValue]? = nil) async throws -> String {
        let key = try await auth.oauth.signingKeys.signingKey()
        let header = header ?? ["alg": "RS256", "typ": "JWT", "kid": .string(key.kid)]
        return try CompactJWS.sign(header: .object(header), claims: .object(claims)) { input in
            try OpenSSLCryptoService().signRS256(message: input, privateKeyPEM: key.privateKeyPEM)
        }
    }

    /// Decodes a token's header and claims without verifying.
    static func decode(_ token: String) -> (header: [String: JSONValue], claims: [String: JSONValue])? {
        CompactJWS.parse(token).map { ($0.header, $0.claims) }
    }

    static func basic(_ id: String, _ secret: String) -> String {
        "Basic " + Data("\(id):\(secret)".utf8).base64EncodedString()
    }
}

/// `{"error":…,"error_description":…}` exactly (no other keys).
func oauthError(_ response: Response) -> (String?, String?, Int) {
    guard case .object(let object)? = response.bodyJSON, object.count == 2 else { return (nil, nil, -1) }
    return (object["error"]?.stringValue, object["error_description"]?.stringValue, object.count)
}
