import AccessContract
import Foundation
import Kernel

/// Key management: create (201, the secret only in that response), list (prefix and last 4 only),
/// rotate (the old key works for 24 more hours), revoke (401 at once on every instance).
struct APIKeyRoutes {
    static let listLimitDefault = 25
    static let listLimitMax = 100

    let module: AuthService

    struct CreateKeyBody: Decodable {
        let scopes: [String]?
        let terminalId: String?
        let name: String?

        /// Run right after decoding; `knownScopes` are the Commerce scopes the wired modules declared.
        func validate(knownScopes: Set<String>) throws(AtlasError) {
            if let scopes {
                for scope in scopes where !knownScopes.contains(scope) {
                    throw .invalidField("scopes", "Unknown scope \(scope.prefix(64))", constraint: "enum", value: .string(scope))
                }
            }
            if let terminalId, terminalId.isEmpty || terminalId.count > 64 {
                throw .invalidField("terminalId", "terminalId must be 1 to 64 characters", constraint: "maxLength")
            }
            if let name, name.count > 200 { throw .invalidField("name", "name must be at most 200 characters", constraint: "maxLength") }
        }
    }

    func commerceGroup() -> RouteGroup {
        let guardMiddleware = module.accessGuard.require(AccessRequirement(surface: .commerce, scopes: ["keys:manage"]))
        let auditGuard = module.accessGuard.require(AccessRequirement(surface: .commerce, scopes: ["audit:read"]))
        var group = RouteGroup(prefix: "/v1", surface: .commerce)
        group.schemas = AuthRouteSchemas.components
        group.post("/api-keys", middleware: [guardMiddleware], schema: AuthRouteSchemas.createKey) { (request, context: AuthenticatedContext) in
            let body = try request.decodeJSON(CreateKeyBody.self)
            try body.validate(knownScopes: module.commerceScopes)
            let tenant = context.tenant
            let (scopes, terminalId) = try Self.grants(body, creator: context.principal)
            let key = try await module.keys.create(merchantId: tenant.merchantId, mode: tenant.mode, kind: .secret, role: nil,
                                                   scopes: scopes, terminalId: terminalId, name: body.name)
            await module.auditCredentialEvent("key.created", key: key.record)
            return Self.created(key)
        }
        group.get("/api-keys", middleware: [guardMiddleware], schema: AuthRouteSchemas.listKeys) { (request, context: AuthenticatedContext) in
            try await list(request, tenant: context.tenant)
        }
        group.post("/api-keys/:id/rotate", middleware: [guardMiddleware], schema: AuthRouteSchemas.rotateKey) { (request, context: AuthenticatedContext) in
            let id = request.pathParameter("id") ?? ""
            let tenant = context.tenant
            if let target = try await module.keys.find(id: id, merchantId: tenant.merchantId, mode: tenant.mode) {
                // Rotation hands out the replacement's secret: only for keys the caller could have created.
                _ = try Self.grants(CreateKeyBody(scopes: target.scopes.sorted(), terminalId: target.terminalId, name: nil),
                                    creator: context.principal)
                if context.principal.terminalId != nil, target.terminalId == nil {
                    throw AtlasError.forbidden("This credential is bound to another terminal")
                }
            }
            guard let (key, oldExpiresAt) = try await module.rotateKey(id: id, tenant: tenant) else {
                throw AtlasError.notFound("API key not found or not active")
            }
            var response = Self.created(key)
            if case .object(var object)? = response.bodyJSON {
                object["rotatedKeyExpiresAt"] = .string(Timestamp.iso8601(oldExpiresAt))
                response = .json(.object(object), status: 201)
            }
            return response
        }
        group.delete("/api-keys/:id", middleware: [guardMiddleware], schema: AuthRouteSchemas.revokeKey) { (request, context: AuthenticatedContext) in
            let id = request.pathParameter("id") ?? ""
            guard try await module.revokeKey(id: id, tenant: context.tenant) else {
                throw AtlasError.notFound("API key not found")
            }
            return .json(["id": .string(id), "object": "api_key", "status": "revoked"])
        }
        group.get("/audit-log", middleware: [auditGuard], schema: AuthRouteSchemas.auditLog) { (request, context: AuthenticatedContext) in
            try await AuditRoutes(module: module).list(request, tenant: context.tenant)
        }
        return group
    }

