import AcquirerContract
import AtlasTestSupport
import Auth
import Bootstrap
@testable import EventLog
import Foundation
import Kernel
import Postgres
import Rounding
import Synchronization
import Transactions
@testable import Reconciliation

/// Auth + Transactions + Rounding + Reconciliation over a fresh database, assembled as the app wires
/// them, with the wired event consumers fed by a `ConsumerDriver`, a manual clock and test/live keys.
struct ReconciliationFixture {
    let application: AtlasApplication
    let clock: ManualWallClock
    let client: InProcessClient
    let merchantId: String
    let testKey: String
    let liveKey: String
    let driver: ConsumerDriver
    private let consumers: Task<Void, Never>

    var database: PostgresDatabase { application.database }
    var auth: AuthService { application.auth }

    /// `settlementAcquirer` replaces the simulator's settlement half (a scripted acquirer for a test).
    static func make(slowDelayMilliseconds: Int = 400,
                     directory: (any AcquirerDirectory)? = nil) async throws -> ReconciliationFixture {
        let clock = ManualWallClock(Date())
        let transactions = TransactionsModule(simulator: SimulatedAcquirer(slowDelayMilliseconds: slowDelayMilliseconds))
        let application = AtlasBootstrap.assemble(
            modules: [AuthModule(), transactions, ReconciliationModule(), RoundingModule()],
            database: try await TestDatabase.fresh(migrations: [], connectionsMax: 16), clock: clock,
            logger: TestLogger.quiet,
            overrides: { contracts in
                if let directory { contracts.override(directory, as: (any AcquirerDirectory).self) }
            })
        try await application.migrate()
        let auth = application.auth
        let organization = try await auth.createOrganization(name: "Org")
        let merchantId = try await auth.createMerchant(organizationId: organization, name: "Shop")
        let testKey = try await auth.createSecretKey(merchantId: merchantId, mode: .test)
        let liveKey = try await auth.createSecretKey(merchantId: merchantId, mode: .live)
        let driver = ConsumerDriver(database: application.database, consumers: application.eventLog.consumers)
        let consumers = Task { await driver.run() }
        return ReconciliationFixture(application: application, clock: clock, client: InProcessClient(application.router()),
                                     merchantId: merchantId, testKey: testKey.secret, liveKey: liveKey.secret,
                                     driver: driver, consumers: consumers)
    }

    func key(scopes: Set<String>, mode: Mode = .test, merchantId: String? = nil) async throws -> String {
        try await auth.createSecretKey(merchantId: merchantId ?? self.merchantId, mode: mode, scopes: scopes).secret
    }

    /// Another merchant's full test key (cross-tenant checks).
    func otherMerchantKey() async throws -> String {
        let organization = try await auth.createOrganization(name: "Other org")
        let other = try await auth.createMerchant(organizationId: organization, name: "Other shop")
        return try await auth.createSecretKey(merchantId: other, mode: .test).secret
    }

    func post(_ path: String, _ body: JSONValue, key: String? = nil, idempotencyKey: String? = nil) async -> Response {
        var headers = HTTPHeaders()
        headers.add("X-Api-Key", key ?? testKey)
        if let idempotencyKey { headers.add("Idempotency-Key", idempotencyKey) }
        return await client.send(.post, path, headers: headers, json: body)
    }

    func get(_ path: String, key: String? = nil) async -> Response {
        var headers = HTTPHeaders()
        headers.add("X-Api-Key", key ?? testKey)
        return await client.send(.get, path, headers: headers)
    }

    /// An approved sale (or other type) through the real Transactions route; returns its id.
    @discardableResult
    func sale(_ amount: Int64, type: String = "SALE", currency: String = "NZD", original: String? = nil,
              key: String? = nil) async throws -> String {
        var body: JSONValue = ["type": .string(type), "amount": .int(amount), "currency": .string(currency)]
        if case .object(var fields) = body, let original {
            fields["originalTransactionId"] = .string(original)
            body = .object(fields)
        }
        let response = await post("/v1/transaction/sale", body, key: key)
        guard response.status == 200, let id = response.json["transactionId"]?.stringValue,
              response.json["status"]?.stringValue == "APPROVED" else {
            throw HarnessError("sale failed: \(response.status) \(response.bodyText)")
        }
        return id
    }

    func closeDay(currency: String? = nil, key: String? = nil) async -> Response {
        var body: [String: JSONValue] = ["closeDay": true]
        if let currency { body["currency"] = .string(currency) }
        return await post("/v1/reconciliation", .object(body), key: key)
    }

