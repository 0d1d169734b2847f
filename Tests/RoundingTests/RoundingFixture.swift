import Crypto
import EventLog
import Foundation
import Kernel
import Postgres
import AtlasTestSupport
import Auth
import Rounding

/// Auth + Rounding over a fresh PostgreSQL database, behind one in-process router (Auth's real access
/// guard and idempotency store, Rounding's routes). Tests create their own merchants so they can share
/// one fixture and still have independent chains.
struct RoundingFixture: Sendable {
    let database: PostgresDatabase
    let clock: ManualWallClock
    let auth: AuthModule
    let client: InProcessClient
    let organizationId: String

    /// 2026-04-14 12:00:00 UTC: the docs' example day, six hours from any shift change.
    static let noon = Date(timeIntervalSince1970: 1_776_124_800 + 12 * 3600)

    /// One fixture for the suites that do not move the clock.
    static let shared = Task { try await RoundingFixture.make() }

    static func make(start: Date = noon, connectionsMax: Int = 8) async throws -> RoundingFixture {
        let database = try await TestDatabase.fresh(migrations: [], connectionsMax: connectionsMax)
        let clock = ManualWallClock(start)
        let logger = Logger(label: "test", minimumLevel: .error)
        let crypto = OpenSSLCryptoService()
        let auth = AuthModule(database: database, crypto: crypto, clock: clock, logger: logger)
        let rounding = RoundingModule()
        try await MigrationRunner.run(migrations: auth.migrations + rounding.migrations, on: database)
        let services = ModuleServices(database: database, clock: clock, crypto: crypto, eventLog: EventLogAppendStore(),
                                      logger: logger, accessGuard: auth.accessGuard, idempotency: auth.idempotencyStore,
                                      tenants: auth.tenantDirectory)
        let router = Router(groups: auth.routeGroups(services: services) + rounding.routeGroups(services: services))
        let organization = try await auth.createOrganization(name: "Centsless test org")
        return RoundingFixture(database: database, clock: clock, auth: auth, client: InProcessClient(router),
                               organizationId: organization)
    }

    /// A merchant with one key per role (merchant, auditor, admin, partner).
    struct Merchant: Sendable {
        let id: String
        let keys: [String: String]
        let keyIds: [String: String]
        var merchant: String { keys["merchant"]! }
        var auditor: String { keys["auditor"]! }
        var admin: String { keys["admin"]! }
        var partner: String { keys["partner"]! }
    }

    /// A merchant (in the fixture's organization unless `organizationId` names another) with its role keys.
    func newMerchant(mode: Mode = .test, name: String = "Shop", organizationId: String? = nil) async throws -> Merchant {
        let id = try await auth.createMerchant(organizationId: organizationId ?? self.organizationId, name: name)
        var keys: [String: String] = [:]
        var ids: [String: String] = [:]
        for role in ["merchant", "auditor", "admin", "partner"] {
            let key = try await auth.createRoleKey(merchantId: id, mode: mode, role: role)
            keys[role] = key.secret
            ids[role] = key.id
        }
        return Merchant(id: id, keys: keys, keyIds: ids)
    }

    func post(_ path: String, key: String?, _ json: JSONValue, headers extra: HTTPHeaders = HTTPHeaders()) async -> Response {
        var headers = extra
        if let key { headers.add("x-api-key", key) }
        return await client.send(.post, "/api/v1" + path, headers: headers, json: json)
    }

    func get(_ path: String, key: String?) async -> Response {
        var headers = HTTPHeaders()
        if let key { headers.add("x-api-key", key) }
        return await client.send(.get, "/api/v1" + path, headers: headers)
    }

    /// The quickstart sale (A3) with changes.
    static func sale(_ merchantId: String, _ changes: [String: JSONValue] = [:], removing: [String] = []) -> JSONValue {
        var body: [String: JSONValue] = ["merchant_id": .string(merchantId), "subtotal_cents": 523, "tax_total_cents": 200,
                                         "payment_method": "cash", "zip_code": "85001"]
        for (key, value) in changes { body[key] = value }
        for key in removing { body.removeValue(forKey: key) }
        return .object(body)
    }

    /// Posts a sale and returns its `transaction` object (fails loudly when the sale is refused).
    func sell(_ merchant: Merchant, _ changes: [String: JSONValue] = [:]) async throws -> JSONValue {
        let response = await post("/transaction", key: merchant.merchant, RoundingFixture.sale(merchant.id, changes))
        guard response.status == 200, let transaction = response.bodyJSON?["transaction"] else {
            throw FixtureError(message: "sale failed: \(response.status) \(response.bodyText)")
        }
        return transaction
    }

    struct FixtureError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}

extension Response {
    /// `{"error","message"}` exactly, as the rounding surface documents.
    func isError(_ status: Int, _ code: String, _ message: String? = nil) -> Bool {
        guard self.status == status, case .object(let object)? = bodyJSON, object.count == 2,
              object["error"]?.stringValue == code, object["message"]?.stringValue != nil else { return false }
        if let message { return object["message"]?.stringValue == message }
        return true
    }
}
