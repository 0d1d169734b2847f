import AccessContract
import Foundation
import Kernel

/// The parameters of one `/v1/token` request after parsing (client credentials from either place).
struct TokenRequest: Sendable {
    let grantType: String
    let clientId: String
    let clientSecret: String
    let usedBasicAuthentication: Bool
    let scope: String?
    let terminalId: String
    let expiresInSeconds: Int
}

/// Reads a token request from a JSON or form body plus an optional `Authorization: Basic` header,
/// and checks everything that needs no database: RFC 6749 §5.2 `invalid_request`,
/// `unsupported_grant_type`, and `invalid_client` when no client authentication was sent.
enum TokenRequestParser {
    static let parameterLengthMax = 1_024
    static let identifierLengthMax = 64

    static func parse(_ request: Request, configuration: OAuthConfiguration) throws(AtlasError) -> TokenRequest {
        let parameters = try bodyParameters(request)
        guard let grantType = parameters["grant_type"], !grantType.isEmpty else {
            throw OAuthError.invalidRequest("grant_type is required")
        }
        guard grantType == "client_credentials" else { throw OAuthError.unsupportedGrantType() }
        let (clientId, clientSecret, basic) = try clientCredentials(request, parameters)
        let expiresIn = try expiresInSeconds(parameters["expires_in"], configuration: configuration)
        guard let terminalId = parameters["terminal_id"], !terminalId.isEmpty else {
            throw OAuthError.invalidRequest("terminal_id is required")
        }
        guard terminalId.count <= identifierLengthMax else {
            throw OAuthError.invalidRequest("terminal_id must be at most \(identifierLengthMax) characters")
        }
        return TokenRequest(grantType: grantType, clientId: clientId, clientSecret: clientSecret,
                            usedBasicAuthentication: basic, scope: parameters["scope"], terminalId: terminalId,
                            expiresInSeconds: expiresIn)
    }

    /// JSON (string values; `expires_in` may be a number) or `application/x-www-form-urlencoded`.
    static func bodyParameters(_ request: Request) throws(AtlasError) -> [String: String] {
        guard let contentType = request.headers["Content-Type"] else {
            throw OAuthError.invalidRequest("Content-Type must be application/json or application/x-www-form-urlencoded")
        }
        let parameters: [String: String]
        if MediaType.isJSON(contentType) {
            parameters = try jsonParameters(request.body)
        } else if essence(contentType) == "application/x-www-form-urlencoded" {
            parameters = try formParameters(request.body)
        } else {
            throw OAuthError.invalidRequest("Content-Type must be application/json or application/x-www-form-urlencoded")
        }
        for (name, value) in parameters where value.utf8.count > parameterLengthMax {
            throw OAuthError.invalidRequest("\(name.prefix(32)) is too long")
        }
        return parameters
    }

    private static func essence(_ contentType: String) -> String {
        contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
    }

