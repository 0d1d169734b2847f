import AtlasTestSupport
import Auth
import Crypto
import EventLog
import Foundation
import Kernel
import Postgres
import Rounding
import Synchronization
@testable import Transactions

/// Auth + Rounding + Transactions over a fresh database, wired as the app wires them, with a router
/// and test/live keys (one of them bound to a terminal, one read-only).
struct TransactionFixture {
    let database: PostgresDatabase
    let clock: ManualWallClock
    let auth: AuthModule
    let client: InProcessClient
    let merchantId: String
    let testKey: String
    let liveKey: String
    let readOnlyKey: String
    let terminalKey: String
    let terminalId = "TID-00012345"
    let rounding: any CashRounding

    static func make(slowDelayMilliseconds: Int = 400, liveAcquirer: (any CardAcquirer)? = nil) async throws -> TransactionFixture {
        let clock = ManualWallClock(Date())
        let database = try await TestDatabase.fresh(migrations: [])
        let logger = Logger(label: "test", minimumLevel: .error)
        let auth = AuthModule(database: database, crypto: OpenSSLCryptoService(), clock: clock, logger: logger)
        let transactions = TransactionsModule(liveAcquirer: liveAcquirer,
                                              simulator: SimulatedAcquirer(slowDelayMilliseconds: slowDelayMilliseconds))
        try await MigrationRunner.run(migrations: EventLogService.migrations + auth.migrations + transactions.migrations,
                                    on: database)
        let organization = try await auth.createOrganization(name: "Org")
        let merchantId = try await auth.createMerchant(organizationId: organization, name: "Shop")
        let testKey = try await auth.createSecretKey(merchantId: merchantId, mode: .test)
        let liveKey = try await auth.createSecretKey(merchantId: merchantId, mode: .live)
        let readOnly = try await auth.createSecretKey(merchantId: merchantId, mode: .test, scopes: ["transactions:read"])
        let terminal = try await auth.createSecretKey(merchantId: merchantId, mode: .test, terminalId: "TID-00012345")
        let rounding = RoundingModule().cashRounding
        let services = ModuleServices(database: database, clock: clock, crypto: OpenSSLCryptoService(),
                                      eventLog: EventLogAppendStore(), logger: logger, accessGuard: auth.accessGuard,
                                      idempotency: auth.idempotencyStore, cashRounding: rounding)
        let router = Router(groups: auth.routeGroups(services: services) + transactions.routeGroups(services: services))
        return TransactionFixture(database: database, clock: clock, auth: auth, client: InProcessClient(router),
                                  merchantId: merchantId, testKey: testKey.secret, liveKey: liveKey.secret,
                                  readOnlyKey: readOnly.secret, terminalKey: terminal.secret, rounding: rounding)
    }

    func newKey(mode: Mode = .test, terminalId: String? = nil) async throws -> String {
        try await auth.createSecretKey(merchantId: merchantId, mode: mode, terminalId: terminalId).secret
    }

    func post(_ path: String, _ body: JSONValue, key: String?, idempotencyKey: String? = nil) async -> Response {
        var headers = HTTPHeaders()
        if let key { headers.add("X-Api-Key", key) }
        if let idempotencyKey { headers.add("Idempotency-Key", idempotencyKey) }
        return await client.send(.post, path, headers: headers, json: body)
    }

    func sale(_ body: JSONValue, key: String? = nil, idempotencyKey: String? = nil) async -> Response {
        await post("/v1/transaction/sale", body, key: key ?? testKey, idempotencyKey: idempotencyKey)
    }

    func get(_ path: String, key: String? = nil) async -> Response {
        var headers = HTTPHeaders()
        headers.add("X-Api-Key", key ?? testKey)
        return await client.send(.get, path, headers: headers)
    }

    func count(_ sql: SQL) async throws -> Int64 {
        try await database.queryFirst(sql)?.decode("n") ?? -1
    }

    func transactionCount() async throws -> Int64 {
        try await count("SELECT count(*) AS n FROM transactions WHERE merchant_id = \(merchantId)")
    }

    func close() { database.close() }
}

extension Response {
    var json: JSONValue { bodyJSON ?? .null }
    func string(_ key: String) -> String? { json[key]?.stringValue }
    func int(_ key: String) -> Int64? { json[key]?.intValue }
    var errorCode: String? { string("error") }
}

/// Thread-safe collector for concurrent test results.
final class Collected<T: Sendable>: Sendable {
    private let items = Mutex<[T]>([])
    func add(_ item: T) { items.withLock { $0.append(item) } }
    var all: [T] { items.withLock { $0 } }
}
