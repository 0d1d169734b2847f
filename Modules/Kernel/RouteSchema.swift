/// What a route accepts and answers, declared next to its handler (`group.post(path, schema: …, handler)`).
/// The OpenAPI documents are generated from these declarations and the route table, never written beside
/// them, so they cannot drift. What middleware adds (credentials, rate-limit headers, Idempotency-Key) is
/// filled in by the middleware itself (`RouteSchemaContributor`), so a route declares only its own contract.
public struct RouteSchema: Sendable {
    public var summary: String
    /// Unique within the document; derived from the method and path when nil (`postTransactionVoid`).
    public var operationId: String?
    public var description: String?
    public var tags: [String]
    /// Undeclared `:name` segments of the pattern are documented as plain strings.
    public var pathParameters: [Parameter]
    public var queryParameters: [Parameter]
    public var headerParameters: [Parameter]
    public var requestBody: RequestBody?
    /// The route's own answers (success and the errors the handler throws); the generator adds the
    /// surface's validation, credential, rate-limit and default error responses.
    public var responses: [ResponseSchema]
    /// Alternatives (any one suffices); nil leaves it to the access middleware, empty means public.
    public var security: [SecurityRequirement]?
    /// Set by the access middleware: responses carry X-RateLimit-* headers, and 429 may answer.
    public var isRateLimited = false
    /// Set by `DeprecatedRoute`: `deprecated: true`, and `Deprecation`/`Sunset` headers on its answers.
    public var deprecation: DeprecationNotice?
    /// Set by the idempotency middleware: an optional Idempotency-Key header, replay and conflict answers.
    public var acceptsIdempotencyKey = false
    /// Declared by a route whose handler answers with `Response.streamed` (a body produced while it is sent).
    /// The idempotency middleware refuses such a route when it is registered: a replay needs the whole body
    /// stored, and a streamed body is never held whole (docs/architecture.md, Idempotency-Keys).
    public var streamsBody = false
    /// The body of this route's error answers when its group renders errors unlike its surface (the OAuth
    /// token endpoint's RFC 6749 body); nil means the surface's error body.
    public var errorBody: JSONSchema?

    public init(_ summary: String, operationId: String? = nil, description: String? = nil, tags: [String] = [],
                path: [Parameter] = [], query: [Parameter] = [], headers: [Parameter] = [],
                body: RequestBody? = nil, responses: [ResponseSchema], security: [SecurityRequirement]? = nil) {
        self.summary = summary
        self.operationId = operationId
        self.description = description
        self.tags = tags
        self.pathParameters = path
        self.queryParameters = query
        self.headerParameters = headers
        self.requestBody = body
        self.responses = responses
        self.security = security
    }

    /// One parameter in the path, the query string or a header.
    public struct Parameter: Sendable, Hashable {
        public let name: String
        public let schema: JSONSchema
        public let isRequired: Bool
        public let description: String?

        public init(name: String, schema: JSONSchema, isRequired: Bool, description: String? = nil) {
            self.name = name
            self.schema = schema
            self.isRequired = isRequired
            self.description = description
        }

        /// A `:name` segment: always required.
        public static func path(_ name: String, _ schema: JSONSchema, _ description: String? = nil) -> Parameter {
            Parameter(name: name, schema: schema, isRequired: true, description: description)
        }

        public static func query(_ name: String, _ schema: JSONSchema, _ description: String? = nil,
                                 required: Bool = false) -> Parameter {
            Parameter(name: name, schema: schema, isRequired: required, description: description)
        }

        public static func header(_ name: String, _ schema: JSONSchema, _ description: String? = nil,
                                  required: Bool = false) -> Parameter {
            Parameter(name: name, schema: schema, isRequired: required, description: description)
        }
    }

    public struct RequestBody: Sendable, Hashable {
        public let contentType: String
        public let schema: JSONSchema
        public let isRequired: Bool
        public let example: JSONValue?

        public static func json(_ schema: JSONSchema, example: JSONValue? = nil, required: Bool = true) -> RequestBody {
            RequestBody(contentType: "application/json", schema: schema, isRequired: required, example: example)
        }

        /// `application/x-www-form-urlencoded` (OAuth token requests).
        public static func form(_ schema: JSONSchema, example: JSONValue? = nil) -> RequestBody {
            RequestBody(contentType: "application/x-www-form-urlencoded", schema: schema, isRequired: true, example: example)
        }
    }
}

/// One documented answer of a route.
public struct ResponseSchema: Sendable, Hashable {
    public let status: Int
    public let description: String
    /// nil for an empty body.
    public let contentType: String?
    /// nil with a content type: the surface's error body.
    public let body: JSONSchema?
    public let headers: [RouteSchema.Parameter]
    public let example: JSONValue?
    /// Operations this answer leads to (OpenAPI links), so clients and stateful testers can follow them.
    public var links: [ResponseLink] = []
    /// Further media types of the same answer, with the same body (an export whose format a query picks).
    public var alternativeContentTypes: [String] = []

