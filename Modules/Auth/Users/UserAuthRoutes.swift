import AccessContract
import Foundation
import Kernel

/// `/api/v1/auth`: login, signup, refresh, me, switch-org, logout (accounting surface, `{detail,status_code,errors}`
/// bodies). Signup and switch-org: `UserSessionRoutes.swift`.
struct UserAuthRoutes {
    /// Login attempts per email and client IP: 10 per minute, then 429 with Retry-After.
    static let loginPolicy = RateLimitPolicy(name: "login", limit: 10, periodSeconds: 60, burst: 10)
    static let badCredentialsMessage = "Incorrect email or password"
    static let invalidRefreshMessage = "Invalid or expired refresh token"

    let module: AuthService
    let service: UsersService
    /// The organizations' companies (Accounting, through the contract); nil in an assembly without it.
    let companies: (any CompanyDirectory)?

    struct LoginBody: Decodable, Validatable {
        let email: String
        let password: String

        func validate() throws(AtlasError) {
            if email.trimmingCharacters(in: .whitespaces).isEmpty {
                throw .invalidField("email", "email must not be empty", constraint: "minLength")
            }
            if email.utf8.count > UserStore.emailBytesMax {
                throw .invalidField("email", "email must be at most \(UserStore.emailBytesMax) bytes", constraint: "maxLength")
            }
            if password.isEmpty { throw .invalidField("password", "password must not be empty", constraint: "minLength") }
            if password.utf8.count > UserStore.passwordBytesMax {
                throw .invalidField("password", "password must be at most \(UserStore.passwordBytesMax) bytes",
                                    constraint: "maxLength")
            }
        }
    }

    struct RefreshBody: Decodable, Validatable {
        let refresh_token: String

        func validate() throws(AtlasError) {
            if refresh_token.isEmpty { throw .invalidField("refresh_token", "refresh_token must not be empty") }
        }
    }

    func group() -> RouteGroup {
        let signedIn = module.accessGuard.require(AccessRequirement(surface: .accounting))
        var group = RouteGroup(prefix: "/api/v1/auth", surface: .accounting)
        group.schemas = AuthRouteSchemas.userComponents
        group.post("/login", schema: AuthRouteSchemas.login) { request, _ in try await login(request) }
        group.post("/signup", schema: AuthRouteSchemas.signup) { request, _ in try await signup(request) }
        group.post("/refresh", schema: AuthRouteSchemas.refresh) { request, _ in try await refresh(request) }
        group.get("/me", middleware: [signedIn], schema: AuthRouteSchemas.me) { _, context in try await me(context) }
        group.post("/switch-org", middleware: [signedIn], schema: AuthRouteSchemas.switchOrganization) { request, context in
            try await switchOrganization(request, context: context)
        }
        group.post("/logout", middleware: [signedIn], schema: AuthRouteSchemas.logout) { request, context in try await logout(request, context: context) }
        return group
    }

    // MARK: Handlers

    private func login(_ request: Request) async throws -> Response {
        let body = try request.decodeJSON(LoginBody.self)
        let email = UserStore.normalizeEmail(body.email)
        let ip = AccessMiddleware.ip(request.remoteAddress)
        let decision = module.limiter.check(key: "login:\(email)|\(ip)", policies: [Self.loginPolicy])
        guard decision.allowed else {
            await audit("login.failed", request, userId: nil, tenant: nil, status: 429, detail: ["reason": "rate_limited"])
            throw AtlasError.rateLimited(retryAfterSeconds: decision.retryAfterSeconds)
        }
        switch try await service.login(email: email, password: body.password) {
        case .badCredentials(let userId, let tenant):
            await audit("login.failed", request, userId: userId, tenant: tenant, status: 401,
                        detail: ["reason": userId == nil ? "unknown_email" : "wrong_password"])
            throw AtlasError.unauthorized(Self.badCredentialsMessage)
        case .suspended(let user):
            await audit("login.failed", request, userId: user.id, tenant: user.tenant, status: 403,
                        detail: ["reason": "suspended"])
            throw AtlasError.forbidden("User account is suspended")
        case .success(let user, let issued):
            await audit("login", request, userId: user.id, tenant: user.tenant, status: 200,
                        fingerprint: fingerprint(issued.accessToken), detail: ["family_id": .string(issued.familyId)])
            let organizations = try await organizationsJSON(user)
            return Self.noStore(.json(["tokens": Self.tokensJSON(issued), "user": user.json, "organizations": organizations]))
        }
    }

