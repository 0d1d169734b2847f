import Foundation
import Synchronization
import Testing
@testable import Kernel

private struct SurfaceRenderer: ErrorRenderer {
    func render(_ error: AtlasError, requestId: String) -> Response {
        let code = error.kind == .missingField || error.kind == .invalidField ? "VALIDATION_ERROR" : error.code
        return Response.json(["error": .string(code), "message": .string(error.message)], status: error.status)
    }
}

private struct HeaderMiddleware: Middleware {
    func respond(to request: Request, context: RequestContext, next: Handler) async throws -> Response {
        var response = try await next(request, context)
        response.headers.add("X-Layer", "outer")
        return response
    }
}

private struct Sale: Decodable, Validatable {
    let amount: Int64
    let currency: String
    let items: [Item]?
    struct Item: Decodable { let sku: String; let quantity: Int }

    func validate() throws(AtlasError) {
        guard amount > 0 else { throw .invalidField("amount", "amount must be positive", constraint: "minimum") }
    }
}

private final class CountingObserver: RequestObserver {
    let seen = Mutex<[String]>([])
    func observe(method: HTTPMethod, routePattern: String, status: Int, durationSeconds: Double) {
        seen.withLock { $0.append("\(method) \(routePattern) \(status)") }
    }
}

@Suite struct RouterTests {
    private func makeRouter(observer: (any RequestObserver)? = nil) -> Router {
        var commerce = RouteGroup(prefix: "/v1", middleware: [HeaderMiddleware()])
        commerce.get("/transaction/:id") { request, _ in
            .json(["id": .string(request.pathParameter("id") ?? "")])
        }
        commerce.post("/transaction/sale") { request, _ in
            let sale = try request.decodeJSON(Sale.self)
            return .json(["amount": .int(sale.amount)], status: 201)
        }
        var rounding = RouteGroup(prefix: "/api/v1", errorRenderer: SurfaceRenderer())
        rounding.post("/transaction") { request, _ in
            _ = try request.decodeJSON(Sale.self)
            return .json(["ok": true])
        }
        var root = RouteGroup(prefix: "")
        root.get("/health") { _, _ in .json(["status": "ok"]) }
        return Router(groups: [commerce, rounding, root], observer: observer)
    }

    @Test func matchesPathParametersAndRunsMiddleware() async {
        let client = InProcessClient(makeRouter())
        let response = await client.send(.get, "/v1/transaction/txn_123%20x?expand=1")
        #expect(response.status == 200)
        #expect(response.bodyJSON?["id"] == "txn_123 x")
        #expect(response.headers["x-layer"] == "outer")
    }

    @Test func headIsAnsweredByGetRoutesWithoutBody() async {
        let response = await InProcessClient(makeRouter()).send(.head, "/health")
        #expect(response.status == 200)
        #expect(response.body.isEmpty)
    }

