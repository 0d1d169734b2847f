import Crypto
import Foundation
import Kernel
import Postgres
import Testing
import AtlasTestSupport
@testable import Auth

@Suite(.serialized) struct UsersAccessTests {
    /// The principal a user token yields: kind user, live tenant of the org's merchant, role and permissions.
    @Test func userPrincipalCarriesTenantRoleAndPermissions() async throws {
        let fixture = try await UsersFixture.make()
        let (access, _) = try await fixture.tokens()
        let echo = await fixture.get("/api/v1/probe/invoices", bearer: access)
        #expect(echo.status == 200)
        let body = try #require(echo.bodyJSON)
        #expect(body["kind"] == "user")
        #expect(body["id"] == .string(fixture.userId))
        #expect(body["merchantId"] == .string(fixture.merchantId))
        #expect(body["mode"] == "live")
        #expect(body["organizationId"] == .string(fixture.organizationId))
        #expect(body["role"] == "accountant")
        let scopes = Set(body["scopes"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        #expect(scopes == UserRole.accountant.permissions.union(["tier:standard"]))
        #expect(body["fingerprint"]?.stringValue?.count == 12)
    }

    /// Role requirements: 403 with the accounting body for roles below the bar.
    @Test func rolesAreEnforced() async throws {
        let fixture = try await UsersFixture.make()
        let (accountant, _) = try await fixture.tokens()
        let employee = try await fixture.user(role: .employee)
        let auditor = try await fixture.user(role: .auditor)
        let owner = try await fixture.user(role: .owner)
        let (employeeToken, _) = try await fixture.tokens(employee.email)
        let (auditorToken, _) = try await fixture.tokens(auditor.email)
        let (ownerToken, _) = try await fixture.tokens(owner.email)
        let forbidden = accountingError("Insufficient permissions for this endpoint", status: 403)

        #expect(await fixture.get("/api/v1/probe/bookkeeping", bearer: accountant).status == 200)
        #expect(await fixture.get("/api/v1/probe/bookkeeping", bearer: ownerToken).status == 200)
        #expect(await fixture.get("/api/v1/probe/bookkeeping", bearer: employeeToken).bodyText == forbidden)
        #expect(await fixture.get("/api/v1/probe/bookkeeping", bearer: auditorToken).bodyText == forbidden)
        #expect(await fixture.get("/api/v1/probe/owners", bearer: accountant).status == 403)
        #expect(await fixture.get("/api/v1/probe/owners", bearer: ownerToken).status == 200)
        #expect(await fixture.get("/api/v1/probe/close", bearer: accountant).status == 200)
        #expect(await fixture.get("/api/v1/probe/close", bearer: auditorToken).status == 403)
        #expect(await fixture.get("/api/v1/probe/invoices", bearer: auditorToken).status == 200)

        // A role change applies at once to tokens already issued.
        try await fixture.auth.setUserRole(userId: employee.id, role: .bookkeeper)
        #expect(await fixture.get("/api/v1/probe/bookkeeping", bearer: employeeToken).status == 200)
    }

    @Test func roleLadderAndPermissionMatrix() {
        #expect(UserRole.atLeast(.bookkeeper) == ["owner", "admin", "accountant", "bookkeeper"])
        #expect(UserRole.atLeast(.accountant) == ["owner", "admin", "accountant"])
        #expect(UserRole.atLeast(.admin) == ["owner", "admin"])
        #expect(UserRole.atLeast(.employee) == ["owner", "admin", "accountant", "bookkeeper", "employee"])
        #expect(UserRole.atLeast(.auditor) == ["auditor"])
        #expect(UserRole.auditor.permissions == ["accounting:read", "reports:read", "audit:read"])
        #expect(UserRole.employee.permissions == ["accounting:read"])
        #expect(!UserRole.auditor.permissions.contains { $0.hasSuffix(":write") || $0.hasSuffix(":manage") })
        #expect(UserRole.bookkeeper.permissions.contains(UserPermission.invoicesWrite))
        #expect(!UserRole.bookkeeper.permissions.contains(UserPermission.periodsClose))
        #expect(UserRole.accountant.permissions.contains(UserPermission.periodsClose))
        #expect(!UserRole.accountant.permissions.contains(UserPermission.companiesManage))
        #expect(UserRole.admin.permissions.contains(UserPermission.companiesManage))
        #expect(UserRole.owner.permissions.isSuperset(of: UserRole.admin.permissions.union([UserPermission.organizationManage])))
    }

    /// B31: Standard is 60/min with a burst of 10; every response carries X-RateLimit-*; past the
    /// burst, requests in the same minute get 429 with Retry-After.
    @Test func standardTierRateLimit() async throws {
        let fixture = try await UsersFixture.make()
        let (access, _) = try await fixture.tokens()
        var statuses: [Int] = []
        var remaining: [Int] = []
        for _ in 0..<61 {
            let response = await fixture.get("/api/v1/probe/invoices", bearer: access)
            statuses.append(response.status)
            #expect(response.headers["X-RateLimit-Limit"] == "60")
            #expect(Int64(response.headers["X-RateLimit-Reset"] ?? "") ?? 0 >= fixture.clock.unixSeconds())
            remaining.append(Int(response.headers["X-RateLimit-Remaining"] ?? "") ?? -1)
            if response.status == 429 {
                #expect(response.headers["Retry-After"] != nil)
                #expect(response.bodyJSON?["status_code"] == 429)
            }
        }
        #expect(statuses.prefix(10).allSatisfy { $0 == 200 })
        #expect(statuses.dropFirst(10).allSatisfy { $0 == 429 })
        #expect(Array(remaining.prefix(10)) == Array((0...9).reversed()))
        // One request per second is the sustained rate.
        fixture.clock.advance(seconds: 1)
        #expect(await fixture.get("/api/v1/probe/invoices", bearer: access).status == 200)
        #expect(await fixture.get("/api/v1/probe/invoices", bearer: access).status == 429)
        // Spread over a minute: at most 60 + burst pass.
        fixture.clock.advance(seconds: 60)
        var passed = 0
        for _ in 0..<120 {
            if await fixture.get("/api/v1/probe/invoices", bearer: access).status == 200 { passed += 1 }
            fixture.clock.advance(seconds: 0.5)
        }
        #expect(passed <= 70 && passed >= 60)
    }

    /// The tier comes from the organization's settings.
    @Test func organizationTierSetsTheLimit() async throws {
        let fixture = try await UsersFixture.make()
        let (access, _) = try await fixture.tokens()
        #expect(await fixture.get("/api/v1/probe/invoices", bearer: access).headers["X-RateLimit-Limit"] == "60")
        try await fixture.auth.setOrganizationSettings(organizationId: fixture.organizationId, tier: .professional)
        let professional = await fixture.get("/api/v1/probe/invoices", bearer: access)
        #expect(professional.headers["X-RateLimit-Limit"] == "300")
        try await fixture.auth.setOrganizationSettings(organizationId: fixture.organizationId, tier: .enterprise)
        #expect(await fixture.get("/api/v1/probe/invoices", bearer: access).headers["X-RateLimit-Limit"] == "1000")
        #expect(await fixture.me(access).bodyJSON?["tier"] == "enterprise")
    }

    /// New users act for the organization's default merchant when one is configured.
    @Test func defaultMerchantDecidesTheTenant() async throws {
        let fixture = try await UsersFixture.make()
        let second = try await fixture.auth.createMerchant(organizationId: fixture.organizationId, name: "Second Shop")
        try await fixture.auth.setOrganizationSettings(organizationId: fixture.organizationId, defaultMerchantId: second)
        let user = try await fixture.user(role: .bookkeeper)
        let (access, _) = try await fixture.tokens(user.email)
        #expect(await fixture.get("/api/v1/probe/invoices", bearer: access).bodyJSON?["merchantId"] == .string(second))
        let foreign = try await fixture.auth.createOrganization(name: "Other")
        let foreignMerchant = try await fixture.auth.createMerchant(organizationId: foreign, name: "Other Shop")
        await #expect(throws: UserAdministrationError.self) {
            try await fixture.auth.setOrganizationSettings(organizationId: fixture.organizationId,
                                                           defaultMerchantId: foreignMerchant)
        }
    }
}
