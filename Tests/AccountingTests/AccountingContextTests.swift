import AccessContract
import AtlasTestSupport
import Testing
import Kernel
@testable import Accounting

/// `AccountingContext` (a `ChildRequestContext`): routing converts once, before the handler; a caller that is not a
/// user of an organization gets the accounting 401 body and the handler never runs.
@Suite struct AccountingContextTests {
    private static let tenant = TenantContext(merchantId: "mer_1", mode: .live)
    private static let notAuthenticated: JSONValue = ["detail": "Not authenticated", "status_code": 401, "errors": []]

    /// One accounting-surface route (the accounting error body) behind `AttachPrincipal(principal)`.
    private static func client(_ principal: Principal?, runs: HandlerRuns) -> InProcessClient {
        var group = RouteGroup(prefix: "/api/v1/probe", surface: .accounting)
        group.get("/", middleware: [AttachPrincipal(principal)]) { (_, caller: AccountingContext) in
            runs.add()
            return .json(["user": .string(caller.userId), "organization": .string(caller.organizationId),
                          "merchant": .string(caller.merchantId), "mode": .string(caller.mode.rawValue),
                          "request_id": .string(caller.requestId)])
        }
        return InProcessClient(Router(groups: [group]))
    }

    @Test func aCallerWithoutAUserTokenGetsTheAccounting401AndTheHandlerNeverRuns() async {
        let apiKey = Principal(kind: .apiKey, id: "key_1", tenant: Self.tenant, organizationId: "org_1",
                               scopes: [], credentialFingerprint: "fp")
        let userWithoutOrganization = Principal(kind: .user, id: "usr_1", tenant: Self.tenant, scopes: [],
                                                credentialFingerprint: "fp")
        let runs = HandlerRuns()
        for principal in [nil, apiKey, userWithoutOrganization] {
            let response = await Self.client(principal, runs: runs).send(.get, "/api/v1/probe/")
            #expect(response.status == 401)
            #expect(response.bodyJSON == Self.notAuthenticated)
        }
        #expect(runs.total == 0)
    }

    @Test func aUserOfAnOrganizationReachesTheHandlerWithItsIdsAndTheRequestContext() async {
        let user = Principal(kind: .user, id: "usr_1", tenant: Self.tenant, organizationId: "org_1", scopes: [],
                             role: "owner", credentialFingerprint: "fp")
        let runs = HandlerRuns()
        let response = await Self.client(user, runs: runs).send(.get, "/api/v1/probe/")
        #expect(response.status == 200)
        let body = response.bodyJSON
        #expect(body?["user"] == "usr_1")
        #expect(body?["organization"] == "org_1")
        #expect(body?["merchant"] == "mer_1")
        #expect(body?["mode"] == "live")
        #expect(body?["request_id"]?.stringValue?.isEmpty == false)
        #expect(runs.total == 1)
    }

    /// The real surface: no bearer on an accounting route is the guard's 401, in the same documented body.
    @Test func anAccountingRouteWithoutABearerAnswersTheDocumented401() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let response = await fixture.client.send(.get, "/api/v1/invoices/")
        #expect(response.status == 401)
        #expect(response.bodyJSON == Self.notAuthenticated)
    }
}
