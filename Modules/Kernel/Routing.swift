/// Per-request state that middleware fills in and handlers read.
public struct RequestContext: Sendable {
    public let requestId: String
    /// Set by the Auth middleware; nil on unauthenticated routes. A handler that needs it takes an
    /// `AuthenticatedContext` instead (non-optional there; the route answers 401 without it).
    public var principal: Principal?
    /// The matched route pattern, e.g. "/v1/transaction/:id" (a low-cardinality label for metrics).
    public var routePattern: String
    /// True on a WebSocket route's upgrade request: the only requests whose credential may come from `?apiKey=`.
    public var isWebSocketRoute: Bool = false
    /// What middleware hands the handler beyond the principal (an idempotency scope), by slot type.
    private var slots: [ObjectIdentifier: any Sendable] = [:]
    /// The route group's error format, so middleware can render (and store) an error response.
    public let errorRenderer: any ErrorRenderer

    public init(requestId: String, principal: Principal? = nil, routePattern: String = "",
                errorRenderer: any ErrorRenderer = EnvelopeErrorRenderer()) {
        self.requestId = requestId
        self.principal = principal
        self.routePattern = routePattern
        self.errorRenderer = errorRenderer
    }

    /// The value a middleware put in `slot`, if any.
    public func value<Slot: RequestContextSlot>(_ slot: Slot.Type) -> Slot.Value? {
        slots[ObjectIdentifier(slot)] as? Slot.Value
    }

    public mutating func setValue<Slot: RequestContextSlot>(_ value: Slot.Value?, for slot: Slot.Type) {
        slots[ObjectIdentifier(slot)] = value
    }
}

/// A typed slot of `RequestContext`: the slot type is the key, so a contract target adds its own
/// (e.g. `context.idempotency`) without Kernel knowing it.
public protocol RequestContextSlot {
    associatedtype Value: Sendable
}

public typealias Handler = @Sendable (Request, RequestContext) async throws -> Response

/// Wraps the rest of the chain: authentication, rate limits, idempotency, audit.
public protocol Middleware: Sendable {
    func respond(to request: Request, context: RequestContext, next: Handler) async throws -> Response
}

/// Told about every routed request, for metrics. Must be cheap and non-blocking.
public protocol RequestObserver: Sendable {
    func observe(method: HTTPMethod, routePattern: String, status: Int, durationSeconds: Double)
}

/// What the HTTP server calls for each request. It never throws: errors become responses.
public protocol HTTPResponder: Sendable {
    func respond(to request: Request) async -> Response
}

/// One route: a method, a pattern with `:name` segments, a handler, and its declared contract (nil when
/// the route declares none: the OpenAPI check lists it).
public struct Route: Sendable {
    public let method: HTTPMethod
    public let pattern: String
    public let handler: Handler
    /// With the route's own middleware's contributions already applied (the group's are applied by the generator).
    public let schema: RouteSchema?
    /// Declared with `RouteGroup.webSocket`: its GET is an upgrade request.
    public let isWebSocket: Bool

    public init(method: HTTPMethod, pattern: String, schema: RouteSchema? = nil, isWebSocket: Bool = false,
                handler: @escaping Handler) {
        self.method = method
        self.pattern = pattern
        self.schema = schema
        self.isWebSocket = isWebSocket
        self.handler = handler
    }
}

/// Routes under one path prefix that share middleware, an error body format and the API document
/// their declared schemas are published in.
public struct RouteGroup: Sendable {
    public let prefix: String
    public let errorRenderer: any ErrorRenderer
    public private(set) var middleware: [any Middleware]
    public private(set) var routes: [Route] = []
    /// The document (surface) these routes belong to; nil for routes no API document describes.
    public var document: SurfaceDocument?
    /// Component schemas this group's declarations refer to (`JSONSchema.ref`), merged into its document.
    public var schemas: [String: JSONSchema] = [:]

    public init(prefix: String, errorRenderer: any ErrorRenderer = EnvelopeErrorRenderer(),
                middleware: [any Middleware] = [], document: SurfaceDocument? = nil) {
        self.prefix = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        self.errorRenderer = errorRenderer
        self.middleware = middleware
        self.document = document
    }

    /// Adds a route; `middleware` wraps this route only, inside the group's middleware
    /// (for example a per-route scope requirement). `schema` is its contract for the API document.
    public mutating func add(_ method: HTTPMethod, _ path: String, middleware: [any Middleware] = [],
                             schema: RouteSchema? = nil, isWebSocket: Bool = false, _ handler: @escaping Handler) {
        let full = path.isEmpty || path == "/" ? (prefix.isEmpty ? "/" : prefix) : prefix + path
        routes.append(Route(method: method, pattern: full, schema: schema?.contributed(by: middleware),
                            isWebSocket: isWebSocket, handler: Router.compose(handler, middleware: middleware)))
    }

