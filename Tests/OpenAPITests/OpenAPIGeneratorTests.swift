import Kernel
import OpenAPI
import Testing

/// The generator on small hand-built route groups: paths and parameters, what middleware contributes,
/// schema rendering, and the declarations it refuses.
@Suite struct OpenAPIGeneratorTests {
    static let surface = SurfaceDocument(
        id: "sample", title: "Sample", version: "1.0.0", description: "A test surface", basePath: "/api/v1",
        securitySchemes: ["Key": .apiKeyHeader(name: "x-api-key", description: "a key"),
                          "OAuth": .oauth2ClientCredentials(tokenPath: "/token", description: "tokens")],
        errorBody: .object([.required("error", .string()), .required("message", .string())]))

    /// Stands in for an access guard and the idempotency middleware.
    struct Guard: Middleware, RouteSchemaContributor {
        var scopes: [String] = []
        func respond(to request: Request, context: RequestContext, next: Handler) async throws -> Response {
            try await next(request, context)
        }
        func contribute(to schema: inout RouteSchema) {
            schema.security = [SecurityRequirement(scheme: "Key"), SecurityRequirement(scheme: "OAuth", scopes: scopes)]
            schema.isRateLimited = true
        }
    }

    struct Idempotent: Middleware, RouteSchemaContributor {
        func respond(to request: Request, context: RequestContext, next: Handler) async throws -> Response {
            try await next(request, context)
        }
        func contribute(to schema: inout RouteSchema) { schema.acceptsIdempotencyKey = true }
    }

    static func group(_ build: (inout RouteGroup) -> Void) -> RouteGroup {
        var group = RouteGroup(prefix: "/api/v1", document: surface)
        build(&group)
        return group
    }

    static func document(_ groups: [RouteGroup]) throws -> JSONValue {
        try #require(try OpenAPIGenerator.documents(surfaces: [surface], groups: groups).first).json
    }

    static let ok: Handler = { _, _ in .json(["ok": true]) }

    @Test func pathsAreRelativeToTheServerWithEveryPathParameterDeclared() throws {
        let json = try Self.document([Self.group { group in
            group.get("/item/:id/part/:part", schema: RouteSchema(
                "Read a part", path: [.path("id", .integer(minimum: 1))], responses: [.ok(.object([]))]), Self.ok)
        }])
        #expect(json["openapi"] == "3.1.0")
        #expect(json["servers"] == [["url": "/api/v1"]])
        let operation = try #require(json["paths"]?["/item/{id}/part/{part}"]?["get"])
        #expect(operation["operationId"] == "getItemIdPartPart")
        #expect(operation["security"] == [])
        guard case .array(let parameters)? = operation["parameters"] else { Issue.record("no parameters"); return }
        #expect(parameters.map { $0["name"] } == ["id", "part"])
        #expect(parameters.allSatisfy { $0["in"] == "path" && $0["required"] == true })
        #expect(parameters[0]["schema"] == ["type": "integer", "minimum": 1])
        #expect(parameters[1]["schema"] == ["type": "string"])
        #expect(operation["responses"]?["400"] != nil, "a route with parameters documents the validation error")
        #expect(operation["responses"]?["default"]?["content"]?["application/json"]?["schema"] == ["$ref": "#/components/schemas/Error"])
    }

