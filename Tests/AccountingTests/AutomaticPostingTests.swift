@testable import Accounting
import AtlasTestSupport
import Bootstrap
import Foundation
import Kernel
import Postgres
import Testing

/// Payments made through the Commerce API post into the merchant's company ledger through the event log:
/// once per event however often it is delivered, test payments into the test ledger only, voids as
/// reversals, cash rounding on its own account; and the real consumer service catches up by itself.
@Suite(.serialized) struct AutomaticPostingTests {
    static let location: JSONValue = ["zipCode": "85001", "state": "AZ", "county": "Maricopa", "city": "Phoenix"]

    func sale(_ fixture: AccountingFixture, key: String, _ body: JSONValue) async throws -> JSONValue {
        var headers = HTTPHeaders()
        headers.add("X-Api-Key", key)
        let response = await fixture.client.send(.post, "/v1/transaction/sale", headers: headers, json: body)
        guard response.status == 200, response.json["status"] == "APPROVED" else {
            throw HarnessError("sale failed: \(response.status) \(response.bodyText)")
        }
        return response.json
    }

    /// Every event in the log, in delivery order, as the consumer receives them.
    func loggedEvents(_ database: PostgresDatabase) async throws -> [LoggedEvent] {
        let rows = try await database.query("""
            SELECT writer_xid::text AS xid, seq, event_id, event_type, merchant_id, mode, resource_id, payload::text AS payload,
                   occurred_at FROM event_log ORDER BY writer_xid, seq
            """)
        return try rows.map { row in
            let payload = try JSONCoding.decoder().decode(JSONValue.self, from: Data(try row.decode("payload", as: String.self).utf8))
            let mode = Mode(rawValue: try row.decode("mode", as: String.self)) ?? .test
            let event = DomainEvent(id: TypedID(rawValue: try row.decode("event_id")), type: try row.decode("event_type"),
                                    tenant: TenantContext(merchantId: try row.decode("merchant_id"), mode: mode),
                                    resourceId: try row.decode("resource_id"), occurredAt: try row.decode("occurred_at"),
                                    payload: payload)
            return LoggedEvent(position: EventPosition(writerTransactionId: UInt64(try row.decode("xid", as: String.self)) ?? 0,
                                                       sequence: try row.decode("seq")), event: event)
        }
    }

    func count(_ database: PostgresDatabase, _ sql: SQL) async throws -> Int {
        try await database.queryFirst(sql)?.decode("n") ?? -1
    }

    @Test func paymentsPostOnceIntoTheirModesLedgerAndVoidsReverse() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let harness = fixture.harness
        let testKey = try await harness.secretKey(mode: .test)
        let liveKey = try await harness.secretKey(mode: .live)

        let card = try await sale(fixture, key: testKey, ["type": "SALE", "amount": 2500, "tipAmount": 300, "cashbackAmount": 2000,
                                                          "currency": "USD", "tender": "CARD"])
        let cash = try await sale(fixture, key: testKey, ["type": "SALE", "amount": 723, "currency": "USD", "tender": "CASH",
                                                          "location": Self.location])
        let refunded = try await sale(fixture, key: testKey, ["type": "SALE", "amount": 4000, "currency": "USD", "tender": "CARD"])
        _ = try await sale(fixture, key: testKey, ["type": "REFUND", "amount": 1500, "currency": "USD",
                                                   "originalTransactionId": .string(refunded["transactionId"]?.stringValue ?? "")])
        let voided = try await sale(fixture, key: testKey, ["type": "SALE", "amount": 999, "currency": "USD", "tender": "CARD"])
        _ = try await sale(fixture, key: testKey, ["type": "VOID", "amount": 0, "currency": "USD",
                                                   "originalTransactionId": .string(voided["transactionId"]?.stringValue ?? "")])
        _ = try await sale(fixture, key: testKey, ["type": "PRE_AUTH", "amount": 5000, "currency": "USD"])
        let live = try await sale(fixture, key: liveKey, ["type": "SALE", "amount": 1000, "currency": "USD", "tender": "CASH"])

        let consumer = LedgerPostingConsumer(database: fixture.database, clock: harness.clock, logger: TestLogger.quiet)
        let events = try await loggedEvents(fixture.database)
        #expect(events.count == 8)
        try await consumer.handle(events)
        // Redelivery, whole and one by one, writes nothing more.
        try await consumer.handle(events)
        for event in events { try await consumer.handle([event]) }

