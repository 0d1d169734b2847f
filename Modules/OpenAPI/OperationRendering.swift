import Kernel

/// One route's Operation Object: its declared parameters, body and responses, plus the answers every route
/// of its kind has (the surface's validation error, 401/403 with credentials, 429 with rate limits, 409
/// with an Idempotency-Key, and a default error), each with the surface's error body.
struct OperationRenderer {
    let schema: RouteSchema
    let operationId: String
    let pathParameterNames: [String]
    let validationStatus: Int

    var json: JSONValue {
        var operation: [String: JSONValue] = [
            "operationId": .string(operationId), "summary": .string(schema.summary),
            "parameters": .array(parameters), "responses": .object(responses),
            "security": .array((schema.security ?? []).map { JSONValue.object([$0.scheme: .array($0.scopes.map(JSONValue.string))]) }),
        ]
        if let description = schema.description { operation["description"] = .string(description) }
        if let deprecation = schema.deprecation {
            operation["deprecated"] = true
            let sunset = "Sunset: " + DeprecationNotice.imfFixdate(deprecation.sunsetAt)
            operation["description"] = .string([schema.description, sunset].compactMap { $0 }.joined(separator: "\n\n"))
        }
        if !schema.tags.isEmpty { operation["tags"] = .array(schema.tags.map(JSONValue.string)) }
        if let body = schema.requestBody {
            operation["requestBody"] = ["required": .bool(body.isRequired),
                                        "content": [body.contentType: OperationRenderer.media(body.schema, body.example)]]
        }
        return .object(operation)
    }

    // MARK: Parameters

    private var parameters: [JSONValue] {
        let path = pathParameterNames.map { name in
            schema.pathParameters.first { $0.name == name } ?? .path(name, .string())
        }
        var headers = schema.headerParameters
        if schema.acceptsIdempotencyKey {
            headers.append(.header("Idempotency-Key", .string(lengthMin: 1, lengthMax: OperationRenderer.idempotencyKeyLengthMax),
                                   "Makes a retry safe: the same key and body answer the first response again"))
        }
        return path.map { parameter($0, in: "path") } + schema.queryParameters.map { parameter($0, in: "query") }
            + headers.map { parameter($0, in: "header") }
    }

    /// The Idempotency middleware's limit (IdempotencyMiddleware.keyLengthMax), repeated because the generator
    /// depends on Kernel only.
    static let idempotencyKeyLengthMax = 255

    private func parameter(_ parameter: RouteSchema.Parameter, in location: String) -> JSONValue {
        var json: [String: JSONValue] = ["name": .string(parameter.name), "in": .string(location),
                                         "required": .bool(parameter.isRequired), "schema": parameter.schema.openAPIValue]
        if let description = parameter.description { json["description"] = .string(description) }
        return .object(json)
    }

    // MARK: Responses

    private var responses: [String: JSONValue] {
        var all = schema.responses
        let declared = Set(all.map(\.status))
        func addUnlessDeclared(_ status: Int, _ description: String) {
            if !declared.contains(status) { all.append(.error(status, description)) }
        }
        let hasInput = schema.requestBody != nil || !schema.queryParameters.isEmpty || !pathParameterNames.isEmpty
            || schema.acceptsIdempotencyKey
        if hasInput { addUnlessDeclared(validationStatus, "A field, parameter or the body is invalid") }
        if !(schema.security ?? []).isEmpty {
            addUnlessDeclared(401, "The credential is missing, invalid or revoked")
            addUnlessDeclared(403, "The credential lacks a role or scope this route needs")
        }
        if schema.isRateLimited { addUnlessDeclared(429, "Too many requests: retry after Retry-After seconds") }
        if schema.acceptsIdempotencyKey {
            addUnlessDeclared(409, "The Idempotency-Key was used with another body, or its first request is still running")
        }
        var json = Dictionary(all.map { (String($0.status), response($0)) }, uniquingKeysWith: { first, _ in first })
        json["default"] = response(.error(500, "An unexpected error (the body says which)"))
        return json
    }

    private func response(_ response: ResponseSchema) -> JSONValue {
        var json: [String: JSONValue] = ["description": .string(response.description)]
        if let contentType = response.contentType {
            let body = response.body ?? schema.errorBody ?? .ref(OpenAPIGenerator.errorComponent)
            let media = OperationRenderer.media(body, response.example)
            json["content"] = .object(Dictionary(([contentType] + response.alternativeContentTypes).map { ($0, media) },
                                                 uniquingKeysWith: { first, _ in first }))
        }
        var headers = Dictionary(response.headers.map { ($0.name, headerJSON($0)) }, uniquingKeysWith: { first, _ in first })
        if schema.isRateLimited {
            for name in ResponseHeaders.rateLimit { headers[name] = ResponseHeaders.reference(name) }
            if response.status == 429 { headers[ResponseHeaders.retryAfter] = ResponseHeaders.reference(ResponseHeaders.retryAfter) }
        }
        if schema.acceptsIdempotencyKey, (200..<300).contains(response.status) {
            headers[ResponseHeaders.replayed] = ResponseHeaders.reference(ResponseHeaders.replayed)
        }
        if !headers.isEmpty { json["headers"] = .object(headers) }
        if !response.links.isEmpty {
            json["links"] = .object(Dictionary(response.links.map { link in
                (link.operationId, ["operationId": .string(link.operationId),
                                    "parameters": .object(link.parameters.mapValues(JSONValue.string))] as JSONValue)
            }, uniquingKeysWith: { first, _ in first }))
        }
        return .object(json)
    }

    private func headerJSON(_ header: RouteSchema.Parameter) -> JSONValue {
        var json: [String: JSONValue] = ["schema": header.schema.openAPIValue, "required": .bool(header.isRequired)]
        if let description = header.description { json["description"] = .string(description) }
        return .object(json)
    }

    static func media(_ schema: JSONSchema, _ example: JSONValue?) -> JSONValue {
        var media: [String: JSONValue] = ["schema": schema.openAPIValue]
        if let example { media["example"] = example }
        return .object(media)
    }
}

/// The response headers the platform's middleware adds, as reusable components (`#/components/headers`).
enum ResponseHeaders {
    static let rateLimit = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]
    static let retryAfter = "Retry-After"
    static let replayed = "Idempotent-Replayed"

    static func reference(_ name: String) -> JSONValue { ["$ref": .string("#/components/headers/\(name)")] }

    static let components: [String: JSONValue] = [
        "X-RateLimit-Limit": header("Requests the credential may make in the current window", .integer(minimum: 0)),
        "X-RateLimit-Remaining": header("Requests left in the current window", .integer(minimum: 0)),
        "X-RateLimit-Reset": header("When the window resets, in Unix seconds", .integer(minimum: 0)),
        "Retry-After": header("Seconds to wait before retrying", .integer(minimum: 0)),
        "Idempotent-Replayed": header("Present when this is the stored answer to an earlier request with the same key",
                                      .enumeration(["true"])),
    ]

    private static func header(_ description: String, _ schema: JSONSchema) -> JSONValue {
        ["description": .string(description), "schema": schema.openAPIValue]
    }
}
