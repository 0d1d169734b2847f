import AcquirerContract
import AtlasTestSupport
import Auth
import Bootstrap
import CashRoundingContract
import Foundation
import IdempotencyContract
import Kernel
import Postgres
import Rounding
import Synchronization
@testable import Transactions

/// Auth + Transactions + Rounding over a fresh database, assembled by the bootstrap as the app wires them
/// (with a manual clock and the test's acquirers), with a router and test/live keys (one of them bound to
/// a terminal, one read-only).
struct TransactionFixture {
    let database: PostgresDatabase
    let clock: ManualWallClock
    let auth: AuthService
    let client: InProcessClient
    let merchantId: String
    let testKey: String
    let liveKey: String
    let readOnlyKey: String
    let terminalKey: String
    let terminalId = "TID-00012345"
    let rounding: any CashRounding
    /// Writes deferred Idempotency-Keys in a caller's statement (the idempotency module's key writer).
    let idempotencyKeys: any IdempotencyKeyWriter
    /// What the bootstrap handed the modules (for engine parts a test drives directly, like the expiry sweep).
    let services: ModuleServices
    /// The module as assembled (its background parts, e.g. the terminal presence lease, for tests to drive).
    let transactions: TransactionsModule

    static func make(slowDelayMilliseconds: Int = 400, liveAcquirer: (any CardAcquirer)? = nil,
                     settings: TransactionsSettings = TransactionsSettings()) async throws -> TransactionFixture {
        let clock = ManualWallClock(Date())
        let transactions = TransactionsModule(settings: settings, liveAcquirer: liveAcquirer,
                                              simulator: SimulatedAcquirer(slowDelayMilliseconds: slowDelayMilliseconds))
        let application = AtlasBootstrap.assemble(modules: [AuthModule(), transactions, RoundingModule()],
                                                  database: try await TestDatabase.fresh(migrations: []), clock: clock,
                                                  logger: TestLogger.quiet)
        try await application.migrate()
        let auth = application.auth
        let organization = try await auth.createOrganization(name: "Org")
        let merchantId = try await auth.createMerchant(organizationId: organization, name: "Shop")
        let testKey = try await auth.createSecretKey(merchantId: merchantId, mode: .test)
        let liveKey = try await auth.createSecretKey(merchantId: merchantId, mode: .live)
        let readOnly = try await auth.createSecretKey(merchantId: merchantId, mode: .test, scopes: ["transactions:read"])
        let terminal = try await auth.createSecretKey(merchantId: merchantId, mode: .test, terminalId: "TID-00012345")
        guard let rounding = application.services.cashRounding else { throw HarnessError("Rounding provides no cash rounding") }
        return TransactionFixture(database: application.database, clock: clock, auth: auth,
                                  client: InProcessClient(application.router()), merchantId: merchantId,
                                  testKey: testKey.secret, liveKey: liveKey.secret, readOnlyKey: readOnly.secret,
                                  terminalKey: terminal.secret, rounding: rounding,
                                  idempotencyKeys: application.services.idempotencyKeys, services: application.services,
                                  transactions: transactions)
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

    /// A second instance of the module on the same database, clock and pool (another `atlas serve`, as far as the
    /// registry and the event log can tell): its own module value, channels and event-log writer.
    func secondInstance(settings: TransactionsSettings = TransactionsSettings()) -> (module: TransactionsModule, services: ModuleServices) {
        let module = TransactionsModule(settings: settings)
        let application = AtlasBootstrap.assemble(modules: [AuthModule(), module, RoundingModule()], database: database,
                                                  clock: clock, logger: TestLogger.quiet)
        return (module, application.services)
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