    private static func jsonParameters(_ body: [UInt8]) throws(AtlasError) -> [String: String] {
        guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: Data(body)) else {
            throw OAuthError.invalidRequest("Request body must be a JSON object")
        }
        var parameters: [String: String] = [:]
        for (name, value) in object {
            switch value {
            case .string(let text): parameters[name] = text
            case .int(let number) where name == "expires_in": parameters[name] = String(number)
            case .null: continue
            default: throw OAuthError.invalidRequest("\(name.prefix(32)) must be a string")
            }
        }
        return parameters
    }

    /// RFC 6749 §3.2: parameters sent without a value are treated as omitted; none may repeat.
    private static func formParameters(_ body: [UInt8]) throws(AtlasError) -> [String: String] {
        guard let text = String(validating: body, as: UTF8.self) else {
            throw OAuthError.invalidRequest("Request body is not valid UTF-8")
        }
        var parameters: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = FormDecoding.decodeComponent(String(parts[0])),
                  let value = parts.count > 1 ? FormDecoding.decodeComponent(String(parts[1])) : "" else {
                throw OAuthError.invalidRequest("Request body is not valid form encoding")
            }
            guard parameters[name] == nil else { throw OAuthError.invalidRequest("\(name.prefix(32)) is repeated") }
            if !value.isEmpty { parameters[name] = value }
        }
        return parameters
    }

    /// HTTP Basic (RFC 6749 §2.3.1: id and secret form-encoded, then base64) or body parameters; never both.
    static func clientCredentials(_ request: Request, _ parameters: [String: String]) throws(AtlasError)
        -> (id: String, secret: String, basic: Bool) {
        if let authorization = request.headers["Authorization"] {
            guard parameters["client_secret"] == nil else {
                throw OAuthError.invalidRequest("Send client credentials in the Authorization header or the body, not both")
            }
            guard let (id, secret) = basicCredentials(authorization) else {
                throw OAuthError.invalidClient(basicAuthentication: true)
            }
            // Some clients repeat client_id in the body; harmless when it names the same client.
            if let bodyId = parameters["client_id"], bodyId != id {
                throw OAuthError.invalidRequest("client_id in the body differs from the Authorization header")
            }
            return (id, secret, true)
        }
        guard let id = parameters["client_id"], let secret = parameters["client_secret"] else {
            throw OAuthError.invalidClient(basicAuthentication: false)
        }
        return (id, secret, false)
    }

    static func basicCredentials(_ header: String) -> (String, String)? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic", parts[1].utf8.count <= parameterLengthMax,
              let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
              let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":"),
              let id = FormDecoding.decodeComponent(String(text[..<colon])),
              let secret = FormDecoding.decodeComponent(String(text[text.index(after: colon)...])),
              !id.isEmpty, !secret.isEmpty else { return nil }
        return (id, secret)
    }

    static func expiresInSeconds(_ text: String?, configuration: OAuthConfiguration) throws(AtlasError) -> Int {
        guard let text else { return configuration.tokenLifetimeDefaultSeconds }
        guard let value = Int(text), (1...configuration.tokenLifetimeMaxSeconds).contains(value) else {
            throw OAuthError.invalidRequest("expires_in must be an integer from 1 to \(configuration.tokenLifetimeMaxSeconds)")
        }
        return value
    }

    /// The requested scopes (space-separated), or all of the client's when none are asked for.
    static func grantedScopes(_ scope: String?, client: OAuthClientRecord, knownScopes: Set<String>) throws(AtlasError)
        -> Set<String> {
        let requested = Set((scope ?? "").split(separator: " ", omittingEmptySubsequences: true).map(String.init))
        guard !requested.isEmpty else { return client.scopes }
        if let unknown = requested.subtracting(knownScopes).sorted().first {
            throw OAuthError.invalidScope("Unknown scope \(unknown.prefix(64))")
        }
        if let denied = requested.subtracting(client.scopes).sorted().first {
            throw OAuthError.invalidScope("Scope \(denied) is not allowed for this client")
        }
        return requested
    }
}

/// `POST /v1/token`: authenticates the client, rate-limits it, checks scope and terminal, then
/// signs an RS256 JWT. Responses carry `Cache-Control: no-store` (RFC 6749 §5.1).
struct TokenEndpoint: Sendable {
    let module: AuthService
    let service: OAuthService

    func routeGroup() -> RouteGroup {
        var group = RouteGroup(prefix: "/v1/token", errorRenderer: OAuthErrorRenderer(),
                               document: SurfaceDocuments.document(for: .commerce))
        group.schemas = AuthRouteSchemas.oauthComponents
        group.post("", schema: AuthRouteSchemas.token) { request, _ in try await issue(request) }
        return group
    }

