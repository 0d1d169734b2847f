import AccessContract
import AtlasTestSupport
@testable import Auth
import Crypto
import Foundation
import Kernel
import Postgres
import Testing

/// Memberships in several organizations (auth migration 22): `organizations[]` lists every membership, switch-org
/// issues tokens scoped to the chosen one with its role, removing a membership stops its tokens, and users from
/// before memberships keep working.
@Suite(.serialized) struct UsersMembershipTests {
    func switchOrg(_ fixture: UsersFixture, _ body: JSONValue, bearer: String) async -> Response {
        await fixture.client.send(.post, "/api/v1/auth/switch-org", headers: ["Authorization": "Bearer \(bearer)"], json: body)
    }

    /// A second organization with a merchant, the fixture's user added to it as an admin.
    func secondOrganization(_ fixture: UsersFixture) async throws -> (organization: String, merchant: String) {
        let organization = try await fixture.auth.createOrganization(name: "Second Books")
        let merchant = try await fixture.auth.createMerchant(organizationId: organization, name: "Second Shop")
        fixture.clock.advance(seconds: 1)  // memberships list oldest first
        let result = try await fixture.auth.addMember(organizationId: organization, userId: fixture.userId, role: .admin)
        #expect(result.added && result.userId == fixture.userId)
        return (organization, merchant)
    }

    @Test func switchOrgActsInTheChosenMembershipWithItsRole() async throws {
        let fixture = try await UsersFixture.make()
        let (second, secondMerchant) = try await secondOrganization(fixture)
        let login = await fixture.login()
        #expect(login.status == 200)
        let expected: JSONValue = [["id": .string(fixture.organizationId), "name": "Books Ltd", "role": "accountant"],
                                   ["id": .string(second), "name": "Second Books", "role": "admin"]]
        #expect(login.bodyJSON?["organizations"] == expected)
        // Login acts in the home organization.
        #expect(login.bodyJSON?["user"]?["organization_id"] == .string(fixture.organizationId))
        let access = try #require(login.bodyJSON?["tokens"]?["access_token"]?.stringValue)

        let switched = await switchOrg(fixture, ["organization_id": .string(second)], bearer: access)
        #expect(switched.status == 200, "\(switched.bodyText)")
        let body = try #require(switched.bodyJSON)
        #expect(body["user"]?["organization_id"] == .string(second) && body["user"]?["role"] == "admin")
        #expect(body["user"]?["merchant_id"] == .string(secondMerchant))
        #expect(body["organization"]?["id"] == .string(second) && body["organization"]?["role"] == "admin")
        #expect(body["organizations"] == expected)
        let secondAccess = try #require(body["tokens"]?["access_token"]?.stringValue)
        let secondRefresh = try #require(body["tokens"]?["refresh_token"]?.stringValue)

        // The new token acts in the second organization as an admin; the first still acts in the home one.
        let probe = await fixture.get("/api/v1/probe/invoices", bearer: secondAccess)
        #expect(probe.bodyJSON?["organizationId"] == .string(second) && probe.bodyJSON?["role"] == "admin")
        #expect(probe.bodyJSON?["merchantId"] == .string(secondMerchant))
        #expect(await fixture.get("/api/v1/probe/owners", bearer: secondAccess).status == 403)
        let home = await fixture.get("/api/v1/probe/invoices", bearer: access)
        #expect(home.bodyJSON?["organizationId"] == .string(fixture.organizationId) && home.bodyJSON?["role"] == "accountant")
        let me = await fixture.me(secondAccess)
        #expect(me.bodyJSON?["organization"]?["id"] == .string(second) && me.bodyJSON?["role"] == "admin")
        #expect(me.bodyJSON?["organizations"] == expected)
        #expect(await fixture.me(access).bodyJSON?["organization"]?["id"] == .string(fixture.organizationId))

        // A refresh stays in the family's organization; the JWT's `org` claim names it.
        let refreshed = await fixture.refresh(secondRefresh)
        let refreshedAccess = try #require(refreshed.bodyJSON?["access_token"]?.stringValue)
        #expect(await fixture.get("/api/v1/probe/invoices", bearer: refreshedAccess).bodyJSON?["organizationId"] == .string(second))
        #expect(CompactJWS.parse(refreshedAccess)?.claims["org"] == .string(second))

        // Switching back to the home organization works from the second organization's token.
        let back = await switchOrg(fixture, ["organization_id": .string(fixture.organizationId)], bearer: secondAccess)
        #expect(back.status == 200 && back.bodyJSON?["user"]?["role"] == "accountant")

        // A role change in one membership leaves the other alone and reaches issued tokens at once.
        _ = try await fixture.auth.addMember(organizationId: second, email: fixture.email.uppercased(), role: .owner)
        #expect(await fixture.get("/api/v1/probe/owners", bearer: secondAccess).status == 200)
        #expect(await fixture.get("/api/v1/probe/invoices", bearer: access).bodyJSON?["role"] == "accountant")
    }