    /// Waits until the totals consumer has applied every approved transaction of the merchant (and
    /// Transactions' settlement consumer every settled one). 30 s: the whole target on 2 shared cores missed 15 s.
    func settle(timeoutSeconds: Double = 30) async throws {
        let deadline = ContinuousClock.now + .seconds(timeoutSeconds)
        while ContinuousClock.now < deadline {
            if let failure = driver.failure { throw HarnessError("an event consumer failed: \(failure)") }
            let row = try await database.queryFirst("""
                SELECT (SELECT count(*) FROM transactions WHERE merchant_id = \(merchantId) AND status IN ('APPROVED', 'VOIDED')
                        AND type IN ('SALE', 'PRE_AUTH', 'PRE_AUTH_COMPLETE', 'REFUND', 'VOID')) AS approved,
                       (SELECT count(*) FROM reconciliation_items WHERE merchant_id = \(merchantId)) AS items,
                       (SELECT count(*) FROM reconciliation_items WHERE merchant_id = \(merchantId)
                        AND settlement_id IS NOT NULL AND type <> 'PRE_AUTH') AS claimed,
                       (SELECT count(*) FROM transactions WHERE merchant_id = \(merchantId) AND settlement_id IS NOT NULL) AS settled
                """)
            if let row, try row.decode("approved", as: Int64.self) == row.decode("items", as: Int64.self),
               try row.decode("claimed", as: Int64.self) == row.decode("settled", as: Int64.self) {
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError("the event consumers did not catch up within \(timeoutSeconds) s")
    }

    /// Waits until every close of the merchant has appended the `transaction.settled` events it owes: a close
    /// appends them after it has answered (`SettledEventsAppender`).
    func settledEventsAppended(timeoutSeconds: Double = 30) async throws {
        let deadline = ContinuousClock.now + .seconds(timeoutSeconds)
        while ContinuousClock.now < deadline {
            let owed = try await database.queryFirst("""
                SELECT count(*) AS n FROM reconciliation_settled_events_owed WHERE merchant_id = \(merchantId)
                """)
            if try owed?.decode("n", as: Int64.self) == 0 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError("the closes' transaction.settled events were not appended within \(timeoutSeconds) s")
    }

    func mismatches() async throws -> [TotalsStore.Mismatch] {
        try await TotalsStore(database: database).mismatches()
    }

    /// Stops the consumer driver, then closes the pool once it has stopped.
    func close() {
        let consumers = consumers
        let database = database
        driver.stop()
        Task {
            await consumers.value
            database.close()
        }
    }
}

extension Response {
    var json: JSONValue { bodyJSON ?? .null }
    func int(_ key: String) -> Int64? { json[key]?.intValue }
    func string(_ key: String) -> String? { json[key]?.stringValue }
    var errorCode: String? { string("error") }
}

/// A settlement acquirer whose answers a test scripts: held until released (for "a close is running"),
/// or thrown.
final class ScriptedSettlement: AcquirerDirectory, SettlementAcquirer {
    private let simulator = SimulatedAcquirer(slowDelayMilliseconds: 0)
    private let gate = Mutex<(held: Bool, waiters: [CheckedContinuation<Void, Never>], calls: Int, failNext: Bool)>(
        (false, [], 0, false))

    struct Unreachable: Error {}

    func hold() { gate.withLock { $0.held = true } }

    /// The next submission throws (the acquirer unreachable), as a crash between claim and answer would leave it.
    func failNext() { gate.withLock { $0.failNext = true } }

    func release() {
        let waiters = gate.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.held = false
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    var calls: Int { gate.withLock { $0.calls } }

    func cardAcquirer(for mode: Mode) -> (any CardAcquirer)? { simulator }
    func settlementAcquirer(for mode: Mode) -> (any SettlementAcquirer)? { self }
    func settlementFiles(for mode: Mode) -> (any SettlementFileSource)? { simulator }

    func settle(_ submission: SettlementSubmission) async throws -> SettlementOutcome {
        await withCheckedContinuation { continuation in
            let resumeNow = gate.withLock { state -> Bool in
                state.calls += 1
                if state.held { state.waiters.append(continuation) }
                return !state.held
            }
            if resumeNow { continuation.resume() }
        }
        let fail = gate.withLock { state -> Bool in
            defer { state.failNext = false }
            return state.failNext
        }
        if fail { throw Unreachable() }
        return try await simulator.settle(submission)
    }
}

extension JSONValue {
    /// The element at `index` of an array (nil otherwise), for reading list responses.
    func item(_ index: Int) -> JSONValue? {
        guard case .array(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }
}

/// Feeds the wired consumers every event of the log in delivery order (the event log's own reader, below
/// the running-transaction horizon), polling every `pollMilliseconds`, until `stop()`. WHY not the event
/// log's service: it stops only by cancellation, mid-query, while the pool closes; the driver stops between
/// pages, and checks that every page is in order (it caught pages sorted by the xid's text).
final class ConsumerDriver: Sendable {
    static let pollMilliseconds = 10

    let reader: EventReadStore
    let consumers: [EventConsumer]
    private let state = Mutex<(cursors: [String: EventPosition], stopped: Bool, failure: String?)>(([:], false, nil))

    init(database: any Database, consumers: [EventConsumer]) {
        reader = EventReadStore(database: database)
        self.consumers = consumers
    }

    var failure: String? { state.withLock { $0.failure } }

    func stop() { state.withLock { $0.stopped = true } }

    func run() async {
        while !state.withLock({ $0.stopped }) {
            do {
                try await drainOnce()
                try await Task.sleep(for: .milliseconds(Self.pollMilliseconds))
            } catch {
                state.withLock { $0.failure = String(describing: error) }
                return
            }
        }
    }

    /// One page per consumer.
    func drainOnce() async throws {
        for consumer in consumers {
            let cursor = state.withLock { $0.cursors[consumer.name] } ?? .start
            let page = try await reader.events(after: cursor, limit: consumer.batchEventsMax)
            guard let last = page.last else { continue }
            guard zip(page, page.dropFirst()).allSatisfy({ $0.position < $1.position }), cursor < page[0].position else {
                throw HarnessError("\(consumer.name): a page out of order after \(cursor): \(page.map(\.position))")
            }
            let wanted = page.filter { consumer.wants($0.event) }
            if !wanted.isEmpty { try await consumer.handle(wanted) }
            state.withLock { $0.cursors[consumer.name] = last.position }
        }
    }
}
