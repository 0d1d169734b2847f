import Foundation
import Testing
@testable import Kernel

/// NUL in a path parameter or query value (found by the route fuzzer: PostgreSQL text cannot hold it,
/// so handlers failed with 500) is answered by the router in the group's error format.
@Suite struct RouterNULTests {
    private func client() -> InProcessClient {
        var group = RouteGroup(prefix: "/v1", errorRenderer: EnvelopeErrorRenderer())
        group.get("/things/:id") { request, _ in .json(["id": .string(request.pathParameter("id") ?? "")]) }
        group.get("/things") { request, _ in .json(["event": .string(request.queryParameters["event"] ?? "")]) }
        return InProcessClient(Router(groups: [group]))
    }

    @Test func aPathParameterWithNULIsNotFound() async {
        for target in ["/v1/things/%00", "/v1/things/x%00y", "/v1/things/a\u{0}b"] {
            let response = await client().send(.get, target)
            #expect(response.status == 404, "\(target)")
            #expect(response.bodyJSON?["error"] == "NOT_FOUND")
        }
        #expect(await client().send(.get, "/v1/things/%01").status == 200)
    }

    @Test func aQueryWithNULIsABadRequest() async {
        for target in ["/v1/things?event=%00", "/v1/things?a=1&event=x%00", "/v1/things/t1?%00=1"] {
            let response = await client().send(.get, target)
            #expect(response.status == 400, "\(target)")
            #expect(response.bodyJSON?["error"] == "INVALID_REQUEST")
            #expect(response.bodyJSON?["message"] == "Query parameters must not contain NUL characters")
            #expect(response.bodyJSON?["details"]?["field"] == "query")
        }
        #expect(await client().send(.get, "/v1/things?event=%01").bodyJSON?["event"] == .string("\u{1}"))
    }
}
