import AccessContract
import Foundation
import Kernel

/// The Auth module's `AccessGuard`: authenticate, authorize, rate-limit, audit.
final class AuthGuard: AccessGuard {
    let authenticator: CredentialAuthenticator
    let limiter: RateLimiter
    let audit: AuditTrail
    let clock: any WallClock
    let versions: MerchantAPIVersions

    init(authenticator: CredentialAuthenticator, limiter: RateLimiter, audit: AuditTrail, clock: any WallClock,
         versions: MerchantAPIVersions) {
        self.authenticator = authenticator
        self.limiter = limiter
        self.audit = audit
        self.clock = clock
        self.versions = versions
    }

    /// Commerce routes only: the header's version, else the merchant's default, else the current one.
    func apiVersion(_ request: Request, principal: Principal, surface: APISurface) async throws -> APIVersion? {
        guard surface == .commerce else { return nil }
        if let requested = try CommerceAPIVersions.requested(by: request) { return requested }
        return try await versions.defaultVersion(merchantId: principal.tenant.merchantId) ?? CommerceAPIVersions.current
    }

    func require(_ requirement: AccessRequirement) -> any Middleware {
        AccessMiddleware(guard: self, requirement: requirement)
    }

    /// Rate policies by credential kind and mode (see RateLimitPolicy for sources), and for devices by the route's
    /// bucket: batch uploads have their own (a policy of another name is another slot of the same key).
    static func policies(for principal: Principal, bucket: RateLimitBucket = .standard) -> [RateLimitPolicy] {
        switch principal.kind {
        case .apiKey, .oauthClient: return [.secretKeyMinute, .secretKeyDay]
        case .roleKey: return [principal.tenant.mode.isLive ? .roleKeyLive : .roleKeyTest]
        case .user: return [OrganizationTier.policy(for: principal)]
        case .device: return bucket == .batchUpload ? [.deviceBatchUpload] : [.deviceMinute]
        }
    }

    /// 403 unless the principal holds every required scope and (when roles are listed) one of them.
    static func authorize(_ principal: Principal, _ requirement: AccessRequirement) throws(AtlasError) {
        guard requirement.scopes.isSubset(of: principal.scopes) else {
            throw AtlasError.forbidden(requirement.surface == .commerce
                ? "API key is valid but lacks permission for this operation"
                : "Insufficient permissions for this endpoint")
        }
        if !requirement.roles.isEmpty {
            guard let role = principal.role, requirement.roles.contains(role) else {
                throw AtlasError.forbidden("Insufficient permissions for this endpoint")
            }
        }
    }
}

struct AccessMiddleware: Middleware, RouteSchemaContributor {
    let `guard`: AuthGuard
    let requirement: AccessRequirement

    /// The route's credentials and rate-limit headers in its API document.
    func contribute(to schema: inout RouteSchema) { requirement.contribute(to: &schema) }

    func respond(to request: Request, context: RequestContext, next: Handler) async throws -> Response {
        let principal: Principal
        do {
            principal = try await `guard`.authenticator.authenticate(request, requirement: requirement,
                                                                     acceptsQueryKey: context.isWebSocketRoute)
            try AuthGuard.authorize(principal, requirement)
        } catch let failure as AuthenticationFailure {
            await recordFailure(request, context: context, error: failure.error, fingerprint: failure.credentialFingerprint)
            throw failure.error
        } catch let error as AtlasError {
            await recordFailure(request, context: context, error: error, fingerprint: nil)
            throw error
        }
        let limitKey = "\(principal.kind.rawValue):\(principal.id)"
        let decision = `guard`.limiter.check(key: limitKey, policies: AuthGuard.policies(
            for: principal, bucket: requirement.rateLimitBucket))
        guard decision.allowed else {
            await record(request, context: context, principal: principal, status: 429)
            throw ContextualError(.rateLimited(retryAfterSeconds: decision.retryAfterSeconds),
                                  responseHeaders: decision.headers.filter { $0.0 != "Retry-After" })
        }
        let concurrencyLimited = principal.kind == .apiKey
        if concurrencyLimited {
            guard `guard`.limiter.enter(key: limitKey, maximum: RateLimitPolicy.secretKeyConcurrentMax) else {
                await record(request, context: context, principal: principal, status: 429)
                throw ContextualError(.rateLimited(retryAfterSeconds: 1), responseHeaders: decision.headers)
            }
        }
        defer { if concurrencyLimited { `guard`.limiter.leave(key: limitKey) } }
        var context = context
        context.principal = principal
        var answerHeaders = decision.headers
        do {
            if let version = try await `guard`.apiVersion(request, principal: principal, surface: requirement.surface) {
                context.apiVersion = version
                answerHeaders += CommerceAPIVersions.responseHeaders(version)
            }
            var response = try await next(request, context)
            for (name, value) in answerHeaders { response.headers.set(name, value) }
            await record(request, context: context, principal: principal, status: response.status)
            return response
        } catch let error as AtlasError {
            await record(request, context: context, principal: principal, status: error.status)
            throw ContextualError(error, responseHeaders: answerHeaders)
        } catch let error as ContextualError {
            await record(request, context: context, principal: principal, status: error.error.status)
            throw ContextualError(error.error, responseHeaders: error.responseHeaders + answerHeaders)
        }
    }

    private func record(_ request: Request, context: RequestContext, principal: Principal, status: Int) async {
        await `guard`.audit.record(AuditEntry(
            merchantId: principal.tenant.merchantId, mode: principal.tenant.mode, occurredAt: `guard`.clock.now(),
            event: "request", principalKind: principal.kind.rawValue, principalId: principal.id,
            credentialFingerprint: principal.credentialFingerprint, ip: Self.ip(request.remoteAddress),
            method: request.method.rawValue, route: context.routePattern, status: status, requestId: request.requestId))
    }

    private func recordFailure(_ request: Request, context: RequestContext, error: AtlasError, fingerprint: String?) async {
        await `guard`.audit.record(AuditEntry(
            merchantId: nil, mode: nil, occurredAt: `guard`.clock.now(), event: "auth.failed", principalKind: nil,
            principalId: nil, credentialFingerprint: fingerprint, ip: Self.ip(request.remoteAddress),
            method: request.method.rawValue, route: context.routePattern, status: error.status,
            requestId: request.requestId, detail: ["code": .string(error.code)]))
    }

    /// "1.2.3.4:5678" → "1.2.3.4"; "[::1]:80" → "::1".
    static func ip(_ remote: String) -> String {
        if remote.hasPrefix("["), let end = remote.firstIndex(of: "]") {
            return String(remote[remote.index(after: remote.startIndex)..<end])
        }
        if remote.filter({ $0 == ":" }).count == 1, let colon = remote.lastIndex(of: ":") { return String(remote[..<colon]) }
        return remote
    }
}