    func issue(_ request: Request) async throws -> Response {
        let configuration = service.configuration
        let tokenRequest = try TokenRequestParser.parse(request, configuration: configuration)
        let client = try await authenticate(tokenRequest, request: request)
        let decision = module.limiter.check(key: "oauth_token:\(client.record.id)",
                                            policies: [configuration.tokenIssuancePolicy])
        guard decision.allowed else {
            throw OAuthError.rateLimited(retryAfterSeconds: decision.retryAfterSeconds, headers: decision.headers)
        }
        let scopes = try TokenRequestParser.grantedScopes(tokenRequest.scope, client: client.record,
                                                          knownScopes: module.commerceScopes)
        try await checkTerminal(tokenRequest.terminalId, client: client.record)
        let issued = try await service.issueToken(client: client.record, scopes: scopes, terminalId: tokenRequest.terminalId,
                                                  lifetimeSeconds: tokenRequest.expiresInSeconds)
        await audit(event: "token.issued", client: client.record, request: request, status: 200,
                    fingerprint: OAuthTokenVerifier.fingerprint(jti: issued.jti),
                    detail: ["terminalId": .string(tokenRequest.terminalId), "scope": .string(issued.scope),
                             "kid": .string(issued.kid), "expiresIn": .int(Int64(tokenRequest.expiresInSeconds))])
        var response = Response.json([
            "access_token": .string(issued.token), "token_type": "Bearer",
            "expires_in": .int(Int64(tokenRequest.expiresInSeconds)), "scope": .string(issued.scope),
            "terminal_id": .string(tokenRequest.terminalId),
        ])
        response.headers.set("Cache-Control", "no-store")
        response.headers.set("Pragma", "no-cache")
        for (name, value) in decision.headers { response.headers.set(name, value) }
        return response
    }

    /// invalid_client (401) for an unknown id, a wrong or expired secret, a disabled client or a
    /// suspended merchant, all alike; each failure is audited with the presented client id only.
    private func authenticate(_ tokenRequest: TokenRequest, request: Request) async throws -> AuthenticatedClient {
        let failure = OAuthError.invalidClient(basicAuthentication: tokenRequest.usedBasicAuthentication)
        let client: AuthenticatedClient?
        do {
            client = try await service.clients.authenticate(clientId: tokenRequest.clientId, secret: tokenRequest.clientSecret)
        } catch {
            throw AtlasError.unavailable("Authentication is temporarily unavailable")
        }
        guard let client, client.merchantActive, client.record.status == "active" else {
            await auditFailure(tokenRequest, client: client, request: request)
            throw failure
        }
        return client
    }

    /// invalid_grant when the terminal is unknown, suspended, or not on the client's list (one message
    /// for all three, so the endpoint does not reveal which terminal ids exist).
    private func checkTerminal(_ terminalId: String, client: OAuthClientRecord) async throws {
        let refused = OAuthError.invalidGrant("terminal_id is not available to this client")
        if let allowed = client.allowedTerminalIds, !allowed.contains(terminalId) { throw refused }
        let row = try await module.database.queryFirst("""
            SELECT 1 FROM auth_terminals
            WHERE merchant_id = \(client.merchantId) AND mode = \(client.mode) AND id = \(terminalId) AND status = 'active'
            """)
        guard row != nil else { throw refused }
    }

    private func auditFailure(_ tokenRequest: TokenRequest, client: AuthenticatedClient?, request: Request) async {
        var entry = AuditEntry(merchantId: client?.record.merchantId, mode: client?.record.mode, occurredAt: module.clock.now(),
                               event: "auth.failed", principalKind: Principal.Kind.oauthClient.rawValue,
                               principalId: String(tokenRequest.clientId.prefix(OAuthClientStore.clientIdLengthMax)),
                               credentialFingerprint: Encoding.hex(Array(module.crypto.sha256(Array(tokenRequest.clientSecret.utf8)).prefix(6))),
                               ip: AccessMiddleware.ip(request.remoteAddress), method: request.method.rawValue,
                               route: "/v1/token", status: 401, requestId: request.requestId)
        entry.detail = ["code": "invalid_client"]
        await module.audit.record(entry)
    }

    private func audit(event: String, client: OAuthClientRecord, request: Request, status: Int, fingerprint: String,
                       detail: JSONValue) async {
        await module.audit.record(AuditEntry(
            merchantId: client.merchantId, mode: client.mode, occurredAt: module.clock.now(), event: event,
            principalKind: Principal.Kind.oauthClient.rawValue, principalId: client.id, credentialFingerprint: fingerprint,
            ip: AccessMiddleware.ip(request.remoteAddress), method: request.method.rawValue, route: "/v1/token",
            status: status, requestId: request.requestId, detail: detail))
    }
}
