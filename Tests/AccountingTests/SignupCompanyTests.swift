@testable import Accounting
import AtlasTestSupport
import Foundation
import Kernel
import Postgres
import Testing

/// Auth's signup and `/auth/me` with the real `CompanyDirectory` (Accounting's, through the contract): the default
/// company is a real company of the new organization, linked to its merchant, and `/auth/me` lists the caller's.
@Suite(.serialized) struct SignupCompanyTests {
    @Test func signupCreatesARealDefaultCompanyAndMeListsIt() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let signup = await fixture.client.send(.post, "/api/v1/auth/signup", json: [
            "email": "founder@example.com", "password": "correct horse battery", "organization_name": "Kiwi Books",
            "base_currency": "NZD"])
        #expect(signup.status == 201, "\(signup.bodyText)")
        let access = try #require(signup.json["tokens"]?["access_token"]?.stringValue)
        let companyId = try #require(signup.json["companies"]?.firstLine?["id"]?.stringValue)
        let listed = await fixture.send(.get, "/api/v1/companies/", token: access)
        #expect(listed.json["total"]?.intValue == 1)
        let company = try #require(listed.json["items"]?.firstLine)
        #expect(company["id"]?.stringValue == companyId)
        #expect(company["base_currency"] == "NZD" && company["name"] == "Kiwi Books" && company["accounting_method"] == "accrual")
        #expect(company["merchant_id"] == signup.json["user"]?["merchant_id"])
        #expect(company["fiscal_year_start_date"]?.stringValue?.hasSuffix("-01-01") == true)
        // Another organization's owner does not see it.
        #expect(await fixture.send(.get, "/api/v1/companies/\(companyId)").status == 404)

        // The fixture's owner: its company is listed and current.
        let own = try await fixture.company()
        let me = await fixture.send(.get, "/api/v1/auth/me")
        #expect(me.status == 200)
        #expect(me.json["companies"]?.firstLine?["id"]?.stringValue == own)
        #expect(me.json["companies"]?.firstLine?["is_current"] == true)
        #expect(me.json["organization"]?["id"] == me.json["organization_id"])
    }
}
