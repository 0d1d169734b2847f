import AccessContract
import AtlasTestSupport
import Auth
import Bootstrap
import Foundation
import Kernel
import Postgres
import Rounding
import Transactions
@testable import Reconciliation

/// Terminal-api A.3's default fixtures: tenant T (slug "koperasi-a", live mode) with a station S, a terminal R,
/// a gate G and a scout C logged in, member 1001 active, and card X (`a1b2c3d4e5f6`) ACTIVE with balance
/// 350000 and counter 17. A second tenant B with its own station, and card `b0b0b0b0b0b0`.
struct StoredValueFixture {
    static let cardX = "a1b2c3d4e5f6"
    static let cardB = "b0b0b0b0b0b0"
    static let member: UInt32 = 1001
    /// Card X's last chain entry: its time (Unix seconds) and hash.
    static let chainStart: Int64 = 1_764_547_200 // 2025-12-01 00:00 UTC, a Monday
    static let chainHash: [UInt8] = [1, 2, 3, 4, 5, 6]

    let application: AtlasApplication
    /// Moves one second per request, so a device stays inside its rate limit (60/min, burst 10).
    let clock: ManualWallClock
    let client: InProcessClient
    let merchantId: String
    let otherMerchantId: String
    /// Access tokens by role ("station", "terminal", "gate", "scout"), and tenant B's station ("stationB").
    let tokens: [String: String]
    let terminalIds: [String: Int]

    var database: PostgresDatabase { application.database }
    var tenant: TenantContext { TenantContext(merchantId: merchantId, mode: .live) }
    var admin: CardAdministration { CardAdministration(services: application.services) }
    var crypto: any CryptoService { application.services.crypto }

    static func make() async throws -> StoredValueFixture {
        let clock = ManualWallClock(Date())
        let application = AtlasBootstrap.assemble(
            modules: [AuthModule(), TransactionsModule(), ReconciliationModule(), RoundingModule()],
            database: try await TestDatabase.fresh(migrations: [], connectionsMax: 16), clock: clock, logger: TestLogger.quiet)
        try await application.migrate()
        let client = InProcessClient(application.router())
        let auth = application.auth
        let organization = try await auth.createOrganization(name: "Koperasi")
        let merchantId = try await auth.createMerchant(organizationId: organization, name: "Koperasi A", slug: "koperasi-a")
        let otherMerchantId = try await auth.createMerchant(organizationId: organization, name: "Koperasi B", slug: "koperasi-b")
        var tokens: [String: String] = [:]
        var terminalIds: [String: Int] = [:]
        for (merchant, slug, roles, suffix) in [(merchantId, "koperasi-a", DeviceRole.allCases, ""),
                                                (otherMerchantId, "koperasi-b", [DeviceRole.station], "B")] {
            _ = try await auth.createOperator(merchantId: merchant, username: "kasir", password: "correct horse battery",
                                              displayName: "Kasir", roles: ["operator"])
            for role in roles {
                let device = try await auth.createDevice(merchantId: merchant, role: role)
                let response = await client.send(.post, "/api/auth/token", json: [
                    "tenantSlug": .string(slug), "deviceId": .string(device.deviceId), "deviceSecret": .string(device.deviceSecret),
                    "username": "kasir", "password": "correct horse battery", "role": .string(role.rawValue)])
                guard let token = response.bodyJSON?["accessToken"]?.stringValue else {
                    throw HarnessError("login failed: \(response.status) \(response.bodyText)")
                }
                tokens[role.rawValue + suffix] = token
                terminalIds[role.rawValue + suffix] = device.terminalNumber
            }
        }
        let fixture = StoredValueFixture(application: application, clock: clock, client: client, merchantId: merchantId,
                                         otherMerchantId: otherMerchantId, tokens: tokens, terminalIds: terminalIds)
        try await fixture.admin.setMember(fixture.tenant, userId: member, status: .active)
        try await fixture.admin.setMember(TenantContext(merchantId: otherMerchantId, mode: .live), userId: member, status: .active)
        try await fixture.registerCard(cardX)
        try await fixture.setCard(cardX, balance: 350_000, counter: 17)
        let registerB = await fixture.post("/api/cards", token: "stationB", cardBody(cardB))
        guard registerB.status == 201 else { throw HarnessError("tenant B card: \(registerB.status) \(registerB.bodyText)") }
        return fixture
    }

