public import Kernel
import Synchronization

/// Stands in for an access guard that let a principal through: attaches the one a test names (nil: none), so a
/// test reaches a route's context conversion without a real credential.
public struct AttachPrincipal: Middleware {
    let principal: Principal?

    public init(_ principal: Principal?) { self.principal = principal }

    public func respond(to request: Request, context: RequestContext, next: Handler) async throws -> Response {
        var context = context
        context.principal = principal
        return try await next(request, context)
    }
}

/// How many times a probe handler ran, shared with its escaping closure.
public final class HandlerRuns: Sendable {
    private let count = Mutex(0)

    public init() {}

    public func add() { count.withLock { $0 += 1 } }
    public var total: Int { count.withLock { $0 } }
}
