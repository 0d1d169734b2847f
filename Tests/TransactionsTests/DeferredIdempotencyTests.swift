import AcquirerContract
import CashRoundingContract
import EventLog
import Foundation
import IdempotencyContract
import Kernel
import Postgres
import Testing
@testable import Transactions

/// The sale route's deferred Idempotency-Key: the key is written, completed, in the sale's own
/// transaction (one commit per sale). A deferred row has `locked_until = created_at`; a key claimed
/// first (the classic path) is locked for 60 s from its claim, which tells the two paths apart.
@Suite struct DeferredIdempotencyTests {
    static let deferredRowSQL: SQL = "SELECT count(*) AS n FROM idempotency_keys WHERE state = 'completed' AND locked_until = created_at"
    static let claimedRowSQL: SQL = "SELECT count(*) AS n FROM idempotency_keys WHERE state = 'completed' AND locked_until > created_at"

    @Test func aTestModeSaleWritesItsKeyWithItsRowsAndReplays() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let body: JSONValue = ["type": "SALE", "amount": 2500, "currency": "NZD"]
        let first = await fixture.sale(body, idempotencyKey: "deferred-1")
        #expect(first.status == 200)
        #expect(first.headers["Idempotent-Replayed"] == nil)
        #expect(try await fixture.count(Self.deferredRowSQL) == 1)
        let replay = await fixture.sale(body, idempotencyKey: "deferred-1")
        #expect(replay.status == 200)
        #expect(replay.body == first.body)
        #expect(replay.headers["Idempotent-Replayed"] == "true")
        #expect(replay.headers["Content-Type"] == first.headers["Content-Type"])
        let changed = await fixture.sale(["type": "SALE", "amount": 2600, "currency": "NZD"], idempotencyKey: "deferred-1")
        #expect(changed.status == 409)
        #expect(changed.errorCode == "IDEMPOTENCY_CONFLICT")
        let cash = await fixture.sale(["type": "SALE", "amount": 1003, "currency": "USD", "tender": "CASH"],
                                      idempotencyKey: "deferred-cash")
        #expect(cash.status == 200)
        #expect(try await fixture.count(Self.deferredRowSQL) == 2)
        #expect(try await fixture.transactionCount() == 2)
        #expect(try await fixture.count("SELECT count(*) AS n FROM event_log") == 2)
    }

    @Test func liveCardsAndTerminalBoundSalesClaimTheirKeyFirst() async throws {
        let fixture = try await TransactionFixture.make(liveAcquirer: SimulatedAcquirer())
        defer { fixture.close() }
        let live = await fixture.sale(["type": "SALE", "amount": 2500, "currency": "NZD"], key: fixture.liveKey,
                                      idempotencyKey: "live-card")
        #expect(live.status == 200)
        let terminal = await fixture.sale(["type": "SALE", "amount": 2500, "currency": "NZD"], key: fixture.terminalKey,
                                          idempotencyKey: "terminal-card")
        #expect(terminal.status == 200)
        #expect(try await fixture.count(Self.claimedRowSQL) == 2)
        #expect(try await fixture.count(Self.deferredRowSQL) == 0)
        let replay = await fixture.sale(["type": "SALE", "amount": 2500, "currency": "NZD"], key: fixture.liveKey,
                                        idempotencyKey: "live-card")
        #expect(replay.headers["Idempotent-Replayed"] == "true")
        #expect(replay.body == live.body)
        #expect(try await fixture.transactionCount() == 2)
    }

    @Test func concurrentDuplicatesWithDifferentBodiesCommitOneSale() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let results = Collected<Response>()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<30 {
                group.addTask {
                    let amount: Int64 = index % 2 == 0 ? 100 : 200
                    results.add(await fixture.sale(["type": "SALE", "amount": .int(amount), "currency": "NZD"],
                                                   idempotencyKey: "contested"))
                }
            }
        }
        let ok = results.all.filter { $0.status == 200 }
        let conflicts = results.all.filter { $0.status == 409 && $0.errorCode == "IDEMPOTENCY_CONFLICT" }
        #expect(ok.count + conflicts.count == 30)
        #expect(ok.count >= 1)
        #expect(Set(ok.map { $0.body }).count == 1)
        #expect(try await fixture.transactionCount() == 1)
        #expect(try await fixture.count("SELECT count(*) AS n FROM event_log") == 1)
        #expect(try await fixture.count("SELECT count(*) AS n FROM idempotency_keys") == 1)
    }

    @Test func aLostKeyDoesNotSinkTheOtherSalesOfItsBatch() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let keys = try await (0..<3).asyncMap { _ in try await fixture.newKey() }
        let results = Collected<(Int, Response)>()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<90 {
                group.addTask {
                    // Every third request retries one key; the rest are unique. 30 per API key.
                    let idempotencyKey = index % 3 == 0 ? "same" : "unique-\(index)"
                    let amount = index % 3 == 0 ? 99 : Int64(100 + index)
                    let response = await fixture.sale(["type": "SALE", "amount": .int(amount), "currency": "NZD"],
                                                      key: keys[index % 3], idempotencyKey: idempotencyKey)
                    results.add((index, response))
                }
            }
        }
        #expect(results.all.allSatisfy { $0.1.status == 200 }, "\(results.all.filter { $0.1.status != 200 }.map { ($0.0, $0.1.status, String(decoding: $0.1.body, as: UTF8.self)) })")
        let unique = results.all.filter { $0.0 % 3 != 0 }.map(\.1)
        #expect(Set(unique.compactMap { $0.string("transactionId") }).count == 60)
        let same = results.all.filter { $0.0 % 3 == 0 }.map(\.1)
        #expect(Set(same.compactMap { $0.string("transactionId") }).count == 1)
        #expect(try await fixture.transactionCount() == 61)
        #expect(try await fixture.count("SELECT count(*) AS n FROM event_log") == 61)
        #expect(try await fixture.count(Self.deferredRowSQL) == 61)
    }

    @Test func anExpiredKeyIsTakenOverByTheSaleTransaction() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let first = await fixture.sale(["type": "SALE", "amount": 2500, "currency": "NZD"], idempotencyKey: "reused")
        fixture.clock.advance(seconds: 24 * 3600 + 60)
        let later = await fixture.sale(["type": "SALE", "amount": 2600, "currency": "NZD"], idempotencyKey: "reused")
        #expect(first.status == 200)
        #expect(later.status == 200)
        #expect(later.headers["Idempotent-Replayed"] == nil)
        #expect(later.string("transactionId") != first.string("transactionId"))
        #expect(try await fixture.transactionCount() == 2)
        #expect(try await fixture.count("SELECT count(*) AS n FROM idempotency_keys") == 1)
        let replay = await fixture.sale(["type": "SALE", "amount": 2600, "currency": "NZD"], idempotencyKey: "reused")
        #expect(replay.body == later.body)
    }
}