    public init(status: Int, description: String, contentType: String? = "application/json", body: JSONSchema?,
                headers: [RouteSchema.Parameter] = [], example: JSONValue? = nil) {
        self.status = status
        self.description = description
        self.contentType = contentType
        self.body = body
        self.headers = headers
        self.example = example
    }

    /// This answer with links to the operations named (by operationId), each taking its `path` parameter from
    /// the body member `member` (`$response.body#/<member>`).
    public func linking(_ operationIds: [String], path parameter: String, fromBodyMember member: String) -> ResponseSchema {
        var copy = self
        copy.links += operationIds.map {
            ResponseLink(operationId: $0, parameters: [parameter: "$response.body#/\(member)"])
        }
        return copy
    }

    /// 200 with a JSON body.
    public static func ok(_ body: JSONSchema, _ description: String = "OK", example: JSONValue? = nil) -> ResponseSchema {
        ResponseSchema(status: 200, description: description, body: body, example: example)
    }

    /// 201 with a JSON body.
    public static func created(_ body: JSONSchema, _ description: String = "Created", example: JSONValue? = nil)
        -> ResponseSchema {
        ResponseSchema(status: 201, description: description, body: body, example: example)
    }

    public static func noContent(_ description: String = "No content") -> ResponseSchema {
        ResponseSchema(status: 204, description: description, contentType: nil, body: nil)
    }

    /// A status the handler answers with the surface's error body (404, 409, …).
    public static func error(_ status: Int, _ description: String) -> ResponseSchema {
        ResponseSchema(status: status, description: description, body: nil)
    }

    /// A non-JSON success body (CSV, plain text) of `contentType`.
    public static func file(_ contentType: String, _ description: String, status: Int = 200,
                            alternatives: [String] = []) -> ResponseSchema {
        var response = ResponseSchema(status: status, description: description, contentType: contentType, body: .string())
        response.alternativeContentTypes = alternatives
        return response
    }

    /// The surface's error body stands in for `body` when this is an error response.
    public var isSurfaceError: Bool { contentType != nil && body == nil }
}

/// An OpenAPI link: the operation (by operationId) a response leads to, with runtime expressions for its
/// parameters (`$response.body#/id`).
public struct ResponseLink: Sendable, Hashable {
    public let operationId: String
    public let parameters: [String: String]

    public init(operationId: String, parameters: [String: String]) {
        self.operationId = operationId
        self.parameters = parameters
    }
}

/// A credential a route accepts: the name of one of its document's `SecurityScheme`s, with the scopes the
/// credential must hold (OAuth2) or none.
public struct SecurityRequirement: Sendable, Hashable {
    public let scheme: String
    public let scopes: [String]

    public init(scheme: String, scopes: [String] = []) {
        self.scheme = scheme
        self.scopes = scopes
    }
}

/// How a surface's callers authenticate, as OpenAPI names it.
public enum SecurityScheme: Sendable, Hashable {
    case apiKeyHeader(name: String, description: String)
    case bearer(format: String, description: String)
    /// Client credentials at `tokenPath` (relative to the server); scopes are collected from the routes.
    case oauth2ClientCredentials(tokenPath: String, description: String)
}

/// One API document (a surface such as `/api/v1` cash rounding): what the generator writes around its
/// routes. Route groups name their document (`RouteGroup.document`); groups of several modules can share one.
public struct SurfaceDocument: Sendable {
    /// The file name: `GET /openapi/<id>.json`, `docs/api/<id>.json`.
    public let id: String
    public var title: String
    public var version: String
    public var description: String
    /// The server URL the paths are relative to, e.g. `/api/v1`; empty for absolute paths (server `/`).
    public var basePath: String
    public var securitySchemes: [String: SecurityScheme]
    /// The body every error of the surface has (its `ErrorRenderer`'s format).
    public var errorBody: JSONSchema
    /// The status the surface answers a field error with (400, or 422 for accounting).
    public var validationStatus: Int
    /// Component schemas every module of the surface may refer to.
    public var schemas: [String: JSONSchema]

    public init(id: String, title: String, version: String, description: String, basePath: String,
                securitySchemes: [String: SecurityScheme], errorBody: JSONSchema, validationStatus: Int = 400,
                schemas: [String: JSONSchema] = [:]) {
        self.id = id
        self.title = title
        self.version = version
        self.description = description
        self.basePath = basePath
        self.securitySchemes = securitySchemes
        self.errorBody = errorBody
        self.validationStatus = validationStatus
        self.schemas = schemas
    }
}

/// Middleware that changes a route's contract (requires a credential, adds headers) describes that change,
/// so the documents follow what is applied instead of repeating it in every declaration.
public protocol RouteSchemaContributor {
    func contribute(to schema: inout RouteSchema)
}

extension RouteSchema {
    /// This declaration as `middleware` (outermost first) leaves it.
    public func contributed(by middleware: [any Middleware]) -> RouteSchema {
        var schema = self
        for layer in middleware { (layer as? any RouteSchemaContributor)?.contribute(to: &schema) }
        return schema
    }
}
