import Foundation
import Synchronization
import Testing
@testable import Kernel

/// The surface renderer of these tests: a body no other renderer writes, so a test sees whose it is.
private struct SurfaceRenderer: ErrorRenderer {
    func render(_ error: AtlasError, requestId: String) -> Response {
        Response.json(["surface_error": .string(error.code), "message": .string(error.message)], status: error.status)
    }
}

/// Stands in for the access guard: attaches a principal when the request carries `X-Test-Merchant`.
private struct TestAuthentication: Middleware {
    func respond(to request: Request, context: RequestContext, next: Handler) async throws -> Response {
        var context = context
        if let merchantId = request.headers["X-Test-Merchant"] {
            context.principal = Principal(kind: .apiKey, id: "key_1", tenant: TenantContext(merchantId: merchantId, mode: .test),
                                          scopes: ["transactions:read"], credentialFingerprint: "fp", terminalId: "T1")
        }
        return try await next(request, context)
    }
}

/// What handlers saw, shared with the escaping handlers.
private final class Seen<Value: Sendable>: Sendable {
    let values: Mutex<[Value]> = Mutex([])
    func append(_ value: Value) { values.withLock { $0.append(value) } }
    var all: [Value] { values.withLock { $0 } }
}

private enum NoteSlot: RequestContextSlot {
    typealias Value = String
}

/// Puts a value in a slot, as the idempotency middleware puts its scope.
private struct NoteMiddleware: Middleware {
    func respond(to request: Request, context: RequestContext, next: Handler) async throws -> Response {
        var context = context
        context.setValue("noted", for: NoteSlot.self)
        return try await next(request, context)
    }
}

/// A connection that is already closed: enough to run a session that only reads its context.
private struct ClosedConnection: WebSocketConnection {
    func receive() async -> WebSocketMessage? { nil }
    func send(_ message: WebSocketMessage) throws(WebSocketSendError) {}
    func close(code: WebSocketCloseCode, reason: String) {}
    var peerCloseCode: WebSocketCloseCode? { nil }
}

/// `AuthenticatedContext` (a `ChildRequestContext`): converted once in routing, after the route's middleware; without
/// a principal the route answers 401 in its group's error body and the handler never runs.
@Suite struct AuthenticatedContextTests {
    static let schema = RouteSchema("Who am I", responses: [.ok(.any)])

    /// One route in a group whose authentication is group middleware, one whose authentication is the route's own.
    private static func router(handlerRuns: Seen<String>) -> (Router, RouteGroup) {
        var group = RouteGroup(prefix: "/api", errorRenderer: SurfaceRenderer(), middleware: [NoteMiddleware()])
        group.get("/me", middleware: [TestAuthentication()], schema: schema) { (request, context: AuthenticatedContext) in
            handlerRuns.append("/me")
            return .json(["merchantId": .string(context.tenant.merchantId), "mode": .string(context.tenant.mode.rawValue),
                          "principal": .string(context.principal.id), "terminalId": .string(context.principal.terminalId ?? ""),
                          "requestId": .string(context.requestId), "route": .string(context.routePattern),
                          "note": .string(context.value(NoteSlot.self) ?? "")])
        }
        group.post("/unguarded") { (_, context: AuthenticatedContext) in
            handlerRuns.append("/unguarded")
            return .json(["merchantId": .string(context.tenant.merchantId)])
        }
        return (Router(groups: [group]), group)
    }

    @Test func anAuthenticatedRequestReachesTheHandlerWithItsTenantAndTheRequestContext() async {
        let runs = Seen<String>()
        let (router, _) = Self.router(handlerRuns: runs)
        let response = await InProcessClient(router).send(.get, "/api/me", headers: ["X-Test-Merchant": "mer_1"])
        #expect(response.status == 200)
        let body = response.bodyJSON
        #expect(body?["merchantId"] == "mer_1")
        #expect(body?["mode"] == "test")
        #expect(body?["principal"] == "key_1")
        #expect(body?["terminalId"] == "T1")
        #expect(body?["route"] == "/api/me")
        #expect(body?["requestId"]?.stringValue?.isEmpty == false)
        // A slot a middleware filled reads through, as `context.idempotency` does.
        #expect(body?["note"] == "noted")
        #expect(runs.all == ["/me"])
    }

    @Test func withoutAPrincipalTheRouteAnswers401InTheGroupsBodyAndTheHandlerNeverRuns() async {
        let runs = Seen<String>()
        let (router, _) = Self.router(handlerRuns: runs)
        let client = InProcessClient(router)
        for (method, path) in [(HTTPMethod.get, "/api/me"), (.post, "/api/unguarded")] {
            let response = await client.send(method, path)
            #expect(response.status == 401)
            #expect(response.bodyJSON == ["surface_error": "UNAUTHORIZED", "message": "Missing or invalid credentials"])
        }
        #expect(runs.all.isEmpty)
    }

    @Test func theRouteKeepsItsPatternMethodAndSchema() {
        let (_, group) = Self.router(handlerRuns: Seen())
        #expect(group.routes.map { "\($0.method.rawValue) \($0.pattern)" } == ["GET /api/me", "POST /api/unguarded"])
        #expect(group.routes.first?.schema?.summary == Self.schema.summary)
        #expect(group.routes.last?.schema == nil)
    }

    @Test func theConversionThrowsUnauthorizedWithoutAPrincipal() throws {
        let error = #expect(throws: AtlasError.self) { try AuthenticatedContext(parent: RequestContext(requestId: "req_1")) }
        #expect(error?.status == 401)
        #expect(error?.code == "UNAUTHORIZED")
        let principal = Principal(kind: .device, id: "dev_1", tenant: TenantContext(merchantId: "mer_2", mode: .live),
                                  scopes: [], credentialFingerprint: "fp")
        var context = try AuthenticatedContext(parent: RequestContext(requestId: "req_2", principal: principal))
        #expect(context.tenant == TenantContext(merchantId: "mer_2", mode: .live))
        context.setValue("written", for: NoteSlot.self)
        #expect(context.value(NoteSlot.self) == "written")
        #expect(context.requestContext.value(NoteSlot.self) == "written")
    }

    @Test func anUnauthenticatedWebSocketUpgradeIsRefusedWith401() async {
        let sessions = Seen<TenantContext>()
        var group = RouteGroup(prefix: "/ws", errorRenderer: SurfaceRenderer(), middleware: [TestAuthentication()])
        group.webSocket("/session") { (_, context: AuthenticatedContext, _) in
            sessions.append(context.tenant)
        }
        let client = InProcessClient(Router(groups: [group]))
        let upgrade: HTTPHeaders = ["Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                                    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="]
        let refused = await client.send(.get, "/ws/session", headers: upgrade)
        #expect(refused.status == 401)
        #expect(refused.bodyJSON?["surface_error"] == "UNAUTHORIZED")
        #expect(refused.webSocket == nil)

        var authenticated = upgrade
        authenticated.add("X-Test-Merchant", "mer_3")
        let accepted = await client.send(.get, "/ws/session", headers: authenticated)
        #expect(accepted.status == 101)
        await accepted.webSocket?.run(ClosedConnection())
        #expect(sessions.all == [TenantContext(merchantId: "mer_3", mode: .test)])
    }
}
