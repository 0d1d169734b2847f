import AccessContract
import AtlasTestSupport
import Testing
import Kernel
@testable import Rounding

/// `RoundingContext` (a `ChildRequestContext`): without a principal the route answers the rounding 401 and the
/// handler never runs; with one, the handler's `Caller` acts for the key's own tenant.
@Suite struct RoundingContextTests {
    private static func client(_ principal: Principal?, runs: HandlerRuns) -> InProcessClient {
        var group = RouteGroup(prefix: "/api/v1/probe", surface: .rounding)
        group.get("/", middleware: [AttachPrincipal(principal)]) { (_, context: RoundingContext) in
            runs.add()
            return .json(["key": .string(context.principal.id), "mode": .string(context.principal.tenant.mode.rawValue),
                          "request_id": .string(context.requestId)])
        }
        return InProcessClient(Router(groups: [group]))
    }

    @Test func withoutAPrincipalTheRouteAnswersTheRounding401AndTheHandlerNeverRuns() async {
        let runs = HandlerRuns()
        let response = await Self.client(nil, runs: runs).send(.get, "/api/v1/probe/")
        #expect(response.status == 401)
        #expect(response.bodyJSON == ["error": "UNAUTHORIZED", "message": "Invalid or missing API key"])
        #expect(runs.total == 0)
    }

    @Test func aRoleKeyReachesTheHandlerWithItsPrincipalAndTheRequestContext() async {
        let key = Principal(kind: .roleKey, id: "key_1", tenant: TenantContext(merchantId: "mer_1", mode: .test), scopes: [],
                            role: "merchant", credentialFingerprint: "fp")
        let runs = HandlerRuns()
        let response = await Self.client(key, runs: runs).send(.get, "/api/v1/probe/")
        #expect(response.status == 200)
        #expect(response.bodyJSON?["key"] == "key_1")
        #expect(response.bodyJSON?["mode"] == "test")
        #expect(response.bodyJSON?["request_id"]?.stringValue?.isEmpty == false)
        #expect(runs.total == 1)
    }
}
