public import Auth
public import Bootstrap
import Crypto
public import Foundation
public import Kernel
public import Postgres

/// The whole Atlas router as the app assembles it (`AtlasBootstrap` with every product module), over a
/// fresh database with every module's migrations and a manual clock. `SystemRoutes` live in the app
/// target and are left out. For cross-module tests (robustness fuzzing, end-to-end flows) that need
/// every surface at once.
public struct AppHarness: Sendable {
    public let application: AtlasApplication
    public let clock: ManualWallClock
    public let router: Router
    public let client: InProcessClient
    public let organizationId: String
    /// A merchant with a tenant slug (`AppHarness.tenantSlug`), so devices can log in.
    public let merchantId: String

    public var database: PostgresDatabase { application.database }
    public var auth: AuthService { application.auth }
    public var modules: [any FeatureModule] { application.modules }

    public static let tenantSlug = "fuzz-shop"
    public static let password = "correct horse battery"
    public static let terminalId = "TID-00012345"

    /// Builds the router over a new database. `start` is the manual clock's first instant.
    public static func make(start: Date = Date(), connectionsMax: Int = 16) async throws -> AppHarness {
        let clock = ManualWallClock(start)
        let application = AtlasBootstrap.assemble(
            modules: AtlasModules.all(), database: try await TestDatabase.fresh(migrations: [], connectionsMax: connectionsMax),
            clock: clock, logger: TestLogger.quiet)
        try await application.migrate()
        let router = application.router()
        let auth = application.auth
        let organizationId = try await auth.createOrganization(name: "Harness org")
        let merchantId = try await auth.createMerchant(organizationId: organizationId, name: "Harness shop",
                                                       slug: tenantSlug)
        return AppHarness(application: application, clock: clock, router: router, client: InProcessClient(router),
                          organizationId: organizationId, merchantId: merchantId)
    }

    // MARK: Credentials, one per surface

    /// An `sk_test_` key with every Commerce scope (commerce `/v1` and payments `/functions/v1`).
    public func secretKey(mode: Mode = .test) async throws -> String {
        try await auth.createSecretKey(merchantId: merchantId, mode: mode).secret
    }

    /// A `centsless_` role key (merchant, auditor, admin or partner) for `/api/v1` cash rounding.
    public func roleKey(_ role: String, mode: Mode = .test) async throws -> String {
        try await auth.createRoleKey(merchantId: merchantId, mode: mode, role: role).secret
    }

    /// A new accounting user (owner unless told) logged in through `POST /api/v1/auth/login`:
    /// returns its access and refresh tokens.
    public func userTokens(role: UserRole = .owner) async throws -> (access: String, refresh: String) {
        let email = "\(role.rawValue).\(Encoding.hex(OpenSSLCryptoService().randomBytes(count: 6)))@example.com"
        _ = try await auth.createUser(organizationId: organizationId, email: email, password: Self.password, role: role,
                                      merchantId: merchantId)
        let response = await client.send(.post, "/api/v1/auth/login",
                                         json: ["email": .string(email), "password": .string(Self.password)])
        guard response.status == 200, let tokens = response.bodyJSON?["tokens"],
              let access = tokens["access_token"]?.stringValue, let refresh = tokens["refresh_token"]?.stringValue else {
            throw HarnessError("login failed: \(response.status) \(response.bodyText)")
        }
        return (access, refresh)
    }

    /// A new device of `role` and operator account logged in through `POST /api/auth/token`:
    /// returns the access token, the refresh token and the session id.
    public func deviceTokens(role: DeviceRole = .station) async throws
        -> (access: String, refresh: String, sessionId: String) {
        let device = try await auth.createDevice(merchantId: merchantId, role: role)
        let username = "op" + Encoding.hex(OpenSSLCryptoService().randomBytes(count: 4))
        _ = try await auth.createOperator(merchantId: merchantId, username: username, password: Self.password,
                                          roles: ["operator", "cashier"])
        let body: JSONValue = [
            "tenantSlug": .string(Self.tenantSlug), "deviceId": .string(device.deviceId),
            "deviceSecret": .string(device.deviceSecret), "username": .string(username),
            "password": .string(Self.password), "role": .string(role.rawValue),
        ]
        let response = await client.send(.post, "/api/auth/token", json: body)
        guard response.status == 200, let json = response.bodyJSON, let access = json["accessToken"]?.stringValue else {
            throw HarnessError("device login failed: \(response.status) \(response.bodyText)")
        }
        return (access, json["refreshToken"]?.stringValue ?? "", json["sessionId"]?.stringValue ?? "")
    }

    /// An OAuth client and terminal (test mode), and a JWT from `POST /v1/token` with every Commerce scope.
    public func oauthToken() async throws -> String {
        let existing = try await database.queryFirst(
            "SELECT 1 AS one FROM auth_terminals WHERE id = \(Self.terminalId) AND merchant_id = \(merchantId)")
        if existing == nil { try await auth.createTerminal(merchantId: merchantId, mode: .test, terminalId: Self.terminalId) }
        let created = try await auth.createOAuthClient(merchantId: merchantId, mode: .test)
        let response = await client.send(.post, "/v1/token", json: [
            "grant_type": "client_credentials", "client_id": .string(created.id), "client_secret": .string(created.secret),
            "terminal_id": .string(Self.terminalId),
        ])
        guard response.status == 200, let token = response.bodyJSON?["access_token"]?.stringValue else {
            throw HarnessError("token request failed: \(response.status) \(response.bodyText)")
        }
        return token
    }

    public func close() { database.close() }
}

public struct HarnessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