    static func cardBody(_ cardId: String, userId: UInt32 = member) -> JSONValue {
        ["cardId": .string(cardId), "userId": .int(Int64(userId)), "name": "Ibu Sari", "createdAt": .int(chainStart - 86_400),
         "keyVersion": 1]
    }

    func registerCard(_ cardId: String) async throws {
        let response = await post("/api/cards", token: "station", Self.cardBody(cardId))
        guard response.status == 201 else { throw HarnessError("register: \(response.status) \(response.bodyText)") }
    }

    /// Puts a card in a known reconciled state (as if earlier batches had brought it there).
    func setCard(_ cardId: String, balance: Int64, counter: Int64, status: String = "ACTIVE") async throws {
        try await database.execute("""
            UPDATE reconciliation_cards SET balance = \(balance), card_balance = \(balance), counter = \(counter),
                chain_hash = \(Self.chainHash), chain_timestamp = \(Self.chainStart), status = \(status)
            WHERE merchant_id = \(merchantId) AND card_id = \(cardId)
            """)
    }

    func post(_ path: String, token role: String?, _ body: JSONValue) async -> Response {
        var headers = HTTPHeaders()
        if let role { headers.add("Authorization", "Bearer " + (tokens[role] ?? role)) }
        clock.advance(seconds: 1)
        return await client.send(.post, path, headers: headers, json: body)
    }

    func get(_ path: String, token role: String) async -> Response {
        var headers = HTTPHeaders()
        headers.add("Authorization", "Bearer " + (tokens[role] ?? role))
        clock.advance(seconds: 1)
        return await client.send(.get, path, headers: headers)
    }

    func card(_ cardId: String = cardX) async -> JSONValue {
        await get("/api/cards/\(cardId)", token: "station").json
    }

    /// Offline events continuing a card's chain from (`balance`, `counter`, `chainHash`, `chainStart`):
    /// `steps` are (type, amount), one minute apart.
    func chain(_ cardId: String = cardX, from balance: Int64, counter: Int64, hash: [UInt8] = chainHash,
               at start: Int64 = chainStart, _ steps: [(OfflineEventType, Int64)]) -> [JSONValue] {
        var (balance, previous, time) = (balance, hash, start)
        var events: [JSONValue] = []
        for (index, (type, amount)) in steps.enumerated() {
            let timestamp = time + 60
            balance += type == .debit ? -amount : (type == .credit ? amount : 0)
            let hash = EventChain.hash(deltaTime: EventChain.deltaTime(from: time, to: timestamp), amount: UInt32(amount),
                                       balanceAfter: UInt32(balance), flags: type.flagCode, previous: previous, crypto: crypto)
            events.append(["cardId": .string(cardId), "counter": .int(counter + 1 + Int64(index)), "type": .string(type.rawValue),
                           "amount": .int(amount), "balanceAfter": .int(balance), "timestamp": .int(timestamp),
                           "hash": .string(Encoding.hex(hash))])
            (previous, time) = (hash, timestamp)
        }
        return events
    }

    func reconcile(_ events: [JSONValue], as role: String = "terminal") async -> Response {
        await post("/api/reconcile", token: role, ["terminalId": .int(Int64(terminalIds[role] ?? 0)), "events": .array(events)])
    }

    func count(_ table: StaticString, card cardId: String = cardX) async throws -> Int64 {
        let sql: SQL = switch table.description {
        case "events": "SELECT count(*) AS n FROM reconciliation_card_events WHERE card_id = \(cardId)"
        case "reports": "SELECT count(*) AS n FROM reconciliation_terminal_reports WHERE card_id = \(cardId)"
        case "batches": "SELECT count(*) AS n FROM reconciliation_batches"
        default: "SELECT count(*) AS n FROM event_log WHERE resource_id = \(cardId)"
        }
        return try await database.queryFirst(sql)?.decode("n") ?? -1
    }

    func close() { application.close() }
}

extension Response {
    /// The `reason` of every entry of a reconcile answer's `flags`, in order.
    var reasons: [String] {
        guard case .array(let flags)? = bodyJSON?["flags"] else { return [] }
        return flags.compactMap { $0["reason"]?.stringValue }
    }

    /// The exact `/api` error body: `{"error": code, "message": …}`, nothing else.
    func isTerminalError(_ status: Int, _ code: String) -> Bool {
        guard self.status == status, case .object(let body)? = bodyJSON else { return false }
        return Set(body.keys) == ["error", "message"] && body["error"] == .string(code)
    }
}
