import Foundation
import Testing
@testable import Kernel

/// `DeprecatedRoute`: RFC 9745 `Deprecation` and RFC 8594 `Sunset` on every answer, errors included, and
/// `deprecated` in the route's schema.
@Suite struct DeprecatedRouteTests {
    static let notice = DeprecationNotice(deprecatedAt: Date(timeIntervalSince1970: 1_775_692_800),
                                          sunsetAt: Date(timeIntervalSince1970: 1_807_228_800))

    @Test func answersAndErrorsCarryTheNotice() async {
        var group = RouteGroup(prefix: "/v1")
        group.get("/old", middleware: [DeprecatedRoute(Self.notice)], schema: RouteSchema("Old", responses: [.ok(.any)])) { _, _ in
            .json(["ok": true])
        }
        group.get("/old-failing", middleware: [DeprecatedRoute(Self.notice)], schema: RouteSchema("Old", responses: [])) { _, _ in
            throw AtlasError.notFound()
        }
        let router = Router(groups: [group])
        let client = InProcessClient(router)
        let ok = await client.send(.get, "/v1/old")
        #expect(ok.status == 200)
        #expect(ok.headers["Deprecation"] == "@1775692800")
        #expect(ok.headers["Sunset"] == "Fri, 09 Apr 2027 00:00:00 GMT")
        let failing = await client.send(.get, "/v1/old-failing")
        #expect(failing.status == 404)
        #expect(failing.headers["Sunset"] == "Fri, 09 Apr 2027 00:00:00 GMT")
        #expect(group.routes.first?.schema?.deprecation == Self.notice)
    }
}
