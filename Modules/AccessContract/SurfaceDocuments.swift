public import Kernel

/// The API document of each surface: title, credentials and error body, beside the renderers that produce
/// those bodies (`SurfaceErrors`) and the credentials Auth accepts, so every module of a surface publishes
/// its routes into one document. WHY here: which credentials and error formats a surface has is this
/// contract's agreement; Kernel only knows that a group has a document.
public enum SurfaceDocuments {
    /// Every surface, in the order the documents are listed.
    public static let all: [APISurface] = [.commerce, .payments, .rounding, .accounting, .terminal]

    public static func document(for surface: APISurface) -> SurfaceDocument {
        switch surface {
        case .commerce: return commerce
        case .payments: return payments
        case .rounding: return rounding
        case .accounting: return accounting
        case .terminal: return terminal
        }
    }

    /// The security scheme names the documents use (`SecurityRequirement.scheme`).
    public enum SchemeName {
        public static let apiKey = "ApiKeyAuth"
        public static let bearer = "BearerAuth"
        public static let oauth2 = "OAuth2ClientCredentials"
    }

    static let commerce = SurfaceDocument(
        id: "commerce", title: "Atlas Commerce API", version: "1.0.0",
        description: "Terminals and POS systems: payments, refunds, stored value, API keys. Paths are absolute (/v1/…), "
            + "because the OAuth JWKS is served at /.well-known/jwks.json beside them.",
        basePath: "",
        securitySchemes: [
            SchemeName.apiKey: .apiKeyHeader(name: "X-Api-Key", description: "A secret key, sk_test_… or sk_live_…"),
            SchemeName.oauth2: .oauth2ClientCredentials(tokenPath: "/v1/token",
                                                        description: "A JWT from POST /v1/token (client credentials)"),
        ],
        errorBody: envelopeError)

    static let payments = SurfaceDocument(
        id: "payments", title: "Atlas Payments Functions API", version: "1.0.0",
        description: "Payment sessions and checkout sessions for hosted checkouts.", basePath: "/functions/v1",
        securitySchemes: [SchemeName.bearer: .bearer(format: "sk_ key", description: "Authorization: Bearer sk_test_…")],
        errorBody: paymentsError)

    static let rounding = SurfaceDocument(
        id: "rounding", title: "Atlas Cash-Rounding API", version: "3.6.0",
        description: "Post-penny cash rounding by US jurisdiction, with an audit hash chain, tips and compliance reports.",
        basePath: "/api/v1",
        securitySchemes: [SchemeName.apiKey: .apiKeyHeader(name: "x-api-key",
                                                           description: "A role key (merchant, auditor, admin or partner)")],
        errorBody: codeAndMessageError(codeExample: "VALIDATION_ERROR"))

    static let accounting = SurfaceDocument(
        id: "accounting", title: "Atlas Accounting API", version: "1.0.0",
        description: "Accounting for organizations and their users.", basePath: "/api/v1",
        securitySchemes: [SchemeName.bearer: .bearer(format: "JWT", description: "A user access token from POST /api/v1/auth/login")],
        errorBody: .object([
            .required("detail", .string()), .required("status_code", .integer(minimum: 400, maximum: 599)),
            .required("errors", .array(of: .object([.required("field", .string()), .required("message", .string())]))),
        ]),
        validationStatus: 422)

    static let terminal = SurfaceDocument(
        id: "terminal", title: "Atlas Offline Terminal Backend API", version: "1.0.0",
        description: "Stored-value terminals that work offline and synchronise.", basePath: "/api",
        securitySchemes: [SchemeName.bearer: .bearer(format: "JWT", description: "A device token from POST /api/auth/token")],
        errorBody: codeAndMessageError(codeExample: "malformed_payload"))

    /// `EnvelopeErrorRenderer`'s body.
    static let envelopeError = JSONSchema.object([
        .required("error", .string().example("VALIDATION_ERROR")), .required("message", .string()),
        .required("requestId", .string()),
        .optional("details", .object([
            .optional("field", .string()), .optional("value", .any), .optional("constraint", .string()),
        ])),
    ])

    /// `PaymentsErrorRenderer`'s body.
    static let paymentsError = JSONSchema.object([
        .required("error", .object([
            .required("type", .enumeration(["validation_error", "invalid_request_error", "authentication_error",
                                             "permission_error", "card_error", "idempotency_error", "rate_limit_error",
                                             "api_error"]).example("card_error")),
            .required("code", .string().example("card_declined")), .required("message", .string()),
            .required("decline_code", .string().nullable()), .required("param", .string().nullable()),
            .required("request_id", .string()), .required("doc_url", .string()),
        ])),
    ])

    /// `RoundingErrorRenderer`'s and `TerminalErrorRenderer`'s body.
    static func codeAndMessageError(codeExample: String) -> JSONSchema {
        .object([.required("error", .string().example(.string(codeExample))), .required("message", .string())])
    }
}

extension RouteGroup {
    /// A group of `surface`: its error format (`SurfaceErrors`) and its API document (`SurfaceDocuments`).
    public init(prefix: String, surface: APISurface, middleware: [any Middleware] = []) {
        self.init(prefix: prefix, errorRenderer: SurfaceErrors.renderer(for: surface), middleware: middleware,
                  document: SurfaceDocuments.document(for: surface))
    }
}

extension AccessRequirement {
    /// The credentials a route with this requirement accepts, as its document's security schemes name them;
    /// roles are listed as the scheme's "scopes" (OpenAPI 3.1 allows role names for non-OAuth schemes).
    public var securityRequirements: [SecurityRequirement] {
        typealias Name = SurfaceDocuments.SchemeName
        switch surface {
        case .commerce:
            return [SecurityRequirement(scheme: Name.apiKey), SecurityRequirement(scheme: Name.oauth2, scopes: scopes.sorted())]
        case .rounding: return [SecurityRequirement(scheme: Name.apiKey, scopes: roles.sorted())]
        case .accounting, .terminal, .payments: return [SecurityRequirement(scheme: Name.bearer, scopes: roles.sorted())]
        }
    }

    /// What an access guard adds to a route's contract: its credentials and the rate-limit headers.
    public func contribute(to schema: inout RouteSchema) {
        if schema.security == nil { schema.security = securityRequirements }
        schema.isRateLimited = true
        if surface == .commerce {
            schema.headerParameters.append(.header(
                CommerceAPIVersions.header, .enumeration(CommerceAPIVersions.released.map(\.rawValue)),
                "Pins the behaviour to this version (echoed in the answer); absent: the merchant's default, else "
                    + "\(CommerceAPIVersions.current). A deprecated version's answers carry Deprecation and Sunset headers."))
        }
    }
}
