import Kernel

/// The sign-in routes' contract: the OAuth token and JWKS (commerce), user login (accounting) and device
/// login (terminal). All but `me`, `logout`, `session-grant` and `policy` are public (`security: []`).
extension AuthRouteSchemas {
    // MARK: OAuth (commerce)

    static let token = { () -> RouteSchema in
        var schema = tokenDeclaration
        schema.errorBody = .ref("OAuthError")
        return schema
    }()
    static let tokenDeclaration = RouteSchema(
        "Issue an RS256 access token for a client (client credentials)", operationId: "issueToken",
        description: "Client credentials in the body or as HTTP Basic (not both). Errors follow RFC 6749 §5.2.",
        tags: ["OAuth"],
        body: .form(.object([
            .required("grant_type", .enumeration(["client_credentials"])), .optional("client_id", .string()),
            .optional("client_secret", .string()), .required("terminal_id", .string(lengthMin: 1, lengthMax: TokenRequestParser.identifierLengthMax)),
            .optional("scope", Schema.string().described("Space-separated; defaults to all the client's scopes")),
            .optional("expires_in", .integer(minimum: 1, maximum: 86_400)),
        ]), example: ["grant_type": "client_credentials", "client_id": "cli_…", "client_secret": "…", "terminal_id": "T-1"]),
        responses: [
            ResponseSchema(status: 200, description: "The token", body: .object([
                .required("access_token", .string()), .required("token_type", .enumeration(["Bearer"])),
                .required("expires_in", .integer(minimum: 1)), .required("scope", .string()), .required("terminal_id", .string()),
            ])),
            .error(400, "invalid_request, unsupported_grant_type, invalid_scope, or invalid_grant (the terminal)"),
            .error(401, "invalid_client"), .error(429, "Too many tokens for this client (rate_limited)"),
            .error(503, "temporarily_unavailable"),
        ],
        security: [])
    static let jwks = RouteSchema(
        "The public keys that verify access tokens (JWKS)", operationId: "getJwks", tags: ["OAuth"],
        responses: [.ok(.object([.required("keys", .array(of: .object([
            .required("kty", .enumeration(["RSA"])), .required("use", .enumeration(["sig"])),
            .required("alg", .enumeration(["RS256"])), .required("kid", .string()), .required("n", .string()),
            .required("e", .string()),
        ])))]))],
        security: [])
    static let oauthComponents: [String: Schema] = [
        "OAuthError": .object([.required("error", .string().example("invalid_request")), .required("error_description", .string())]),
    ]

    // MARK: Users (accounting)

    static let login = RouteSchema(
        "Sign in with email and password", operationId: "login", tags: ["Auth"],
        body: .json(.object([
            .required("email", .string(lengthMin: 1, lengthMax: UserStore.emailBytesMax)),
            .required("password", .string(lengthMin: 1, lengthMax: UserStore.passwordBytesMax)),
        ]), example: ["email": "owner@example.com", "password": "…"]),
        responses: [.ok(.object([
            .required("tokens", .ref("UserTokens")), .required("user", .ref("User")),
            .required("organizations", .array(of: .ref("Organization"))),
        ])), .error(401, "Incorrect email or password"), .error(403, "The user is suspended"),
                    .error(429, "Too many attempts for this email and address")],
        security: [])
    static let refresh = RouteSchema(
        "Exchange a refresh token for new tokens (the old one is spent)", operationId: "refreshToken", tags: ["Auth"],
        body: .json(.object([.required("refresh_token", .string(lengthMin: 1))])),
        responses: [.ok(.ref("UserTokens")), .error(401, "Invalid or expired refresh token")], security: [])
    static let me = RouteSchema(
        "The signed-in user with its organization, organizations, tier and companies", operationId: "getMe", tags: ["Auth"],
        responses: [.ok(.ref("Me"))])
    static let signup = RouteSchema(
        "Create an organization with its owner, a default company and a trial", operationId: "signup",
        description: "Signs the new owner in: the answer is a login's plus the organization and its companies.", tags: ["Auth"],
        body: .json(.object([
            .required("email", .string(lengthMin: 3, lengthMax: UserStore.emailBytesMax)),
            .required("password", .string(lengthMin: UserStore.passwordCharactersMin, lengthMax: UserStore.passwordBytesMax)),
            .required("organization_name", .string(lengthMin: 1, lengthMax: UserAuthRoutes.organizationNameCharactersMax)),
            .optional("full_name", .string(lengthMax: UserStore.fullNameCharactersMax)),
            .optional("base_currency", Schema.string().described("ISO 4217 code of the default company's books; default USD")),
        ]), example: ["email": "owner@example.com", "password": "correct horse battery", "organization_name": "Acme Books"]),
        responses: [.created(.ref("Session")), .error(409, "A user with that email already exists"),
                    .error(429, "Too many signups from this address")],
        security: [])
    static let switchOrganization = RouteSchema(
        "Switch to one of the user's organizations: new tokens acting in it", operationId: "switchOrganization",
        description: "A user may belong to several organizations (memberships, each with its own role). The new tokens act in "
            + "the chosen one with that membership's role; the current session stays valid. An organization the user is not a "
            + "member of is 404; one whose organization or merchant is suspended is 403.", tags: ["Auth"],
        body: .json(.object([.required("organization_id", .string(lengthMin: 1))]), example: ["organization_id": "org_…"]),
        responses: [.ok(.ref("Session")), .error(404, "Organization not found")])
    static let logout = RouteSchema(
        "Sign out: revoke this session's tokens", operationId: "logout", tags: ["Auth"],
        responses: [.noContent("Signed out")])

