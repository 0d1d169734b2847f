public import Kernel

/// One generated OpenAPI 3.1 document: `GET /openapi/<id>.json`, `docs/api/<id>.json`.
public struct GeneratedDocument: Sendable {
    public let id: String
    public let json: JSONValue
}

/// Declarations that cannot make a valid document (a `$ref` to no component, two operations with one id,
/// a path parameter the pattern lacks); all of them at once, so one run lists every fix.
public struct OpenAPIError: Error, Sendable, CustomStringConvertible {
    public let problems: [String]
    public var description: String { "OpenAPI declarations are invalid:\n" + problems.joined(separator: "\n") }
}

/// Builds one OpenAPI 3.1 document per surface from the route table: the routes of the groups that name
/// the surface's document, with the schemas they declared and their middleware's contributions.
public enum OpenAPIGenerator {
    public static let openAPIVersion = "3.1.0"
    /// The component every surface's error responses refer to.
    static let errorComponent = "Error"

    public static func schemaReference(_ name: String) -> String { "#/components/schemas/\(name)" }

    /// One document per entry of `surfaces` (in that order), even when no route declares a schema yet.
    public static func documents(surfaces: [SurfaceDocument], groups: [RouteGroup])
        throws(OpenAPIError) -> [GeneratedDocument] {
        var problems: [String] = []
        let known = Set(surfaces.map(\.id))
        for group in groups { if let id = group.document?.id, !known.contains(id) { problems.append("unknown document \(id)") } }
        let documents = surfaces.map { surface in
            let members = groups.filter { $0.document?.id == surface.id }
            var builder = DocumentBuilder(surface: surface)
            for group in members { builder.add(group) }
            let json = builder.finish()
            problems += builder.problems
            return GeneratedDocument(id: surface.id, json: json)
        }
        guard problems.isEmpty else { throw OpenAPIError(problems: problems) }
        return documents
    }

    /// Routes that no document describes ("GET /v1/charges"): their group names no document, or the
    /// route declares no schema.
    public static func undocumentedRoutes(_ groups: [RouteGroup]) -> [String] {
        groups.flatMap { group in
            group.routes.filter { group.document == nil || $0.schema == nil }.map { "\($0.method.rawValue) \($0.pattern)" }
        }
    }

    /// `POST /transaction/:id/void` → `postTransactionIdVoid`.
    static func derivedOperationId(method: HTTPMethod, path: String) -> String {
        let words = path.split(whereSeparator: { !$0.isLetter && !$0.isNumber })
        return method.rawValue.lowercased() + words.map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// `/api/v1/transaction/:id/receipt` under `/api/v1` → `/transaction/{id}/receipt`, and its parameter names.
    static func documentPath(_ pattern: String, basePath: String) -> (path: String, parameters: [String])? {
        guard pattern == basePath || pattern.hasPrefix(basePath + "/") || basePath.isEmpty else { return nil }
        let relative = pattern.dropFirst(basePath.count)
        var names: [String] = []
        let segments = relative.split(separator: "/").map { segment -> String in
            guard segment.hasPrefix(":") else { return String(segment) }
            names.append(String(segment.dropFirst()))
            return "{\(segment.dropFirst())}"
        }
        return ("/" + segments.joined(separator: "/"), names)
    }
}

/// Accumulates one document's paths and components, recording every problem instead of stopping at the first.
struct DocumentBuilder {
    let surface: SurfaceDocument
    private(set) var problems: [String] = []
    private var paths: [String: [String: JSONValue]] = [:]
    private var schemas: [String: JSONSchema]
    private var operationIds: Set<String> = []
    private var tags: Set<String> = []
    private var oauthScopes: Set<String> = []
    /// "route → operationId" of every declared link, checked once every operation is known.
    private var linkTargets: [(route: String, operationId: String)] = []

    init(surface: SurfaceDocument) {
        self.surface = surface
        schemas = surface.schemas
        schemas[OpenAPIGenerator.errorComponent] = surface.errorBody
    }

    mutating func add(_ group: RouteGroup) {
        for (name, schema) in group.schemas {
            if let existing = schemas[name], existing != schema { problems.append("component \(name) is declared twice, differently") }
            schemas[name] = schema
        }
        for route in group.routes {
            guard let declared = route.schema else { continue }
            add(route, schema: declared.contributed(by: group.middleware))
        }
    }

