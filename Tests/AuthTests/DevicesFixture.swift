import AccessContract
import AtlasTestSupport
@testable import Auth
import Bootstrap
import Crypto
import Foundation
import Kernel
import Postgres

/// Tenant T (slug "koperasi-a") with a station S, a terminal R, a gate G and a scout C, one
/// operator account, Auth's `/api` routes and a probe group showing the AccessRequirement convention.
struct DevicesFixture {
    static let slug = "koperasi-a"
    static let username = "kasir"
    static let password = "correct horse battery"

    struct Device {
        let id: String
        let secret: String
        let terminalNumber: Int
        let role: String
    }

    let database: PostgresDatabase
    let clock: ManualWallClock
    let auth: AuthService
    let client: InProcessClient
    let merchantId: String
    let accountId: String
    let station: Device
    let terminal: Device
    let gate: Device
    let scout: Device

    static func make() async throws -> DevicesFixture {
        let clock = ManualWallClock()
        let database = try await TestDatabase.fresh(migrations: AuthSchema.migrations + DevicesService.migrations)
        let application = AuthFixture.assemble(database: database, clock: clock)
        let auth = application.auth
        let organization = try await auth.createOrganization(name: "Koperasi")
        let merchantId = try await auth.createMerchant(organizationId: organization, name: "Koperasi A", slug: slug)
        func enroll(_ role: DeviceRole) async throws -> Device {
            let created = try await auth.createDevice(merchantId: merchantId, role: role)
            return Device(id: created.deviceId, secret: created.deviceSecret, terminalNumber: created.terminalNumber,
                          role: role.rawValue)
        }
        let station = try await enroll(.station)
        let terminal = try await enroll(.terminal)
        let gate = try await enroll(.gate)
        let scout = try await enroll(.scout)
        let account = try await auth.createOperator(merchantId: merchantId, username: username, password: password,
                                                    displayName: "Ibu Sari", roles: ["operator", "cashier"])
        let router = application.router(adding: [probeGroup(auth)])
        return DevicesFixture(database: database, clock: clock, auth: auth, client: InProcessClient(router),
                              merchantId: merchantId, accountId: account.accountId, station: station, terminal: terminal,
                              gate: gate, scout: scout)
    }

    /// `/api/probe/…`: how a later cards module declares roles and scopes, and what Principal it sees.
    static func probeGroup(_ auth: AuthService) -> RouteGroup {
        var group = RouteGroup(prefix: "/api/probe", errorRenderer: SurfaceErrors.renderer(for: .terminal))
        let echo: Handler = { _, context in
            let principal = context.principal!
            return .json(["kind": .string(principal.kind.rawValue), "id": .string(principal.id),
                          "role": .string(principal.role ?? ""), "terminalId": .string(principal.terminalId ?? ""),
                          "merchantId": .string(principal.tenant.merchantId), "mode": .string(principal.tenant.mode.rawValue),
                          "scopes": .array(principal.scopes.sorted().map { .string($0) })])
        }
        group.get("/cards", middleware: [auth.accessGuard.require(.init(surface: .terminal))], echo)
        group.post("/cards", middleware: [auth.accessGuard.require(.init(surface: .terminal, roles: ["station"]))], echo)
        group.post("/topup", middleware: [auth.accessGuard.require(.init(surface: .terminal, scopes: ["topup"]))], echo)
        return group
    }

    func tokenBody(_ device: Device, secret: String? = nil, username: String = DevicesFixture.username,
                   password: String = DevicesFixture.password, role: String? = nil, slug: String = DevicesFixture.slug,
                   otpCode: String? = nil, publicKey: String? = nil) -> JSONValue {
        var body: [String: JSONValue] = [
            "tenantSlug": .string(slug), "deviceId": .string(device.id), "deviceSecret": .string(secret ?? device.secret),
            "username": .string(username), "password": .string(password), "role": .string(role ?? device.role),
        ]
        if let otpCode { body["otpCode"] = .string(otpCode) }
        if let publicKey { body["publicKey"] = .string(publicKey) }
        return .object(body)
    }

    func token(_ body: JSONValue) async -> Response {
        await client.send(.post, "/api/auth/token", json: body)
    }

    /// Logs the device in and returns the whole 200 body (fails the caller's expectations otherwise).
    func login(_ device: Device) async throws -> JSONValue {
        let response = await token(tokenBody(device))
        guard response.status == 200, let body = response.bodyJSON else {
            throw TestFailure("login failed: \(response.status) \(response.bodyText)")
        }
        return body
    }

    func accessToken(_ device: Device) async throws -> String {
        guard let token = try await login(device)["accessToken"]?.stringValue else { throw TestFailure("no accessToken") }
        return token
    }

    func get(_ path: String, token: String?) async -> Response {
        var headers = HTTPHeaders()
        if let token { headers.add("Authorization", "Bearer " + token) }
        return await client.send(.get, path, headers: headers)
    }

    func post(_ path: String, token: String?, json: JSONValue = [:]) async -> Response {
        var headers = HTTPHeaders()
        if let token { headers.add("Authorization", "Bearer " + token) }
        return await client.send(.post, path, headers: headers, json: json)
    }

    func close() { database.close() }
}

/// The exact `/api` error body: status, and `{"error": code, "message": …}` with nothing else.
func isTerminalError(_ response: Response, _ status: Int, _ code: String) -> Bool {
    guard response.status == status, case .object(let body)? = response.bodyJSON else { return false }
    return Set(body.keys) == ["error", "message"] && body["error"] == .string(code)
        && !(body["message"]?.stringValue ?? "").isEmpty
}
