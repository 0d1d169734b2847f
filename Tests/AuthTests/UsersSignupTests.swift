import AccessContract
import AtlasTestSupport
@testable import Auth
import Foundation
import Kernel
import Postgres
import Synchronization
import Testing

/// Accounting's `CompanyDirectory` for Auth-only databases: companies in memory, per organization. `failing` makes
/// `createDefaultCompany` throw (after the organization and user rows were written in the same transaction).
final class StubCompanyDirectory: CompanyDirectory {
    struct Failure: Error {}
    private let companiesByOrganization = Mutex<[String: [CompanySummary]]>([:])
    let failing: Bool

    init(failing: Bool = false) { self.failing = failing }

    func companies(organizationId: String, limit: Int) async throws -> [CompanySummary] {
        Array(companiesByOrganization.withLock { $0[organizationId] ?? [] }.prefix(limit))
    }

    func createDefaultCompany(organizationId: String, merchantId: String, name: String, baseCurrency: String,
                              in executor: any SQLExecutor) async throws -> CompanySummary {
        if failing { throw Failure() }
        let company = CompanySummary(id: UUID().uuidString.lowercased(), name: name, baseCurrency: baseCurrency, merchantId: merchantId)
        companiesByOrganization.withLock { $0[organizationId, default: []].append(company) }
        return company
    }

    func add(_ company: CompanySummary, organizationId: String) {
        companiesByOrganization.withLock { $0[organizationId, default: []].append(company) }
    }
}

/// `POST /api/v1/auth/signup`, `POST /api/v1/auth/switch-org` and the `organization{}` / `companies[]` of `/auth/me`.
@Suite(.serialized) struct UsersSignupTests {
    static let body: JSONValue = ["email": "New.Owner@Example.com", "password": "correct horse battery",
                                  "organization_name": "  Acme Books  ", "full_name": "Nina Owner"]

    func signup(_ fixture: UsersFixture, _ body: JSONValue) async -> Response {
        await fixture.client.send(.post, "/api/v1/auth/signup", json: body)
    }

    func count(_ fixture: UsersFixture, _ sql: SQL) async throws -> Int {
        try await fixture.database.queryFirst(sql)?.decode("n") ?? -1
    }