    @Test func middlewareAddsCredentialsRateLimitsAndIdempotency() throws {
        let json = try Self.document([Self.group { group in
            group.post("/charge", middleware: [Guard(scopes: ["charges:write"]), Idempotent()], schema: RouteSchema(
                "Charge", operationId: "charge", body: .json(.object([.required("amount", .integer())])),
                responses: [.ok(.object([]))]), Self.ok)
        }])
        let operation = try #require(json["paths"]?["/charge"]?["post"])
        #expect(operation["security"] == [["Key": []], ["OAuth": ["charges:write"]]])
        let responses = try #require(operation["responses"])
        for status in ["200", "400", "401", "403", "409", "429", "default"] { #expect(responses[status] != nil, "\(status)") }
        #expect(responses["200"]?["headers"]?["X-RateLimit-Remaining"] == ["$ref": "#/components/headers/X-RateLimit-Remaining"])
        #expect(responses["200"]?["headers"]?["Idempotent-Replayed"] != nil)
        #expect(responses["429"]?["headers"]?["Retry-After"] != nil)
        guard case .array(let parameters)? = operation["parameters"] else { Issue.record("no parameters"); return }
        #expect(parameters.contains { $0["name"] == "Idempotency-Key" && $0["in"] == "header" && $0["required"] == false })
        let flows = json["components"]?["securitySchemes"]?["OAuth"]?["flows"]?["clientCredentials"]
        #expect(flows?["tokenUrl"] == "/token")
        #expect(flows?["scopes"]?["charges:write"] != nil, "the OAuth scopes are those the routes require")
    }

    @Test func groupMiddlewareContributesToo() throws {
        let json = try Self.document([Self.group { group in
            group.use(Guard())
            group.get("/things", schema: RouteSchema("List", responses: [.ok(.array(of: .string()))]), Self.ok)
        }])
        #expect(json["paths"]?["/things"]?["get"]?["responses"]?["401"] != nil)
    }

    @Test func schemasRenderAsJSONSchema2020() {
        #expect(JSONSchema.string(lengthMax: 5).nullable().openAPIValue == ["type": ["string", "null"], "maxLength": 5])
        #expect(JSONSchema.enumeration(["a", "b"]).nullable().openAPIValue == ["type": ["string", "null"], "enum": ["a", "b", nil]])
        #expect(JSONSchema.ref("Thing").nullable().openAPIValue
                == ["anyOf": [["$ref": "#/components/schemas/Thing"], ["type": "null"]]])
        #expect(JSONSchema.object([.required("a", .boolean), .optional("b", .integer())]).openAPIValue == [
            "type": "object", "properties": ["a": ["type": "boolean"], "b": ["type": "integer"]], "required": ["a"],
            "additionalProperties": false,
        ])
        #expect(JSONSchema.openObject([]).openAPIValue == ["type": "object", "additionalProperties": true])
        #expect(JSONSchema.map(of: .integer()).openAPIValue == ["type": "object", "additionalProperties": ["type": "integer"]])
        #expect(JSONSchema.string(format: "date-time").described("when").example("2026-01-01T00:00:00Z").openAPIValue
                == ["type": "string", "format": "date-time", "description": "when", "examples": ["2026-01-01T00:00:00Z"]])
    }

    @Test func invalidDeclarationsAreAllReported() {
        let groups = [Self.group { group in
            group.schemas["Twice"] = .string()
            group.get("/a/:id", schema: RouteSchema("A", operationId: "same", path: [.path("other", .string())],
                                                    responses: [.ok(.ref("Missing"))]), Self.ok)
            group.get("/b", schema: RouteSchema("B", operationId: "same", responses: [.ok(.string())],
                                                security: [SecurityRequirement(scheme: "Nope")]), Self.ok)
        }, Self.group { group in group.schemas["Twice"] = .integer() }]
        let error = #expect(throws: OpenAPIError.self) {
            try OpenAPIGenerator.documents(surfaces: [Self.surface], groups: groups)
        }
        let problems = error?.problems.joined(separator: "\n") ?? ""
        for expected in ["operationId same is used twice", "path parameter other", "no component schema named Missing",
                         "unknown security scheme Nope", "component Twice is declared twice"] {
            #expect(problems.contains(expected), "\(expected) in \(problems)")
        }
    }

    @Test func responsesLinkToOperationsAndAnUnknownTargetIsRefused() throws {
        let created = ResponseSchema.created(.object([.required("id", .string())]))
        let json = try Self.document([Self.group { group in
            group.post("/item", schema: RouteSchema("Create", operationId: "createItem", responses: [
                created.linking(["getItem"], path: "id", fromBodyMember: "id"),
            ]), Self.ok)
            group.get("/item/:id", schema: RouteSchema("Read", operationId: "getItem", responses: [.ok(.string())]), Self.ok)
        }])
        #expect(json["paths"]?["/item"]?["post"]?["responses"]?["201"]?["links"]
                == ["getItem": ["operationId": "getItem", "parameters": ["id": "$response.body#/id"]]])
        let broken = Self.group { group in
            group.post("/item", schema: RouteSchema("Create", responses: [
                created.linking(["nowhere"], path: "id", fromBodyMember: "id"),
            ]), Self.ok)
        }
        let error = #expect(throws: OpenAPIError.self) {
            try OpenAPIGenerator.documents(surfaces: [Self.surface], groups: [broken])
        }
        #expect(error?.problems == ["POST /api/v1/item: links to no operation nowhere"])
    }

    @Test func aRouteWithItsOwnErrorBodyUsesItForEveryErrorAnswer() throws {
        var schema = RouteSchema("Token", responses: [.ok(.string()), .error(401, "invalid_client")])
        schema.errorBody = .ref("OAuthError")
        let json = try Self.document([Self.group { group in
            group.schemas["OAuthError"] = .object([.required("error", .string())])
            group.post("/token", schema: schema, Self.ok)
        }])
        let responses = try #require(json["paths"]?["/token"]?["post"]?["responses"])
        for status in ["401", "default"] {
            #expect(responses[status]?["content"]?["application/json"]?["schema"] == ["$ref": "#/components/schemas/OAuthError"])
        }
    }

    @Test func routesWithoutASchemaOrADocumentAreListed() {
        var undocumented = RouteGroup(prefix: "/other")
        undocumented.get("/x", schema: RouteSchema("X", responses: [.ok(.string())]), Self.ok)
        let groups = [Self.group { group in
            group.get("/declared", schema: RouteSchema("D", responses: [.ok(.string())]), Self.ok)
            group.post("/bare", Self.ok)
        }, undocumented]
        #expect(OpenAPIGenerator.undocumentedRoutes(groups) == ["POST /api/v1/bare", "GET /other/x"])
    }
}
