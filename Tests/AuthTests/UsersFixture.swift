import AccessContract
import AtlasTestSupport
@testable import Auth
import Bootstrap
import Crypto
import Foundation
import Kernel
import Postgres

/// An Auth module with the Users tables, an organization with one merchant, an accountant user,
/// and a router with `/api/v1/auth` plus accounting probe routes that echo the principal.
struct UsersFixture {
    static let password = "correct horse battery"

    let database: PostgresDatabase
    let clock: ManualWallClock
    let auth: AuthService
    let client: InProcessClient
    let organizationId: String
    let merchantId: String
    let userId: String
    let email: String

    /// `companies` stands in for Accounting's `CompanyDirectory` (these databases have only Auth's tables).
    static func make(database existing: PostgresDatabase? = nil, organizationId existingOrganization: String? = nil,
                     crypto: any CryptoService = OpenSSLCryptoService(),
                     companies: any CompanyDirectory = StubCompanyDirectory()) async throws -> UsersFixture {
        let clock = ManualWallClock(Date())
        let database: PostgresDatabase
        if let existing { database = existing } else {
            database = try await TestDatabase.fresh(migrations: AuthSchema.migrations + OAuthService.migrations + UsersService.migrations)
        }
        let application = AuthFixture.assemble(database: database, clock: clock, crypto: crypto) { contracts in
            contracts.override(companies, as: (any CompanyDirectory).self)
        }
        let auth = application.auth
        let router = application.router(adding: [probeGroup(auth)])
        let client = InProcessClient(router)
        if let existingOrganization {
            let row = try await database.queryFirst("SELECT id, email FROM auth_users WHERE organization_id = \(existingOrganization) ORDER BY created_at LIMIT 1")
            let merchant = try await auth.users.store.defaultMerchant(organizationId: existingOrganization)
            return UsersFixture(database: database, clock: clock, auth: auth, client: client,
                                organizationId: existingOrganization, merchantId: merchant ?? "",
                                userId: try row?.decode("id") ?? "", email: try row?.decode("email") ?? "")
        }
        let organization = try await auth.createOrganization(name: "Books Ltd")
        let merchantId = try await auth.createMerchant(organizationId: organization, name: "Books Shop")
        let email = "alice.\(Encoding.hex(OpenSSLCryptoService().randomBytes(count: 4)))@example.com"
        let userId = try await auth.createUser(organizationId: organization, email: email, password: password,
                                               role: .accountant, fullName: "Alice Accountant")
        return UsersFixture(database: database, clock: clock, auth: auth, client: client, organizationId: organization,
                            merchantId: merchantId, userId: userId, email: email)
    }

    /// `/api/v1/probe/*` on the accounting surface: any signed-in user, bookkeeper or above, owner only.
    static func probeGroup(_ auth: AuthService) -> RouteGroup {
        var group = RouteGroup(prefix: "/api/v1/probe", errorRenderer: SurfaceErrors.renderer(for: .accounting))
        let echo: Handler = { _, context in
            let principal = context.principal!
            return .json([
                "id": .string(principal.id), "kind": .string(principal.kind.rawValue),
                "merchantId": .string(principal.tenant.merchantId), "mode": .string(principal.tenant.mode.rawValue),
                "organizationId": principal.organizationId.map { .string($0) } ?? .null,
                "role": principal.role.map { .string($0) } ?? .null,
                "scopes": .array(principal.scopes.sorted().map { .string($0) }),
                "fingerprint": .string(principal.credentialFingerprint),
            ])
        }
        group.get("/invoices", middleware: [auth.accessGuard.require(.init(surface: .accounting))], echo)
        group.get("/bookkeeping", middleware: [auth.accessGuard.require(.init(surface: .accounting,
                                                                             roles: UserRole.atLeast(.bookkeeper)))], echo)
        group.get("/owners", middleware: [auth.accessGuard.require(.init(surface: .accounting, roles: ["owner"]))], echo)
        group.get("/close", middleware: [auth.accessGuard.require(.init(surface: .accounting,
                                                                       scopes: [UserPermission.periodsClose]))], echo)
        return group
    }

    func login(_ email: String? = nil, password: String = UsersFixture.password) async -> Response {
        await client.send(.post, "/api/v1/auth/login", json: ["email": .string(email ?? self.email), "password": .string(password)])
    }

    /// Logs in and returns (access, refresh).
    func tokens(_ email: String? = nil) async throws -> (access: String, refresh: String) {
        let response = await login(email)
        guard response.status == 200, let tokens = response.bodyJSON?["tokens"],
              let access = tokens["access_token"]?.stringValue, let refresh = tokens["refresh_token"]?.stringValue else {
            throw FixtureError("login failed: \(response.status) \(response.bodyText)")
        }
        return (access, refresh)
    }

    func refresh(_ token: String) async -> Response {
        await client.send(.post, "/api/v1/auth/refresh", json: ["refresh_token": .string(token)])
    }

    func get(_ path: String, bearer: String?) async -> Response {
        var headers = HTTPHeaders()
        if let bearer { headers.add("Authorization", "Bearer \(bearer)") }
        return await client.send(.get, path, headers: headers)
    }

    func me(_ bearer: String?) async -> Response { await get("/api/v1/auth/me", bearer: bearer) }

    func logout(_ bearer: String) async -> Response {
        await client.send(.post, "/api/v1/auth/logout", headers: ["Authorization": "Bearer \(bearer)"])
    }

    /// Creates another user in this fixture's organization.
    func user(role: UserRole) async throws -> (id: String, email: String) {
        let email = "\(role.rawValue).\(Encoding.hex(OpenSSLCryptoService().randomBytes(count: 4)))@example.com"
        let id = try await auth.createUser(organizationId: organizationId, email: email, password: Self.password, role: role)
        return (id, email)
    }

    struct FixtureError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

/// The accounting error body, as exact JSON with sorted keys.
func accountingError(_ detail: String, status: Int, field: String? = nil) -> String {
    let errors: JSONValue = field.map { [["field": .string($0), "message": .string(detail)]] } ?? []
    let body: JSONValue = ["detail": .string(detail), "status_code": .int(Int64(status)), "errors": errors]
    return String(decoding: body.serialized(), as: UTF8.self)
}
