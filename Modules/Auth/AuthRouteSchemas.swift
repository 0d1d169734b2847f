import Kernel

/// The contract of every Auth route, for the generated OpenAPI documents: Commerce API keys and audit log
/// and the OAuth token (commerce), rounding admin keys (rounding), user sign-in (accounting) and device
/// sign-in (terminal). Limits come from the constants the handlers check with. Credentials and rate-limit
/// headers are added by the routes' access guards; public routes say `security: []`.
enum AuthRouteSchemas {
    typealias Schema = JSONSchema
    static let dateTime = Schema.string(format: "date-time")
    static let nullableString = Schema.string().nullable()

    // MARK: Commerce API keys and audit log (/v1)

    static let createKey = RouteSchema(
        "Create a secret key (the secret is shown in this answer only)", operationId: "createApiKey", tags: ["API keys"],
        body: .json(.object([
            .optional("scopes", Schema.array(of: .string()).described("Defaults to the creating key's scopes; never more")),
            .optional("terminalId", .string(lengthMin: 1, lengthMax: 64)), .optional("name", .string(lengthMax: 200)),
        ]), example: ["scopes": ["transactions:read", "transactions:write"], "name": "Lane 3"]),
        responses: [ResponseSchema.created(.ref("NewApiKey"))
                        .linking(["rotateApiKey", "revokeApiKey"], path: "id", fromBodyMember: "id")])
    static let listKeys = RouteSchema(
        "API keys of the merchant and mode (prefix and last 4 only)", operationId: "listApiKeys", tags: ["API keys"],
        query: [limit(APIKeyRoutes.listLimitMax, APIKeyRoutes.listLimitDefault),
                .query("cursor", .string(), "nextCursor of the previous page")],
        responses: [.ok(page(of: .ref("ApiKey")))])
    static let rotateKey = RouteSchema(
        "Replace a key; the old one keeps working for 24 hours", operationId: "rotateApiKey", tags: ["API keys"],
        path: [.path("id", .string())],
        responses: [.created(.ref("RotatedApiKey")), .error(404, "API key not found or not active")])
    static let revokeKey = RouteSchema(
        "Revoke a key at once", operationId: "revokeApiKey", tags: ["API keys"], path: [.path("id", .string())],
        responses: [.ok(.object([.required("id", .string()), .required("object", .enumeration(["api_key"])),
                                 .required("status", .enumeration(["revoked"]))])),
                    .error(404, "API key not found")])
    static let auditLog = RouteSchema(
        "The audit trail of the merchant and mode, newest first", operationId: "listAuditLog", tags: ["Audit"],
        query: auditQuery, responses: [.ok(page(of: .ref("AuditEntry")))])

    // MARK: Rounding admin keys (/api/v1/admin)

    static func createRoleKey(roles: [String]) -> RouteSchema {
        RouteSchema(
            "Issue a role key (the secret is shown in this answer only)", operationId: "createRoleKey", tags: ["Admin"],
            body: .json(.object([
                .optional("merchant_id", Schema.string().described("Defaults to the admin key's merchant")),
                .required("role", .enumeration(roles)), .optional("name", .string()),
            ]), example: ["role": "merchant", "merchant_id": "MERCHANT-001"]),
            responses: [ResponseSchema.created(.ref("NewApiKey")).linking(["revokeRoleKey"], path: "id", fromBodyMember: "id")])
    }
    static let revokeRoleKey = RouteSchema(
        "Revoke a role key of any merchant in the admin's mode", operationId: "revokeRoleKey", tags: ["Admin"],
        path: [.path("id", .string())],
        responses: [.ok(.object([.required("id", .string()), .required("status", .enumeration(["revoked"]))])),
                    .error(404, "API key not found")])
    static let accessLogs = RouteSchema(
        "Credential audit trail of the key's merchant, newest first", operationId: "listAccessLogs", tags: ["Admin"],
        query: auditQuery, responses: [.ok(page(of: .ref("AuditEntry")))])

    // MARK: Shared

    static func limit(_ maximum: Int, _ defaultValue: Int) -> RouteSchema.Parameter {
        .query("limit", .integer(minimum: 1, maximum: Int64(maximum)), "Page size (default \(defaultValue))")
    }

    static let auditQuery: [RouteSchema.Parameter] = [
        limit(AuditRoutes.limitMax, AuditRoutes.limitDefault),
        .query("cursor", .string(pattern: "^cursor_aud_[0-9]+$"), "nextCursor of the previous page"),
        .query("event", .string(), "Only this event, e.g. key.created"), .query("principalId", .string()),
        .query("since", dateTime),
    ]

    /// `{"data": […], "hasMore", "nextCursor"}`, the shape of every Commerce list.
    static func page(of item: Schema) -> Schema {
        .object([
            .required("data", .array(of: item)), .required("hasMore", .boolean),
            .required("nextCursor", Schema.string().nullable().described("Pass as `cursor` for the next page")),
        ])
    }

    static let apiKeyMembers: [Schema.Property] = [
        .required("id", .string()), .required("object", .enumeration(["api_key"])), .required("livemode", .boolean),
        .required("kind", .enumeration(["secret", "role"])), .required("scopes", .array(of: .string())),
        .required("prefix", .string()), .required("last4", .string()), .required("status", .string()),
        .required("createdAt", dateTime), .required("role", nullableString), .required("terminalId", nullableString),
        .required("name", nullableString), .required("expiresAt", Schema.string(format: "date-time").nullable()),
    ]

    static let components: [String: Schema] = [
        "ApiKey": .object(apiKeyMembers),
        "NewApiKey": .object(apiKeyMembers + [.required("secret", Schema.string().described("Shown once"))]),
        "RotatedApiKey": .object(apiKeyMembers + [
            .required("secret", .string()), .required("rotatedKeyExpiresAt", dateTime),
        ]),
        "AuditEntry": .object([
            .required("id", .string()), .required("occurredAt", dateTime), .required("event", nullableString),
            .required("principalKind", nullableString), .required("principalId", nullableString),
            .required("credentialFingerprint", nullableString), .required("ip", nullableString),
            .required("method", nullableString), .required("route", nullableString),
            .required("status", Schema.integer().nullable()), .required("requestId", nullableString),
        ]),
    ]
}