        let testEntries = try await count(fixture.database, "SELECT count(*) AS n FROM accounting_journal_entries WHERE mode = 'test'")
        #expect(testEntries == 6)  // card, cash, sale + refund, sale + its void's reversal; the pre-auth posts nothing
        #expect(try await count(fixture.database, "SELECT count(*) AS n FROM accounting_journal_entries WHERE mode = 'live'") == 1)
        #expect(try await BalanceCheck(database: fixture.database).drifts().isEmpty)

        // The card sale: clearing 48.00 = revenue 25.00 + tips 3.00 + cash handed out 20.00.
        let cardLines = try await fixture.database.query("""
            SELECT a.account_number, l.side, l.amount_minor FROM accounting_journal_lines l
            JOIN accounting_journal_entries e ON e.id = l.entry_id JOIN accounting_accounts a ON a.id = l.account_id
            WHERE e.source_id = \(card["transactionId"]?.stringValue ?? "") ORDER BY l.line_number
            """).map { "\(try $0.decode("side", as: String.self)) \(try $0.decode("account_number", as: String.self)) \(try $0.decode("amount_minor", as: Int64.self))" }
        #expect(cardLines == ["debit 1150 4800", "credit 1000 2000", "credit 4000 2500", "credit 2150 300"])
        // The cash sale: the drawer gets the rounded total; the difference sits on the rounding account.
        let cashTotal = try #require(cash["rounding"]?["cashTotal"]?.intValue)
        let cashLines = try await fixture.database.query("""
            SELECT a.account_number, l.side, l.amount_minor FROM accounting_journal_lines l
            JOIN accounting_journal_entries e ON e.id = l.entry_id JOIN accounting_accounts a ON a.id = l.account_id
            WHERE e.source_id = \(cash["transactionId"]?.stringValue ?? "") AND a.account_number = '1000'
            """)
        #expect(try cashLines.first?.decode("amount_minor", as: Int64.self) == cashTotal)
        // The voided sale is void and reversed.
        let original = try await fixture.database.queryFirst("""
            SELECT status, reversed_by FROM accounting_journal_entries WHERE source_id = \(voided["transactionId"]?.stringValue ?? "")
              AND reverses_entry IS NULL
            """)
        #expect(try original?.decode("status", as: String.self) == "void")
        #expect(try original?.decode("reversed_by", as: String?.self) != nil)

        // The user (live) sees the live ledger only: the live cash sale, balanced.
        let visible = await fixture.send(.get, "/api/v1/journal-entries/?company_id=\(company)")
        #expect(visible.json["total"]?.intValue == 1)
        #expect(visible.json["items"]?.firstLine?["source_id"]?.stringValue == live["transactionId"]?.stringValue)
        let trial = await fixture.send(.get, "/api/v1/reports/trial-balance?company_id=\(company)")
        #expect(trial.json["is_balanced"] == true)
        #expect(trial.json["total_debits"] == "10.00")
        // The test ledger balances too.
        let testTotals = try await fixture.database.queryFirst("""
            SELECT coalesce(sum(debit_minor), 0)::bigint AS debit, coalesce(sum(credit_minor), 0)::bigint AS credit
            FROM accounting_account_days WHERE company_id = \(company) AND mode = 'test'
            """)
        #expect(try testTotals?.decode("debit", as: Int64.self) == testTotals?.decode("credit", as: Int64.self))