    /// What a new key may hold: never more than the key creating it. Scopes default to the creator's
    /// own (not every scope), and a terminal-bound creator can only mint keys bound to its terminal;
    /// otherwise a `keys:manage`-only or terminal key could mint itself a full-power merchant key.
    static func grants(_ body: CreateKeyBody, creator: Principal) throws(AtlasError) -> (Set<String>, String?) {
        let held = creator.scopes
        let scopes = body.scopes.map(Set.init) ?? held
        guard scopes.isSubset(of: held) else {
            throw AtlasError.forbidden("API key is valid but lacks permission for this operation")
        }
        guard let bound = creator.terminalId else { return (scopes, body.terminalId) }
        if let requested = body.terminalId, requested != bound {
            throw AtlasError.forbidden("This credential is bound to another terminal")
        }
        return (scopes, bound)
    }

    /// `/api/v1/admin/api-keys` for cash-rounding admin keys: issue and revoke role keys.
    func roundingAdminGroup() -> RouteGroup {
        let adminOnly = module.accessGuard.require(AccessRequirement(surface: .rounding, roles: ["admin"]))
        let auditors = module.accessGuard.require(AccessRequirement(surface: .rounding, roles: ["admin", "auditor"]))
        var group = RouteGroup(prefix: "/api/v1/admin", surface: .rounding)
        group.schemas = AuthRouteSchemas.components
        struct CreateRoleKeyBody: Decodable { let merchant_id: String?; let role: String; let name: String? }
        group.post("/api-keys", middleware: [adminOnly], schema: AuthRouteSchemas.createRoleKey(roles: module.roundingRoles)) { (request, context: AuthenticatedContext) in
            let body = try request.decodeJSON(CreateRoleKeyBody.self)
            guard module.roundingRoles.contains(body.role) else {
                throw AtlasError.invalidField("role", "role must be one of \(module.roundingRoles.joined(separator: ", "))")
            }
            let tenant = context.tenant
            let merchantId = body.merchant_id ?? tenant.merchantId
            guard try await module.tenancy.merchantExists(merchantId) else {
                throw AtlasError.invalidField("merchant_id", "merchant_id does not exist")
            }
            let key = try await module.keys.create(merchantId: merchantId, mode: tenant.mode, kind: .role, role: body.role,
                                                   scopes: [], terminalId: nil, name: body.name)
            await module.auditCredentialEvent("key.created", key: key.record)
            return Self.created(key)
        }
        group.delete("/api-keys/:id", middleware: [adminOnly], schema: AuthRouteSchemas.revokeRoleKey) { (request, context: AuthenticatedContext) in
            let id = request.pathParameter("id") ?? ""
            let tenant = context.tenant
            // An admin may revoke any merchant's role key in its own mode; commerce `sk_` keys are
            // managed on /v1 by their merchant, so they are not found here.
            guard let row = try await module.database.queryFirst(
                "SELECT merchant_id FROM auth_api_keys WHERE id = \(id) AND mode = \(tenant.mode) AND kind = 'role'") else {
                throw AtlasError.notFound("API key not found")
            }
            let owner = TenantContext(merchantId: try row.decode("merchant_id"), mode: tenant.mode)
            guard try await module.revokeKey(id: id, tenant: owner) else { throw AtlasError.notFound("API key not found") }
            return .json(["id": .string(id), "status": "revoked"])
        }
        group.get("/access-logs", middleware: [auditors], schema: AuthRouteSchemas.accessLogs) { (request, context: AuthenticatedContext) in
            try await AuditRoutes(module: module).list(request, tenant: context.tenant)
        }
        return group
    }

    static func created(_ key: NewAPIKey) -> Response {
        guard case .object(var object) = key.record.json else { return .json(key.record.json, status: 201) }
        object["secret"] = .string(key.secret)
        return .json(.object(object), status: 201)
    }

    private func list(_ request: Request, tenant: TenantContext) async throws -> Response {
        let query = request.queryParameters
        let limit = try QueryParameters.limit(query["limit"], fallback: Self.listLimitDefault, max: Self.listLimitMax)
        let after = query["cursor"].flatMap { $0.hasPrefix("cursor_key_") ? String($0.dropFirst(7)) : nil }
        let records = try await module.keys.list(merchantId: tenant.merchantId, mode: tenant.mode, limit: limit + 1,
                                                 afterId: after)
        let page = Array(records.prefix(limit))
        let hasMore = records.count > limit
        return .json(["data": .array(page.map(\.json)), "hasMore": .bool(hasMore),
                      "nextCursor": hasMore ? .string("cursor_" + (page.last?.id ?? "")) : .null])
    }
}