    private func refresh(_ request: Request) async throws -> Response {
        let body = try request.decodeJSON(RefreshBody.self)
        switch try await service.tokens.refresh(body.refresh_token) {
        case .invalid:
            await audit("refresh.failed", request, userId: nil, tenant: nil, status: 401,
                        fingerprint: fingerprint(body.refresh_token))
            throw AtlasError.unauthorized(Self.invalidRefreshMessage)
        case .reused(let familyId, let userId, let tenant):
            await service.broadcast("family:" + familyId)
            await audit("refresh.reuse_detected", request, userId: userId, tenant: tenant, status: 401,
                        fingerprint: fingerprint(body.refresh_token), detail: ["family_id": .string(familyId)])
            throw AtlasError.unauthorized(Self.invalidRefreshMessage)
        case .rotated(let issued, let user):
            await audit("refresh", request, userId: user.id, tenant: user.tenant, status: 200,
                        fingerprint: fingerprint(issued.accessToken), detail: ["family_id": .string(issued.familyId)])
            return Self.noStore(.json([
                "access_token": .string(issued.accessToken), "token_type": "bearer",
                "expires_in": .int(Int64(UserTokenStore.accessLifetimeSeconds)),
                "refresh_token": .string(issued.refreshToken),
            ]))
        }
    }

    private func me(_ context: RequestContext) async throws -> Response {
        // The user as a member of the organization the token acts in.
        guard let principal = context.principal,
              let user = try await service.store.find(id: principal.id, organizationId: principal.organizationId) else {
            throw CredentialAuthenticator.invalid(.accounting)
        }
        guard case .object(var object) = user.json else { return .json(user.json) }
        object["organizations"] = try await organizationsJSON(user)
        object["tier"] = .string(user.tier.rawValue)
        object["organization"] = user.organizationJSON
        object["companies"] = try await companiesJSON(user)
        return .json(.object(object))
    }

    private func logout(_ request: Request, context: RequestContext) async throws -> Response {
        let requirement = AccessRequirement(surface: .accounting)
        guard case .bearer(let token)? = try? CredentialAuthenticator.extract(request, requirement: requirement),
              let familyId = try await service.tokens.family(ofAccessHash: service.tokens.hash(token)) else {
            throw CredentialAuthenticator.invalid(.accounting)
        }
        try await service.revokeFamily(familyId, reason: "logout")
        let principal = context.principal
        await audit("logout", request, userId: principal?.id, tenant: principal?.tenant, status: 204,
                    fingerprint: principal?.credentialFingerprint, detail: ["family_id": .string(familyId)])
        return Response(status: 204)
    }

    // MARK: Helpers

    func fingerprint(_ token: String) -> String { Encoding.hex(Array(service.tokens.hash(token).prefix(6))) }

    static func noStore(_ response: Response) -> Response {
        var response = response
        response.headers.set("Cache-Control", "no-store")
        return response
    }

    func audit(_ event: String, _ request: Request, userId: String?, tenant: TenantContext?, status: Int,
                       fingerprint: String? = nil, detail: JSONValue? = nil) async {
        await module.audit.record(AuditEntry(
            merchantId: tenant?.merchantId, mode: tenant?.mode, occurredAt: module.clock.now(), event: event,
            principalKind: userId == nil ? nil : Principal.Kind.user.rawValue, principalId: userId,
            credentialFingerprint: fingerprint, ip: AccessMiddleware.ip(request.remoteAddress),
            method: request.method.rawValue, route: request.path, status: status, requestId: request.requestId,
            detail: detail))
    }
}