    @Test func unknownRoutesUseTheLongestPrefixGroupsErrorBody() async {
        let client = InProcessClient(makeRouter())
        let commerce = await client.send(.get, "/v1/nope")
        #expect(commerce.status == 404)
        #expect(commerce.bodyJSON?["error"] == "NOT_FOUND")
        #expect(commerce.bodyJSON?["requestId"]?.stringValue?.hasPrefix("req_") == true)
        let rounding = await client.send(.get, "/api/v1/nope")
        #expect(rounding.bodyJSON?["requestId"] == nil)
        let wrongMethod = await client.send(.delete, "/v1/transaction/sale")
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.headers["Allow"] == "GET, POST")
    }

    @Test func bodyDecodingReportsFieldLevelErrors() async {
        let client = InProcessClient(makeRouter())
        let missing = await client.send(.post, "/v1/transaction/sale", json: ["currency": "USD"])
        #expect(missing.status == 400)
        #expect(missing.bodyJSON?["error"] == "MISSING_FIELD")
        #expect(missing.bodyJSON?["details"]?["field"] == "amount")

        let wrongType = await client.send(.post, "/v1/transaction/sale", json: ["amount": "ten", "currency": "USD"])
        #expect(wrongType.bodyJSON?["error"] == "INVALID_REQUEST")
        #expect(wrongType.bodyJSON?["details"]?["field"] == "amount")

        let nested = await client.send(.post, "/v1/transaction/sale",
                                       json: ["amount": 5, "currency": "USD", "items": [["sku": "a"]]])
        #expect(nested.bodyJSON?["details"]?["field"] == "items[0].quantity")

        let negative = await client.send(.post, "/v1/transaction/sale", json: ["amount": -100, "currency": "USD"])
        #expect(negative.bodyJSON?["details"]?["constraint"] == "minimum")

        let garbage = await client.send(.post, "/v1/transaction/sale", headers: ["Content-Type": "application/json"],
                                        body: Array("{not json".utf8))
        #expect(garbage.status == 400)
        #expect(garbage.bodyJSON?["error"] == "INVALID_REQUEST")

        let wrongMedia = await client.send(.post, "/v1/transaction/sale", headers: ["Content-Type": "text/plain"],
                                           body: Array("{}".utf8))
        #expect(wrongMedia.status == 415)

        let surface = await client.send(.post, "/api/v1/transaction", json: ["currency": "USD"])
        #expect(surface.bodyJSON?["error"] == "VALIDATION_ERROR")
    }

    @Test func observerSeesRoutePatternsNotRawPaths() async {
        let observer = CountingObserver()
        let client = InProcessClient(makeRouter(observer: observer))
        _ = await client.send(.get, "/v1/transaction/txn_1")
        _ = await client.send(.get, "/v1/secret-path")
        #expect(observer.seen.withLock { $0 } == ["GET /v1/transaction/:id 200", "GET unmatched 404"])
    }

    @Test func unexpectedErrorsBecomeOpaque500s() async {
        struct Boom: Error {}
        var group = RouteGroup(prefix: "/v1")
        group.get("/boom") { _, _ in throw Boom() }
        let response = await InProcessClient(Router(groups: [group])).send(.get, "/v1/boom")
        #expect(response.status == 500)
        #expect(response.bodyJSON?["message"] == "Internal error")
    }
}

@Suite struct RequestTests {
    @Test func parsesQueryParameters() {
        let request = Request(method: .get, target: "/x?a=1&b=hello+world&c=%E2%82%AC&d&bad=%zz")
        #expect(request.path == "/x")
        #expect(request.queryParameters["a"] == "1")
        #expect(request.queryParameters["b"] == "hello world")
        #expect(request.queryParameters["c"] == "€")
        #expect(request.queryParameters["d"] == "")
        #expect(request.queryParameters["bad"] == nil)
    }

    @Test func headersCompareCaseInsensitively() {
        var headers: HTTPHeaders = ["X-Api-Key": "a"]
        #expect(headers["x-api-key"] == "a")
        headers.set("X-API-KEY", "b")
        #expect(headers.count == 1)
        #expect(headers.all("x-api-key") == ["b"])
    }
}

@Suite struct SQLTests {
    @Test func interpolationBindsValuesNeverText() {
        let secret = "'; DROP TABLE x; --"
        let sql: SQL = "SELECT * FROM t WHERE a = \(secret) AND b = \(Int64(5)) AND c = \(String?.none as String?)"
        #expect(sql.text == "SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $3")
        #expect(sql.binds == [.text(secret), .int(5), .null])
        #expect(!sql.description.contains("DROP"))
    }

    @Test func decodesColumnText() throws {
        let row = Row(columns: ["n", "b", "t", "bytes", "missing"], values: ["42", "t", "2026-11-25 20:02:27.5+00", "\\x00ff", nil])
        #expect(try row.decode("n", as: Int64.self) == 42)
        #expect(try row.decode("b", as: Bool.self) == true)
        #expect(try row.decode("bytes", as: [UInt8].self) == [0, 255])
        #expect(try row.decode("missing", as: String?.self) == nil)
        let date = try row.decode("t", as: Date.self)
        #expect(date.timeIntervalSince1970 == 1_795_636_947.5)
        #expect(throws: DatabaseError.self) { try row.decode("missing", as: Int64.self) }
    }

    @Test func parsesTimestampOffsets() {
        #expect(PostgresTimestamp.parse("2026-01-01 00:00:00+02")?.timeIntervalSince1970 == 1_767_218_400)
        #expect(PostgresTimestamp.parse("2026-01-01 00:00:00-05:30")?.timeIntervalSince1970 == 1_767_245_400)
        #expect(PostgresTimestamp.parse("garbage") == nil)
    }
}