    @Test func signupCreatesTheOrganizationOwnerTrialAndDefaultCompany() async throws {
        let companies = StubCompanyDirectory()
        let fixture = try await UsersFixture.make(companies: companies)
        let response = await signup(fixture, Self.body)
        #expect(response.status == 201, "\(response.bodyText)")
        #expect(response.headers["Cache-Control"] == "no-store")
        let body = try #require(response.bodyJSON)
        let access = try #require(body["tokens"]?["access_token"]?.stringValue)
        #expect(body["tokens"]?["token_type"] == "bearer")
        #expect(body["user"]?["email"] == "new.owner@example.com")
        #expect(body["user"]?["role"] == "owner")
        #expect(body["user"]?["full_name"] == "Nina Owner")
        let organizationId = try #require(body["user"]?["organization_id"]?.stringValue)
        #expect(organizationId != fixture.organizationId)
        #expect(body["organizations"] == [["id": .string(organizationId), "name": "Acme Books", "role": "owner"]])
        let trialEnds = fixture.clock.now().addingTimeInterval(SignupStore.trialSeconds)
        #expect(body["organization"] == ["id": .string(organizationId), "name": "Acme Books", "role": "owner", "tier": "standard",
                                         "trial_ends_at": .string(Timestamp.iso8601(trialEnds))])
        let merchantId = try #require(body["user"]?["merchant_id"]?.stringValue)
        let company = try #require(try await companies.companies(organizationId: organizationId, limit: 10).first)
        #expect(company.merchantId == merchantId && company.baseCurrency == "USD" && company.name == "Acme Books")
        #expect(body["companies"] == [["id": .string(company.id), "name": "Acme Books", "base_currency": "USD",
                                       "merchant_id": .string(merchantId), "is_current": true]])
        // The owner is signed in, and can sign in again with the new credentials.
        let me = await fixture.me(access)
        #expect(me.status == 200)
        #expect(me.bodyJSON?["organization"] == body["organization"])
        #expect(me.bodyJSON?["companies"] == body["companies"])
        #expect(await fixture.login("new.owner@example.com").status == 200)
        #expect(try await count(fixture, "SELECT count(*) AS n FROM auth_merchants WHERE organization_id = \(organizationId)") == 1)
    }

    /// Every bad input: the documented 422 body naming the field, and nothing created.
    @Test func signupRefusesEveryBadInputWithItsDocumentedBody() async throws {
        let fixture = try await UsersFixture.make()
        func with(_ field: String, _ value: JSONValue?) -> JSONValue {
            guard case .object(var object) = Self.body else { return Self.body }
            object[field] = value
            return .object(object)
        }
        let cases: [(JSONValue, String, String?)] = [
            (with("email", nil), "email is required", "email"),
            (with("email", ""), "email must not be empty", "email"),
            (with("email", "not-an-address"), "email must be a valid address", "email"),
            (with("email", 5), "email must be a string", "email"),
            (with("password", nil), "password is required", "password"),
            (with("password", "short"), "password must be at least 8 characters", "password"),
            (with("password", .string(String(repeating: "p", count: 1_025))), "password must be at most 1024 bytes", "password"),
            (with("organization_name", nil), "organization_name is required", "organization_name"),
            (with("organization_name", "   "), "organization_name must not be empty", "organization_name"),
            (with("organization_name", .string(String(repeating: "o", count: 201))),
             "organization_name must be at most 200 characters", "organization_name"),
            (with("full_name", .string(String(repeating: "n", count: 201))), "full_name must be at most 200 characters", "full_name"),
            (with("base_currency", "US"), "base_currency must be an ISO 4217 currency code", "base_currency"),
        ]
        for (body, detail, field) in cases {
            let response = await signup(fixture, body)
            #expect(response.status == 422, "\(body)")
            #expect(response.bodyText == accountingError(detail, status: 422, field: field), "\(body)")
        }
        let notJSON = await fixture.client.send(.post, "/api/v1/auth/signup", headers: ["Content-Type": "application/json"],
                                                body: Array("{nope".utf8))
        #expect(notJSON.bodyText == accountingError("Request body is not valid JSON", status: 422))
        // An email already registered, in any case: 409, nothing created.
        let taken = await signup(fixture, with("email", .string(fixture.email.uppercased())))
        #expect(taken.status == 409)
        #expect(taken.bodyText == accountingError("A user with that email already exists", status: 409))
        #expect(try await count(fixture, "SELECT count(*) AS n FROM auth_organizations") == 1)
        #expect(try await count(fixture, "SELECT count(*) AS n FROM auth_users") == 1)
        #expect(try await count(fixture, "SELECT count(*) AS n FROM auth_merchants") == 1)
    }

    /// The company is written in the signup's transaction: when it cannot be, no organization, merchant or user remains.
    @Test func signupIsAllOrNothing() async throws {
        let fixture = try await UsersFixture.make(companies: StubCompanyDirectory(failing: true))
        let response = await signup(fixture, Self.body)
        #expect(response.status == 500)
        #expect(response.bodyJSON?["status_code"] == 500)
        #expect(!response.bodyText.contains("correct horse"))
        #expect(try await count(fixture, "SELECT count(*) AS n FROM auth_organizations") == 1)
        #expect(try await count(fixture, "SELECT count(*) AS n FROM auth_users") == 1)
        #expect(try await count(fixture, "SELECT count(*) AS n FROM auth_org_settings") == 0)
        #expect(await fixture.login("new.owner@example.com").status == 401)
    }

    /// 10 signups an hour per address, refused ones included; the 11th gets 429 with Retry-After and creates nothing.
    @Test func signupsAreRateLimitedPerAddress() async throws {
        let fixture = try await UsersFixture.make()
        guard case .object(var taken) = Self.body else { return }
        taken["email"] = .string(fixture.email)
        for _ in 0..<10 { #expect(await signup(fixture, .object(taken)).status == 409) }
        let limited = await signup(fixture, Self.body)
        #expect(limited.status == 429)
        #expect(limited.headers["Retry-After"] != nil)
        #expect(limited.bodyJSON?["status_code"] == 429)
        #expect(try await count(fixture, "SELECT count(*) AS n FROM auth_organizations") == 1)
        fixture.clock.advance(seconds: 3600)
        #expect(await signup(fixture, Self.body).status == 201)
    }

    @Test func meShowsTheOrganizationAndItsCompanies() async throws {
        let companies = StubCompanyDirectory()
        let fixture = try await UsersFixture.make(companies: companies)
        let (access, _) = try await fixture.tokens()
        let empty = await fixture.me(access)
        #expect(empty.bodyJSON?["companies"] == [])
        #expect(empty.bodyJSON?["organization"] == ["id": .string(fixture.organizationId), "name": "Books Ltd", "role": "accountant",
                                                    "tier": "standard", "trial_ends_at": .null])
        companies.add(CompanySummary(id: "c-old", name: "Holding", baseCurrency: "EUR", merchantId: nil), organizationId: fixture.organizationId)
        companies.add(CompanySummary(id: "c-shop", name: "Shop", baseCurrency: "USD", merchantId: fixture.merchantId),
                      organizationId: fixture.organizationId)
        let listed = await fixture.me(access)
        #expect(listed.bodyJSON?["companies"] == [
            ["id": "c-old", "name": "Holding", "base_currency": "EUR", "merchant_id": .null, "is_current": false],
            ["id": "c-shop", "name": "Shop", "base_currency": "USD", "merchant_id": .string(fixture.merchantId), "is_current": true],
        ])
    }

    @Test func switchOrgIssuesTokensForTheCallersOwnOrganizationOnly() async throws {
        let fixture = try await UsersFixture.make()
        let (access, _) = try await fixture.tokens()
        func switchOrg(_ body: JSONValue, bearer: String? = nil) async -> Response {
            var headers = HTTPHeaders()
            headers.add("Authorization", "Bearer \(bearer ?? access)")
            return await fixture.client.send(.post, "/api/v1/auth/switch-org", headers: headers, json: body)
        }
        let switched = await switchOrg(["organization_id": .string(fixture.organizationId)])
        #expect(switched.status == 200, "\(switched.bodyText)")
        let newAccess = try #require(switched.bodyJSON?["tokens"]?["access_token"]?.stringValue)
        #expect(newAccess != access)
        #expect(switched.bodyJSON?["organization"]?["id"] == .string(fixture.organizationId))
        #expect(await fixture.me(newAccess).status == 200)
        #expect(await fixture.me(access).status == 200)

        let other = try await fixture.auth.createOrganization(name: "Someone Else")
        let foreign = await switchOrg(["organization_id": .string(other)])
        #expect(foreign.bodyText == accountingError("Organization not found", status: 404))
        let unknown = await switchOrg(["organization_id": "org_nope"])
        #expect(unknown.bodyText == accountingError("Organization not found", status: 404))
        #expect(await switchOrg([:]).bodyText == accountingError("organization_id is required", status: 422, field: "organization_id"))
        #expect(await switchOrg(["organization_id": ""]).bodyText
                == accountingError("organization_id must not be empty", status: 422, field: "organization_id"))
        #expect(await switchOrg(["organization_id": 7]).bodyText
                == accountingError("organization_id must be a string", status: 422, field: "organization_id"))
        let anonymous = await fixture.client.send(.post, "/api/v1/auth/switch-org", json: ["organization_id": .string(fixture.organizationId)])
        #expect(anonymous.status == 401)
        // Refusals issued nothing: the login and the one switch made two token families.
        #expect(try await count(fixture, "SELECT count(*) AS n FROM auth_user_token_families") == 2)
    }
}
