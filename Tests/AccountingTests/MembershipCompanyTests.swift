import AtlasTestSupport
import Auth
import Foundation
import Kernel
import Testing

/// A user in two organizations (auth memberships): a token acts in exactly one of them, so after a switch each token
/// reaches its own organization's companies and the other organization's are 404 (B.2 rule 28).
@Suite(.serialized) struct MembershipCompanyTests {
    @Test func aTokenNeverReachesTheOtherOrganizationsCompaniesAfterASwitch() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let harness = fixture.harness
        let email = "two.orgs.\(Int.random(in: 1000...9999))@example.com"
        let userId = try await harness.auth.createUser(organizationId: harness.organizationId, email: email,
                                                       password: AppHarness.password, role: .owner, merchantId: harness.merchantId)
        let second = try await harness.auth.createOrganization(name: "Second org")
        _ = try await harness.auth.createMerchant(organizationId: second, name: "Second shop")
        try await harness.auth.setOrganizationSettings(organizationId: second, tier: .enterprise)
        _ = try await harness.auth.addMember(organizationId: second, userId: userId, role: .admin)

        let login = await fixture.client.send(.post, "/api/v1/auth/login",
                                              json: ["email": .string(email), "password": .string(AppHarness.password)])
        let first = try #require(login.bodyJSON?["tokens"]?["access_token"]?.stringValue, "\(login.bodyText)")
        let firstCompany = try await fixture.company(name: "First books", token: first)
        let switched = await fixture.send(.post, "/api/v1/auth/switch-org", ["organization_id": .string(second)], token: first)
        #expect(switched.status == 200, "\(switched.bodyText)")
        let secondToken = try #require(switched.json["tokens"]?["access_token"]?.stringValue)
        #expect(switched.json["user"]?["role"] == "admin")
        let secondCompany = try await fixture.company(name: "Second books", token: secondToken)

        for (token, own, foreign) in [(first, firstCompany, secondCompany), (secondToken, secondCompany, firstCompany)] {
            #expect(await fixture.send(.get, "/api/v1/companies/\(own)", token: token).status == 200)
            let hidden = await fixture.send(.get, "/api/v1/companies/\(foreign)", token: token)
            #expect(hidden.status == 404 && hidden.json["status_code"] == 404, "\(hidden.bodyText)")
            #expect(await fixture.send(.get, "/api/v1/accounts/?company_id=\(foreign)", token: token).status == 404)
            #expect(await fixture.send(.get, "/api/v1/reports/trial-balance?company_id=\(foreign)", token: token).status == 404)
            let created = await fixture.send(.post, "/api/v1/customers/", ["company_id": .string(foreign), "display_name": "Sneaky"],
                                             token: token)
            #expect(created.status == 404, "\(created.bodyText)")
            let listed = await fixture.send(.get, "/api/v1/companies/", token: token)
            guard case .array(let items)? = listed.json["items"] else { Issue.record("no companies: \(listed.bodyText)"); continue }
            #expect(items.compactMap { $0["id"]?.stringValue } == [own])
        }
        // /auth/me lists the token's organization's companies, and both memberships.
        let me = await fixture.send(.get, "/api/v1/auth/me", token: secondToken)
        guard case .array(let companies)? = me.json["companies"], case .array(let organizations)? = me.json["organizations"] else {
            Issue.record("me: \(me.bodyText)")
            return
        }
        #expect(companies.compactMap { $0["id"]?.stringValue } == [secondCompany])
        #expect(organizations.count == 2)
        // The first organization's admin role is not the second's: the first token stays the owner there.
        #expect(await fixture.send(.get, "/api/v1/auth/me", token: first).json["role"] == "owner")
    }
}