    public mutating func get(_ path: String, middleware: [any Middleware] = [], schema: RouteSchema? = nil,
                             _ handler: @escaping Handler) {
        add(.get, path, middleware: middleware, schema: schema, handler)
    }
    public mutating func post(_ path: String, middleware: [any Middleware] = [], schema: RouteSchema? = nil,
                              _ handler: @escaping Handler) {
        add(.post, path, middleware: middleware, schema: schema, handler)
    }
    public mutating func put(_ path: String, middleware: [any Middleware] = [], schema: RouteSchema? = nil,
                             _ handler: @escaping Handler) {
        add(.put, path, middleware: middleware, schema: schema, handler)
    }
    public mutating func patch(_ path: String, middleware: [any Middleware] = [], schema: RouteSchema? = nil,
                               _ handler: @escaping Handler) {
        add(.patch, path, middleware: middleware, schema: schema, handler)
    }
    public mutating func delete(_ path: String, middleware: [any Middleware] = [], schema: RouteSchema? = nil,
                                _ handler: @escaping Handler) {
        add(.delete, path, middleware: middleware, schema: schema, handler)
    }

    public mutating func use(_ middleware: any Middleware) { self.middleware.append(middleware) }
}

/// Dispatches requests to routes by method and path segments. Immutable once built, so the
/// server's event loops share it without locks. Unknown paths and methods are answered in the
/// error format of the group whose prefix matches longest.
public final class Router: HTTPResponder {
    private struct Entry: Sendable {
        let route: Route
        let segments: [Segment]
        let group: Int
        let chain: Handler
    }

    private enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    private let groups: [RouteGroup]
    private let entries: [Entry]
    /// Entries indexed by segment count, then by first literal, to keep lookup cheap.
    private let entriesBySegmentCount: [Int: [Int]]
    private let fallbackRenderer: any ErrorRenderer
    private let observer: (any RequestObserver)?

    public init(groups: [RouteGroup], fallbackRenderer: any ErrorRenderer = EnvelopeErrorRenderer(),
                observer: (any RequestObserver)? = nil) {
        self.groups = groups
        self.fallbackRenderer = fallbackRenderer
        self.observer = observer
        var entries: [Entry] = []
        for (groupIndex, group) in groups.enumerated() {
            for route in group.routes {
                let chain = Router.compose(route.handler, middleware: group.middleware)
                entries.append(Entry(route: route, segments: Router.parse(route.pattern), group: groupIndex,
                                     chain: chain))
            }
        }
        self.entries = entries
        var index: [Int: [Int]] = [:]
        for (position, entry) in entries.enumerated() { index[entry.segments.count, default: []].append(position) }
        entriesBySegmentCount = index
    }

    /// Every registered (method, pattern), for docs and the startup log.
    public var routeTable: [(method: String, pattern: String)] {
        entries.map { (method: $0.route.method.rawValue, pattern: $0.route.pattern) }
    }

    public func respond(to request: Request) async -> Response {
        guard let observer else { return await dispatch(request).response }
        let started = ContinuousClock.now
        let (response, pattern) = await dispatch(request)
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        observer.observe(method: request.method, routePattern: pattern, status: response.status, durationSeconds: seconds)
        return response
    }

    /// Routes one request; returns the response and the matched pattern ("unmatched" when none).
    private func dispatch(_ request: Request) async -> (response: Response, pattern: String) {
        var request = request
        let pathSegments = Router.split(request.path)
        var allowed: [String] = []
        for position in entriesBySegmentCount[pathSegments.count] ?? [] {
            let entry = entries[position]
            guard let parameters = Router.match(entry.segments, pathSegments) else { continue }
            let methodMatches = entry.route.method == request.method
                || (request.method == .head && entry.route.method == .get)
            guard methodMatches else {
                allowed.append(entry.route.method.rawValue)
                continue
            }
            request.pathParameters = parameters
            if let query = request.query, query.contains("%00") || query.contains("\0") {
                // PostgreSQL text cannot hold NUL: refuse here rather than fail later as a 500.
                let error = AtlasError.invalidField("query", "Query parameters must not contain NUL characters",
                                                    constraint: "format")
                return (groups[entry.group].errorRenderer.render(error, requestId: request.requestId), entry.route.pattern)
            }
            var context = RequestContext(requestId: request.requestId, routePattern: entry.route.pattern,
                                         errorRenderer: groups[entry.group].errorRenderer)
            context.isWebSocketRoute = entry.route.isWebSocket
            let response = await run(entry.chain, request: request, context: context,
                                     renderer: groups[entry.group].errorRenderer)
            return (response, entry.route.pattern)
        }
        let renderer = renderer(forPath: request.path)
        if !allowed.isEmpty {
            if request.method == .options {
                return (Response(status: 204, headers: ["Allow": (allowed + ["OPTIONS"]).joined(separator: ", ")]),
                        "unmatched")
            }
            return (renderer.render(.methodNotAllowed(allowed: allowed), requestId: request.requestId), "unmatched")
        }
        let message = "No route for \(request.method.rawValue) \(Router.safePath(request.path))"
        return (renderer.render(.notFound(message), requestId: request.requestId), "unmatched")
    }