/// The batch statement itself (keys + rows + events in one autocommitted statement), without relying on
/// concurrency timing to form a batch: every gate kind in one statement.
@Suite struct BatchStatementTests {
    @Test func oneStatementWritesExactlyTheItemsWhoseKeyWon() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let tenant = TenantContext(merchantId: fixture.merchantId, mode: .test)
        let scope = "\(fixture.merchantId)|test|batch-statement"
        let store = fixture.idempotencyKeys
        let earlier = try #require(store.completionStatement(
            [IdempotencyCompletion(scope: scope, key: "taken", fingerprint: "f0",
                                   response: StoredResponse(status: 200, headers: [:], body: Array("{}".utf8)))],
            bindOffset: 0))
        #expect(try await fixture.database.query(earlier.sql).count == 1)

        let sales = (0..<4).map { index in
            WrittenSale(TransactionRecord(id: TypedID.generate(prefix: .transaction).rawValue, tenant: tenant, type: .sale,
                                          status: .approved, amount: Int64(100 + index), tipAmount: 0, cashbackAmount: 0,
                                          currency: "NZD", tender: .card, businessDate: "2026-11-25", createdAt: Date()))
        }
        // Item 0 has no key; 1 and 2 want the same new key (2 loses inside the batch); 3 wants a taken key.
        let claims = zip([("fresh", "f1"), ("fresh", "f2"), ("taken", "f3")], sales[1...]).map {
            IdempotencyCompletion(scope: scope, key: $0.0.0, fingerprint: $0.0.1, response: $0.1.storedResponse)
        }
        let keys = try #require(store.completionStatement(claims, bindOffset: 0))
        #expect(keys.tokens[0] != nil && keys.tokens[1] == nil && keys.tokens[2] != nil)
        let gates: [SaleCommitter.Gate] = [.open, .token(keys.tokens[0]!), .closed, .token(keys.tokens[2]!)]
        let rows = try await fixture.database.query(SaleCommitter.batchSQL(sales, keys: keys.sql, gates: gates,
                                                                           eventLog: EventLogAppendStore()))

        let written = Set(try rows.map { try $0.decode("resource_id", as: String.self) })
        #expect(written == [sales[0].record.id, sales[1].record.id])
        #expect(try await fixture.transactionCount() == 2)
        #expect(try await fixture.count("SELECT count(*) AS n FROM event_log") == 2)
        let payload = try await fixture.database.queryFirst(
            "SELECT payload::text AS p FROM event_log WHERE resource_id = \(sales[1].record.id)")
        #expect(try payload?.decode("p", as: String.self).contains(sales[1].record.id) == true)
        let fresh = try await fixture.database.queryFirst(
            "SELECT fingerprint, response_body FROM idempotency_keys WHERE scope = \(scope) AND key = 'fresh'")
        #expect(try fresh?.decode("fingerprint", as: String.self) == "f1")
        #expect(try fresh?.decode("response_body", as: [UInt8].self) == sales[1].body)
        let taken = try await fixture.database.queryFirst(
            "SELECT fingerprint FROM idempotency_keys WHERE scope = \(scope) AND key = 'taken'")
        #expect(try taken?.decode("fingerprint", as: String.self) == "f0")
    }

    @Test func withoutKeysTheBatchIsRowsAndOutboxWithNullableColumnsTyped() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let tenant = TenantContext(merchantId: fixture.merchantId, mode: .test)
        var cash = TransactionRecord(id: TypedID.generate(prefix: .transaction).rawValue, tenant: tenant, type: .sale,
                                     status: .approved, amount: 1001, tipAmount: 0, cashbackAmount: 0, currency: "USD",
                                     tender: .cash, businessDate: "2026-11-25", createdAt: Date())
        cash.rounding = RoundingInfo(ledgerTotal: 1001, cashTotal: 1000, delta: -1, mode: "nearest_nickel",
                                     jurisdiction: "US-IL", complianceStatus: "PASS")
        cash.metadata = ["note": "a \"quoted\" value"]
        let bare = TransactionRecord(id: TypedID.generate(prefix: .transaction).rawValue, tenant: tenant, type: .sale,
                                     status: .declined, amount: 5, tipAmount: 0, cashbackAmount: 0, currency: "NZD",
                                     tender: .card, businessDate: "2026-11-25", createdAt: Date())
        let sales = [WrittenSale(cash), WrittenSale(bare)]
        let rows = try await fixture.database.query(SaleCommitter.batchSQL(sales, keys: nil, gates: [.open, .open],
                                                                           eventLog: EventLogAppendStore()))
        #expect(rows.count == 2)
        let stored = try await fixture.database.queryFirst(
            "SELECT cash_total, rounding_delta, metadata->>'note' AS note FROM transactions WHERE id = \(cash.id)")
        #expect(try stored?.decode("cash_total", as: Int64.self) == 1000)
        #expect(try stored?.decode("rounding_delta", as: Int64.self) == -1)
        #expect(try stored?.decode("note", as: String.self) == "a \"quoted\" value")
        let events = try await fixture.database.query("SELECT event_type FROM event_log ORDER BY event_type")
        #expect(try events.map { try $0.decode("event_type", as: String.self) } == ["transaction.approved", "transaction.declined"])
    }

    /// The batch statement's text is the same for every batch size, with and without keys (one prepared statement per
    /// connection); values that need care (a timestamp at microsecond precision and before the epoch, a card hash's
    /// bytes, awkward text, a response body with quotes and backslashes) come back exactly.
    @Test func oneStatementTextForEveryBatchSizeAndExactValues() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let tenant = TenantContext(merchantId: fixture.merchantId, mode: .test)
        func sales(_ count: Int, createdAt: Date = Date()) -> [WrittenSale] {
            (0..<count).map { index in
                WrittenSale(TransactionRecord(id: TypedID.generate(prefix: .transaction).rawValue, tenant: tenant, type: .sale,
                                              status: .approved, amount: Int64(100 + index), tipAmount: 0, cashbackAmount: 0,
                                              currency: "NZD", tender: .card, businessDate: "2026-11-25", createdAt: createdAt))
            }
        }
        let store = fixture.idempotencyKeys
        func keys(_ batch: [WrittenSale]) throws -> IdempotencyKeysStatement {
            try #require(store.completionStatement(batch.map {
                IdempotencyCompletion(scope: "\(fixture.merchantId)|test|text", key: $0.record.id, fingerprint: "f",
                                      response: $0.storedResponse)
            }, bindOffset: 0))
        }
        let plain = [1, 2, 64].map { count in
            SaleCommitter.batchSQL(sales(count), keys: nil, gates: Array(repeating: .open, count: count), eventLog: EventLogAppendStore()).text
        }
        #expect(Set(plain).count == 1)
        let keyed = try [1, 3, 64].map { count in
            let batch = sales(count)
            let statement = try keys(batch)
            return SaleCommitter.batchSQL(batch, keys: statement.sql, gates: statement.tokens.map { .token($0!) },
                                          eventLog: EventLogAppendStore()).text
        }
        #expect(Set(keyed).count == 1)

        let instant = Date(timeIntervalSince1970: -86_400 * 365 - 0.000_123)
        var odd = sales(1, createdAt: instant)[0].record
        odd.storedValueCardHash = [0, 1, 0x5c, 0x22, 0xff]
        odd.referenceId = #"a "quoted" \ {ref}, NULL"#
        odd.metadata = ["note": #"back\slash "q""#]
        let written = WrittenSale(odd)
        let statement = try keys([written])
        let rows = try await fixture.database.query(SaleCommitter.batchSQL([written], keys: statement.sql,
                                                                           gates: [.token(statement.tokens[0]!)],
                                                                           eventLog: EventLogAppendStore()))
        #expect(rows.count == 1)
        let stored = try #require(try await fixture.database.queryFirst("""
            SELECT created_at, stored_value_card_hash, reference_id, metadata->>'note' AS note FROM transactions WHERE id = \(odd.id)
            """))
        #expect(Timestamp.microsecondsSinceEpoch(try stored.decode("created_at", as: Date.self)) == -31_536_000_000_123)
        #expect(try stored.decode("stored_value_card_hash", as: [UInt8].self) == [0, 1, 0x5c, 0x22, 0xff])
        #expect(try stored.decode("reference_id", as: String.self) == odd.referenceId)
        #expect(try stored.decode("note", as: String.self) == #"back\slash "q""#)
        let key = try #require(try await fixture.database.queryFirst(
            "SELECT response_body, response_status FROM idempotency_keys WHERE key = \(odd.id)"))
        #expect(try key.decode("response_body", as: [UInt8].self) == written.body)
        #expect(try key.decode("response_status", as: Int64.self) == 200)
        let event = try #require(try await fixture.database.queryFirst(
            "SELECT payload::text = \(String(decoding: written.body, as: UTF8.self)) AS same FROM event_log WHERE resource_id = \(odd.id)"))
        #expect(try event.decode("same", as: Bool.self))
    }
}