    @Test func removedMembershipsAndForeignOrganizationsAreRefused() async throws {
        let fixture = try await UsersFixture.make()
        let (second, _) = try await secondOrganization(fixture)
        let (access, _) = try await fixture.tokens()
        let switched = await switchOrg(fixture, ["organization_id": .string(second)], bearer: access)
        let secondAccess = try #require(switched.bodyJSON?["tokens"]?["access_token"]?.stringValue)
        let secondRefresh = try #require(switched.bodyJSON?["tokens"]?["refresh_token"]?.stringValue)

        // An organization the user is not a member of is 404, whether it exists or not.
        let stranger = try await fixture.auth.createOrganization(name: "Stranger")
        #expect(await switchOrg(fixture, ["organization_id": .string(stranger)], bearer: access).bodyText
                == accountingError("Organization not found", status: 404))
        #expect(await switchOrg(fixture, ["organization_id": "org_nope"], bearer: secondAccess).bodyText
                == accountingError("Organization not found", status: 404))

        // A suspended organization's membership cannot be switched to.
        let suspendedOrganization = try await fixture.auth.createOrganization(name: "Suspended")
        _ = try await fixture.auth.createMerchant(organizationId: suspendedOrganization, name: "Suspended Shop")
        fixture.clock.advance(seconds: 1)
        _ = try await fixture.auth.addMember(organizationId: suspendedOrganization, userId: fixture.userId, role: .bookkeeper)
        try await fixture.database.execute("UPDATE auth_organizations SET status = 'suspended' WHERE id = \(suspendedOrganization)")
        #expect(await switchOrg(fixture, ["organization_id": .string(suspendedOrganization)], bearer: access).bodyText
                == accountingError("The organization or its merchant is suspended", status: 403))

        // Removing the membership stops the tokens acting in it (access and refresh) but not the home session.
        try await fixture.auth.removeMember(organizationId: second, userId: fixture.userId)
        #expect(await fixture.me(secondAccess).status == 401)
        #expect(await fixture.refresh(secondRefresh).status == 401)
        #expect(await fixture.me(access).status == 200)
        #expect(await switchOrg(fixture, ["organization_id": .string(second)], bearer: access).status == 404)
        let listed = await fixture.me(access).bodyJSON?["organizations"]
        #expect(listed == [["id": .string(fixture.organizationId), "name": "Books Ltd", "role": "accountant"],
                           ["id": .string(suspendedOrganization), "name": "Suspended", "role": "bookkeeper"]])
    }

    @Test func administrationRefusesBadInput() async throws {
        let fixture = try await UsersFixture.make()
        let other = try await fixture.auth.createOrganization(name: "Other")
        let otherMerchant = try await fixture.auth.createMerchant(organizationId: other, name: "Other Shop")
        let empty = try await fixture.auth.createOrganization(name: "No Merchant")
        func failure(_ body: () async throws -> Void) async -> String? {
            do { try await body() } catch let error as UserAdministrationError { return error.description } catch { return "\(error)" }
            return nil
        }
        #expect(await failure { _ = try await fixture.auth.addMember(organizationId: other, userId: "usr_nope", role: .admin) }
                == "user not found")
        #expect(await failure { _ = try await fixture.auth.addMember(organizationId: other, email: "nobody@example.com", role: .admin) }
                == "user not found")
        #expect(await failure { _ = try await fixture.auth.addMember(organizationId: other, role: .admin) }
                == "name the user by id or email")
        #expect(await failure { _ = try await fixture.auth.addMember(organizationId: "org_nope", userId: fixture.userId, role: .admin) }
                == "organization not found")
        #expect(await failure { _ = try await fixture.auth.addMember(organizationId: empty, userId: fixture.userId, role: .admin) }
                == "organization has no merchant; create one first")
        #expect(await failure {
            _ = try await fixture.auth.addMember(organizationId: other, userId: fixture.userId, role: .admin, merchantId: fixture.merchantId)
        } == "merchant does not belong to the organization")
        #expect(await failure { try await fixture.auth.removeMember(organizationId: fixture.organizationId, userId: fixture.userId) }
                == "the user's home organization cannot be removed; suspend the user instead")
        #expect(await failure { try await fixture.auth.removeMember(organizationId: other, userId: fixture.userId) }
                == "membership not found")
        #expect(await failure { try await fixture.auth.removeMember(organizationId: other, userId: "usr_nope") } == "user not found")
        // Nothing was written by the refusals; a valid add, then the same add again, is one membership.
        #expect(try await fixture.database.queryFirst(membershipCount(fixture.userId))?.decode("n", as: Int.self) == 1)
        #expect(try await fixture.auth.addMember(organizationId: other, userId: fixture.userId, role: .auditor,
                                                 merchantId: otherMerchant).added)
        #expect(try await fixture.auth.addMember(organizationId: other, userId: fixture.userId, role: .employee).added == false)
        #expect(try await fixture.database.queryFirst(membershipCount(fixture.userId))?.decode("n", as: Int.self) == 2)
    }

    func membershipCount(_ userId: String) -> SQL { "SELECT count(*)::int AS n FROM auth_memberships WHERE user_id = \(userId)" }

    /// Migration 22 moves every user into a membership of its organization and every token family into it, so users
    /// and sessions from before memberships keep working.
    @Test func usersAndSessionsFromBeforeMembershipsKeepWorking() async throws {
        let before = AuthSchema.migrations + OAuthService.migrations + UsersSchema.migrations
        let database = try await TestDatabase.fresh(migrations: before)
        let crypto = OpenSSLCryptoService()
        let hash = try crypto.hashPassword(UsersFixture.password)
        try await database.execute("INSERT INTO auth_organizations (id, name, kind) VALUES ('org_old', 'Old Books', 'merchant')")
        try await database.execute("INSERT INTO auth_merchants (id, organization_id, name) VALUES ('mer_old', 'org_old', 'Old Shop')")
        try await database.execute("""
            INSERT INTO auth_users (id, organization_id, merchant_id, mode, email, full_name, password_hash, role, created_at, updated_at)
            VALUES ('usr_old', 'org_old', 'mer_old', 'live', 'old@example.com', 'Old User', \(hash), 'bookkeeper', now(), now())
            """)
        try await database.execute("""
            INSERT INTO auth_user_token_families (id, merchant_id, mode, user_id, created_at)
            VALUES ('tfam_old', 'mer_old', 'live', 'usr_old', now())
            """)
        _ = try await MigrationRunner.run(migrations: before + MembershipsSchema.migrations, on: database)
        #expect(try await database.queryFirst("SELECT organization_id FROM auth_user_token_families WHERE id = 'tfam_old'")?
                    .decode("organization_id", as: String.self) == "org_old")
        let fixture = try await UsersFixture.make(database: database, organizationId: "org_old")
        let login = await fixture.login("old@example.com")
        #expect(login.status == 200, "\(login.bodyText)")
        #expect(login.bodyJSON?["organizations"] == [["id": "org_old", "name": "Old Books", "role": "bookkeeper"]])
        #expect(login.bodyJSON?["user"]?["role"] == "bookkeeper" && login.bodyJSON?["user"]?["merchant_id"] == "mer_old")
        // set-user-role still changes the home membership's role.
        try await fixture.auth.setUserRole(userId: "usr_old", role: .accountant)
        let access = try #require(login.bodyJSON?["tokens"]?["access_token"]?.stringValue)
        #expect(await fixture.get("/api/v1/probe/invoices", bearer: access).bodyJSON?["role"] == "accountant")
    }
}