    private func run(_ chain: Handler, request: Request, context: RequestContext,
                     renderer: any ErrorRenderer) async -> Response {
        do {
            return try await chain(request, context)
        } catch let error as AtlasError {
            return renderer.render(error, requestId: request.requestId)
        } catch let error as ContextualError {
            var response = renderer.render(error.error, requestId: request.requestId)
            for (name, value) in error.responseHeaders { response.headers.add(name, value) }
            return response
        } catch let error as DatabaseError where Router.isTransient(error) {
            return renderer.render(Router.databaseUnavailable, requestId: request.requestId)
        } catch {
            return renderer.render(.internalError(), requestId: request.requestId)
        }
    }

    /// A database that is down, saturated or restarting is a retryable 503, not an opaque 500: the
    /// request may succeed if the client retries (with the same Idempotency-Key, whose claim was released).
    static let databaseUnavailable = AtlasError(kind: .unavailable, status: 503, code: "SERVICE_UNAVAILABLE",
                                                message: "The database is temporarily unavailable; retry shortly",
                                                headers: [("Retry-After", "1")])

    /// No connection (refused, pool exhausted or closed) or PostgreSQL refusing work for now:
    /// class 08 connection exception, 53 insufficient resources, 57 operator intervention (cancel, shutdown).
    static func isTransient(_ error: DatabaseError) -> Bool {
        switch error.kind {
        case .connectionFailed, .poolTimeout, .poolClosed: return true
        default:
            guard let state = error.sqlState else { return false }
            return state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57")
        }
    }

    private func renderer(forPath path: String) -> any ErrorRenderer {
        var best: (length: Int, renderer: any ErrorRenderer)? = nil
        for group in groups where !group.prefix.isEmpty {
            let matches = path == group.prefix || path.hasPrefix(group.prefix + "/")
            if matches, group.prefix.count > (best?.length ?? -1) { best = (group.prefix.count, group.errorRenderer) }
        }
        return best?.renderer ?? fallbackRenderer
    }

    static func compose(_ handler: @escaping Handler, middleware: [any Middleware]) -> Handler {
        var chain = handler
        for layer in middleware.reversed() {
            let next = chain
            chain = { request, context in try await layer.respond(to: request, context: context, next: next) }
        }
        return chain
    }

    private static func parse(_ pattern: String) -> [Segment] {
        split(pattern).map { segment in
            if segment.hasPrefix(":") { return .parameter(String(segment.dropFirst())) }
            if segment.hasPrefix("{"), segment.hasSuffix("}") { return .parameter(String(segment.dropFirst().dropLast())) }
            return .literal(segment)
        }
    }

    private static func split(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    private static func match(_ segments: [Segment], _ path: [String]) -> [String: String]? {
        var parameters: [String: String] = [:]
        for (segment, component) in zip(segments, path) {
            switch segment {
            case .literal(let literal): if literal != component { return nil }
            case .parameter(let name):
                // A parameter with NUL names nothing that can exist (PostgreSQL text cannot hold it): 404.
                guard let decoded = component.removingPercentEncodingStrict, !decoded.contains("\0") else { return nil }
                parameters[name] = decoded
            }
        }
        return parameters
    }

    /// A path fit for an error message: at most 200 characters, printable ASCII only.
    static func safePath(_ path: String) -> String {
        String(path.unicodeScalars.prefix(200).map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "?" })
    }
}

/// An error together with headers that must reach the client even though the handler failed
/// (for example X-RateLimit-* on a 429).
public struct ContextualError: Error, Sendable {
    public let error: AtlasError
    public let responseHeaders: [(String, String)]

    public init(_ error: AtlasError, responseHeaders: [(String, String)]) {
        self.error = error
        self.responseHeaders = responseHeaders
    }
}

extension String {
    /// Percent-decodes a path segment; nil on malformed escapes or non-UTF-8 (no `+` handling).
    public var removingPercentEncodingStrict: String? {
        guard contains("%") else { return self }
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next(), let low = iterator.next(),
                  let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(value)
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

/// Calls a responder in-process, with no socket: the test client for handler tests.
public struct InProcessClient: Sendable {
    /// The status answered when a streamed body's producer throws (a real client sees the connection cut).
    public static let brokenStreamStatus = 0

    public let responder: any HTTPResponder

    public init(_ responder: any HTTPResponder) { self.responder = responder }

    public func send(_ method: HTTPMethod, _ target: String, headers: HTTPHeaders = HTTPHeaders(),
                     body: [UInt8] = []) async -> Response {
        var response = await responder.respond(to: Request(method: method, target: target, headers: headers, body: body))
        if method == .head {
            response.body = []
            response.bodyProducer = nil
        } else if response.bodyProducer != nil {
            // A streamed body is read whole here; a producer that fails is a cut connection: no response.
            do { response = try await response.collectingBody() } catch { return Response(status: Self.brokenStreamStatus) }
        }
        return response
    }

    public func send(_ method: HTTPMethod, _ target: String, headers: HTTPHeaders = HTTPHeaders(),
                     json: JSONValue) async -> Response {
        var headers = headers
        if !headers.contains("Content-Type") { headers.add("Content-Type", "application/json") }
        return await send(method, target, headers: headers, body: json.serialized())
    }
}
