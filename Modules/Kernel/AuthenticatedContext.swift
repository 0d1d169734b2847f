/// A handler's context derived from the `RequestContext` once per request, in routing: after the route's
/// middleware ran (so it sees the principal the access guard attached) and before the handler. A route whose
/// handler takes one never runs that handler without what the context guarantees; the conversion's error is
/// answered by the route group's renderer, in the surface's error body. The model is Hummingbird's
/// `ChildRequestContext`. Declare such a route with the `RouteGroup` overloads below, or `webSocket`.
public protocol ChildRequestContext: Sendable {
    init(parent: RequestContext) throws(AtlasError)
}

/// A handler that takes a derived context (`AuthenticatedContext` on every authenticated route).
public typealias ChildHandler<Context: ChildRequestContext> = @Sendable (Request, Context) async throws -> Response

/// The context of a route whose caller is authenticated: the principal and its tenant (merchant and live/test
/// mode) are not optional, so no handler checks for them. WHY a type and not a check in each handler: the check
/// was written ~45 times, and a handler that forgot it could only fail at run time.
/// Everything else reads through as on `RequestContext` (`requestId`, `routePattern`, `errorRenderer`, and the
/// contract targets' slots such as `idempotency` and `apiVersion`), by dynamic member lookup.
public struct AuthenticatedContext: RequestContextReadThrough {
    public let principal: Principal
    /// The context the middleware built, for an API that takes a `RequestContext`.
    public var requestContext: RequestContext

    /// 401 `UNAUTHORIZED` without a principal: only a route declared behind no access guard gets here
    /// (the guard answers a missing credential first, in its surface's words).
    public init(parent: RequestContext) throws(AtlasError) {
        guard let principal = parent.principal else { throw AtlasError.unauthorized() }
        self.principal = principal
        requestContext = parent
    }

    /// The merchant and mode every query of the handler is scoped by.
    public var tenant: TenantContext { principal.tenant }
}

/// A derived context that keeps the `RequestContext` it was made from and reads everything it does not hold
/// itself through to it (`requestId`, `routePattern`, the contract targets' slots), by dynamic member lookup.
/// Each surface's context (`AuthenticatedContext`, and a module's own, such as the accounting surface's) adds
/// only what it guarantees.
@dynamicMemberLookup
public protocol RequestContextReadThrough: ChildRequestContext {
    var requestContext: RequestContext { get set }
}

extension RequestContextReadThrough {
    public subscript<Value>(dynamicMember keyPath: KeyPath<RequestContext, Value>) -> Value {
        requestContext[keyPath: keyPath]
    }

    public subscript<Value>(dynamicMember keyPath: WritableKeyPath<RequestContext, Value>) -> Value {
        get { requestContext[keyPath: keyPath] }
        set { requestContext[keyPath: keyPath] = newValue }
    }

    /// The value a middleware put in `slot`, if any (`RequestContext.value(_:)`).
    public func value<Slot: RequestContextSlot>(_ slot: Slot.Type) -> Slot.Value? {
        requestContext.value(slot)
    }

    public mutating func setValue<Slot: RequestContextSlot>(_ value: Slot.Value?, for slot: Slot.Type) {
        requestContext.setValue(value, for: slot)
    }
}

extension RouteGroup {
    /// Adds a route whose handler takes a derived context (see `ChildRequestContext`): the conversion runs inside
    /// the route's and the group's middleware, just before the handler, so its error is rendered, audited and
    /// observed like the handler's own. The route's schema is the same as with a plain handler.
    public mutating func add<Context: ChildRequestContext>(
        _ method: HTTPMethod, _ path: String, middleware: [any Middleware] = [], schema: RouteSchema? = nil,
        _ handler: @escaping ChildHandler<Context>) {
        add(method, path, middleware: middleware, schema: schema) { (request: Request, context: RequestContext) in
            try await handler(request, try Context(parent: context))
        }
    }

    public mutating func get<Context: ChildRequestContext>(
        _ path: String, middleware: [any Middleware] = [], schema: RouteSchema? = nil,
        _ handler: @escaping ChildHandler<Context>) {
        add(.get, path, middleware: middleware, schema: schema, handler)
    }
    public mutating func post<Context: ChildRequestContext>(
        _ path: String, middleware: [any Middleware] = [], schema: RouteSchema? = nil,
        _ handler: @escaping ChildHandler<Context>) {
        add(.post, path, middleware: middleware, schema: schema, handler)
    }
    public mutating func put<Context: ChildRequestContext>(
        _ path: String, middleware: [any Middleware] = [], schema: RouteSchema? = nil,
        _ handler: @escaping ChildHandler<Context>) {
        add(.put, path, middleware: middleware, schema: schema, handler)
    }
    public mutating func patch<Context: ChildRequestContext>(
        _ path: String, middleware: [any Middleware] = [], schema: RouteSchema? = nil,
        _ handler: @escaping ChildHandler<Context>) {
        add(.patch, path, middleware: middleware, schema: schema, handler)
    }
    public mutating func delete<Context: ChildRequestContext>(
        _ path: String, middleware: [any Middleware] = [], schema: RouteSchema? = nil,
        _ handler: @escaping ChildHandler<Context>) {
        add(.delete, path, middleware: middleware, schema: schema, handler)
    }
}