    private mutating func add(_ route: Route, schema: RouteSchema) {
        let name = "\(route.method.rawValue) \(route.pattern)"
        guard let located = OpenAPIGenerator.documentPath(route.pattern, basePath: surface.basePath) else {
            problems.append("\(name) is outside \(surface.basePath)")
            return
        }
        let (path, parameterNames) = located
        let operationId = schema.operationId ?? OpenAPIGenerator.derivedOperationId(method: route.method, path: path)
        if !operationIds.insert(operationId).inserted { problems.append("\(name): operationId \(operationId) is used twice") }
        for declared in schema.pathParameters where !parameterNames.contains(declared.name) {
            problems.append("\(name): path parameter \(declared.name) is not in the pattern")
        }
        for requirement in schema.security ?? [] {
            guard let scheme = surface.securitySchemes[requirement.scheme] else {
                problems.append("\(name): unknown security scheme \(requirement.scheme)")
                continue
            }
            if case .oauth2ClientCredentials = scheme { oauthScopes.formUnion(requirement.scopes) }
        }
        tags.formUnion(schema.tags)
        linkTargets += schema.responses.flatMap(\.links).map { (name, $0.operationId) }
        let operation = OperationRenderer(schema: schema, operationId: operationId, pathParameterNames: parameterNames,
                                          validationStatus: surface.validationStatus).json
        paths[path, default: [:]][route.method.rawValue.lowercased()] = operation
    }

    /// The document; a `$ref` to a component no one declared is recorded as a problem.
    mutating func finish() -> JSONValue {
        var referenced = Set<String>()
        for schema in schemas.values { referenced.formUnion(schema.referencedComponents) }
        for operation in paths.values.flatMap(\.values) { referenced.formUnion(DocumentBuilder.references(in: operation)) }
        for name in referenced.subtracting(schemas.keys).sorted() {
            problems.append("\(surface.id): no component schema named \(name)")
        }
        for link in linkTargets where !operationIds.contains(link.operationId) {
            problems.append("\(link.route): links to no operation \(link.operationId)")
        }
        var document: [String: JSONValue] = [
            "openapi": .string(OpenAPIGenerator.openAPIVersion),
            "info": ["title": .string(surface.title), "version": .string(surface.version),
                     "description": .string(surface.description)],
            "servers": [["url": .string(surface.basePath.isEmpty ? "/" : surface.basePath)]],
            "paths": .object(paths.mapValues { .object($0) }),
            "components": [
                "schemas": .object(schemas.mapValues(\.openAPIValue)),
                "securitySchemes": .object(surface.securitySchemes.mapValues { securitySchemeJSON($0) }),
                "headers": .object(ResponseHeaders.components),
            ],
        ]
        if !tags.isEmpty { document["tags"] = .array(tags.sorted().map { ["name": .string($0)] }) }
        return .object(document)
    }

    private func securitySchemeJSON(_ scheme: SecurityScheme) -> JSONValue {
        switch scheme {
        case .apiKeyHeader(let name, let description):
            return ["type": "apiKey", "in": "header", "name": .string(name), "description": .string(description)]
        case .bearer(let format, let description):
            return ["type": "http", "scheme": "bearer", "bearerFormat": .string(format), "description": .string(description)]
        case .oauth2ClientCredentials(let tokenPath, let description):
            let scopes = JSONValue.object(Dictionary(uniqueKeysWithValues: oauthScopes.map { ($0, .string("Scope \($0)")) }))
            return ["type": "oauth2", "description": .string(description),
                    "flows": ["clientCredentials": ["tokenUrl": .string(tokenPath), "scopes": scopes]]]
        }
    }

    /// Every component a rendered operation refers to (`#/components/schemas/<name>`).
    static func references(in value: JSONValue) -> Set<String> {
        let prefix = OpenAPIGenerator.schemaReference("")
        switch value {
        case .object(let members):
            var found = Set<String>()
            if let target = members["$ref"]?.stringValue, target.hasPrefix(prefix) { found.insert(String(target.dropFirst(prefix.count))) }
            for member in members.values { found.formUnion(references(in: member)) }
            return found
        case .array(let values): return values.reduce(into: Set<String>()) { $0.formUnion(references(in: $1)) }
        default: return []
        }
    }
}