    static let userMembers: [Schema.Property] = [
        .required("id", .string()), .required("email", .string()), .required("full_name", .string()),
        .required("role", .enumeration(UserRole.allCases.map(\.rawValue))), .required("status", .string()),
        .required("organization_id", .string()), .required("merchant_id", .string()), .required("is_active", .boolean),
        .required("created_at", dateTime), .required("last_login_at", Schema.string(format: "date-time").nullable()),
        .required("permissions", .array(of: .string())),
    ]
    static let userComponents: [String: Schema] = [
        "UserTokens": .object([
            .required("access_token", .string()), .required("refresh_token", .string()),
            .required("token_type", .enumeration(["bearer"])), .required("expires_in", .integer(minimum: 1)),
        ]),
        "User": .object(userMembers),
        "Organization": .object([.required("id", .string()), .required("name", .string()), .required("role", .string())]),
        "Me": .object(userMembers + [
            .required("organizations", .array(of: .ref("Organization"))), .required("tier", .string()),
            .required("organization", .ref("CurrentOrganization")), .required("companies", .array(of: .ref("CompanySummary"))),
        ]),
        "CurrentOrganization": .object([
            .required("id", .string()), .required("name", .string()), .required("role", .string()), .required("tier", .string()),
            .required("trial_ends_at", Schema.string(format: "date-time").nullable()),
        ]),
        "CompanySummary": .object([
            .required("id", .string()), .required("name", .string()), .required("base_currency", .string()),
            .required("merchant_id", Schema.string().nullable()), .required("is_current", .boolean),
        ]),
        "Session": .object([
            .required("tokens", .ref("UserTokens")), .required("user", .ref("User")),
            .required("organizations", .array(of: .ref("Organization"))), .required("organization", .ref("CurrentOrganization")),
            .required("companies", .array(of: .ref("CompanySummary"))),
        ]),
    ]

    // MARK: Devices (terminal)

    static let deviceToken = RouteSchema(
        "Sign a device and its operator in", operationId: "issueDeviceToken", tags: ["Auth"],
        body: .json(.object([
            .required("tenantSlug", field), .required("deviceId", field), .required("deviceSecret", field),
            .required("username", field), .required("password", .string(lengthMax: DeviceTokenLimits.passwordLengthMax)),
            .optional("otpCode", field), .required("role", .enumeration(DeviceRole.allCases.map(\.rawValue))),
            .optional("publicKey", Schema.string().described("base64 DER SubjectPublicKeyInfo of an ECDSA P-256 key")),
        ])),
        responses: [.ok(.ref("DeviceTokens")),
                    .error(401, "invalid_credentials, invalid_device_credentials or mfa_required"),
                    .error(403, "tenant_suspended, device_suspended or account_suspended"),
                    .error(422, "invalid_role or invalid_tenant"), .error(429, "Too many attempts for this device")],
        security: [])
    static let deviceRefresh = RouteSchema(
        "Rotate a device session's tokens", operationId: "refreshDeviceToken", tags: ["Auth"],
        body: .json(.object([.optional("sessionId", .string()), .required("refreshToken", .string())])),
        responses: [.ok(.ref("DeviceTokens")), .error(401, "The refresh token is invalid, expired or revoked"),
                    .error(403, "The tenant, device or account is suspended")],
        security: [])
    static let sessionGrant = RouteSchema(
        "A signed offline session grant for the device", operationId: "getSessionGrant", tags: ["Session"],
        query: [.query("keyVersion", .integer(minimum: 1, maximum: 255), "A servable grant-key version (default: the active one)")],
        responses: [.ok(.object([
            .required("keyVersion", .integer(minimum: 1, maximum: 255)), .required("sessionKey", .string()),
            .required("expiresAt", Schema.integer().described("Unix seconds")), .required("allowedOps", .array(of: .string())),
            .required("signature", Schema.string().described("base64 HMAC-SHA256")),
        ])), .error(403, "terminal_suspended"), .error(422, "invalid_key_version")])
    static let policy = RouteSchema(
        "The tenant's terminal policy", operationId: "getPolicy", tags: ["Session"],
        responses: [.ok(.object([
            .required("maxBalance", .integer()), .required("singleTxLimit", .integer()), .required("dailyLimit", .integer()),
            .required("weeklyLimit", .integer()), .required("blockedStatuses", .array(of: .integer())),
            .required("clockDriftAllowanceSec", .integer()),
        ]))])

    static let field = Schema.string(lengthMax: DeviceTokenLimits.fieldLengthMax)
    static let deviceComponents: [String: Schema] = [
        "DeviceTokens": .object([
            .required("accessToken", .string()), .required("refreshToken", .string()),
            .required("expiresAt", Schema.integer().described("Unix seconds")), .required("sessionId", .string()),
            .required("tenantId", .string()), .required("deviceId", .string()), .required("terminalId", .integer()),
            .required("account", .object([
                .required("accountId", .string()), .required("displayName", .string()), .required("roles", .array(of: .string())),
            ])),
            .required("role", .enumeration(DeviceRole.allCases.map(\.rawValue))),
        ]),
    ]
}