        // The real consumer service, started as `serve` starts it, finds everything posted and posts what is new.
        let running = harness.application.startBackgroundServices()
        let later = try await sale(fixture, key: liveKey, ["type": "SALE", "amount": 2000, "currency": "USD", "tender": "CASH"])
        var posted = 0
        for _ in 0..<100 where posted == 0 {
            try await Task.sleep(for: .milliseconds(100))
            posted = try await count(fixture.database, """
                SELECT count(*) AS n FROM accounting_journal_entries WHERE source_id = \(later["transactionId"]?.stringValue ?? "")
                """)
        }
        await running.stop()
        #expect(posted == 1)
        #expect(try await count(fixture.database, "SELECT count(*) AS n FROM accounting_journal_entries") == 8)
        #expect(try await BalanceCheck(database: fixture.database).drifts().isEmpty)
    }

    @Test func merchantsWithoutACompanyPostNothing() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let testKey = try await fixture.harness.secretKey(mode: .test)
        _ = try await sale(fixture, key: testKey, ["type": "SALE", "amount": 2500, "currency": "USD", "tender": "CARD"])
        let consumer = LedgerPostingConsumer(database: fixture.database, clock: fixture.harness.clock, logger: TestLogger.quiet)
        try await consumer.handle(try await loggedEvents(fixture.database))
        #expect(try await count(fixture.database, "SELECT count(*) AS n FROM accounting_journal_entries") == 0)
    }

    /// `transaction.settled` (Reconciliation's close claims a transaction): the transaction's card clearing balance moves
    /// to the acquirer receivable (1160), once per event; cash moves nothing; a refund or void moves back. Also when
    /// the sale and its settlement arrive in one batch.
    @Test func settledCardPaymentsMoveClearingToTheAcquirerReceivable() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        _ = try await fixture.company()
        let testKey = try await fixture.harness.secretKey(mode: .test)
        let card = try await sale(fixture, key: testKey, ["type": "SALE", "amount": 2500, "tipAmount": 300, "cashbackAmount": 2000,
                                                          "currency": "USD", "tender": "CARD"])
        let cash = try await sale(fixture, key: testKey, ["type": "SALE", "amount": 700, "currency": "USD", "tender": "CASH"])
        let refunded = try await sale(fixture, key: testKey, ["type": "SALE", "amount": 4000, "currency": "USD", "tender": "CARD"])
        let refund = try await sale(fixture, key: testKey, ["type": "REFUND", "amount": 1500, "currency": "USD",
                                                            "originalTransactionId": .string(refunded["transactionId"]?.stringValue ?? "")])
        let voided = try await sale(fixture, key: testKey, ["type": "SALE", "amount": 999, "currency": "USD", "tender": "CARD"])
        let void = try await sale(fixture, key: testKey, ["type": "VOID", "amount": 0, "currency": "USD",
                                                          "originalTransactionId": .string(voided["transactionId"]?.stringValue ?? "")])
        let consumer = LedgerPostingConsumer(database: fixture.database, clock: fixture.harness.clock, logger: TestLogger.quiet)
        let approved = try await loggedEvents(fixture.database)
        try await consumer.handle(approved)
        let tenant = try #require(approved.first?.event.tenant)
        var sequence: Int64 = 1_000
        func settled(_ transaction: JSONValue) -> LoggedEvent {
            sequence += 1
            let id = transaction["transactionId"]?.stringValue ?? ""
            return LoggedEvent(position: EventPosition(writerTransactionId: UInt64.max / 2, sequence: sequence),
                               event: DomainEvent(type: LedgerPostingConsumer.settledType, tenant: tenant, resourceId: id,
                                                  occurredAt: fixture.harness.clock.now(),
                                                  payload: ["transactionId": .string(id), "settlementId": "stl_test",
                                                            "type": transaction["type"] ?? .null, "currency": "USD"]))
        }
        let settlements = [card, cash, refunded, refund, voided, void].map(settled)
        try await consumer.handle(settlements)
        try await consumer.handle(settlements)
        for event in settlements { try await consumer.handle([event]) }

        func net(_ number: String) async throws -> Int64 {
            try await fixture.database.queryFirst("""
                SELECT coalesce(sum(CASE WHEN l.side = 'debit' THEN l.amount_minor ELSE -l.amount_minor END), 0)::bigint AS n
                FROM accounting_journal_lines l JOIN accounting_accounts a ON a.id = l.account_id
                WHERE a.account_number = \(number) AND l.mode = 'test'
                """)?.decode("n") ?? -1
        }
        // 48.00 + 40.00 − 15.00 + 9.99 − 9.99 owed by the acquirer; nothing left in clearing.
        #expect(try await net("1160") == 7_300)
        #expect(try await net("1150") == 0)
        #expect(try await count(fixture.database, "SELECT count(*) AS n FROM accounting_journal_entries WHERE source_type = 'settlement'")
                    == 5)

        // A sale and its settlement in one batch.
        let late = try await sale(fixture, key: testKey, ["type": "SALE", "amount": 1200, "currency": "USD", "tender": "CARD"])
        let lateApproved = try await loggedEvents(fixture.database).filter { $0.event.resourceId == late["transactionId"]?.stringValue }
        try await consumer.handle(lateApproved + [settled(late)])
        #expect(try await net("1160") == 8_500)
        #expect(try await net("1150") == 0)
        #expect(try await BalanceCheck(database: fixture.database).drifts().isEmpty)
    }
}
