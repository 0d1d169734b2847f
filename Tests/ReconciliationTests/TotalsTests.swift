import Bootstrap
import Foundation
import Kernel
import Postgres
import Testing
@testable import Reconciliation

/// Running totals kept from the event log (A21, A24), idempotent under redelivery, always equal to a
/// recomputation over the open items.
@Suite struct TotalsTests {
    @Test func totalsCountApprovedMoneyMovingTransactionsOnly() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let first = try await fixture.sale(2500)
        let second = try await fixture.sale(1200)
        try await fixture.sale(500, type: "REFUND", original: first)
        try await fixture.sale(1200, type: "VOID", original: second)
        try await fixture.sale(4000, type: "PRE_AUTH")
        try await fixture.sale(700, currency: "AUD")
        // Declined, card reads and balance inquiries are not counted.
        _ = await fixture.post("/v1/transaction/sale", ["type": "SALE", "amount": 5105, "currency": "NZD"])
        _ = await fixture.post("/v1/transaction/sale", ["type": "CARD_READ", "amount": 0, "currency": "NZD"])
        try await fixture.settle()

        let totals = await fixture.get("/v1/totals?currency=NZD")
        #expect(totals.status == 200)
        #expect(totals.json == ["saleCount": 2, "saleAmount": 3700, "refundCount": 1, "refundAmount": 500, "voidCount": 1,
                                "voidAmount": 1200, "preAuthCount": 1, "preAuthAmount": 4000, "currency": "NZD"])
        let aud = await fixture.get("/v1/totals?currency=AUD")
        #expect(aud.int("saleCount") == 1)
        #expect(aud.int("saleAmount") == 700)
        let unused = await fixture.get("/v1/totals?currency=JPY")
        #expect(unused.int("saleCount") == 0)
        #expect(unused.string("currency") == "JPY")
        #expect(try await fixture.mismatches().isEmpty)
        // The voided sale shows VOIDED in Reconciliation's copy.
        let voided = try await fixture.database.queryFirst(
            "SELECT status FROM reconciliation_items WHERE transaction_id = \(second)")
        #expect(voided?.text("status") == "VOIDED")
    }

    @Test func withoutCurrencyTheMostRecentlyActiveOneIsShown() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let empty = await fixture.get("/v1/totals")
        #expect(empty.status == 200)
        #expect(empty.string("currency") == "NZD")
        try await fixture.sale(300, currency: "AUD")
        try await fixture.settle()
        #expect(await fixture.get("/v1/totals").string("currency") == "AUD")
    }

    /// At-least-once delivery: handing the consumer every event again changes nothing, even after a close
    /// claimed the items.
    @Test func redeliveredEventsAreAppliedOnce() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let sale = try await fixture.sale(2500)
        try await fixture.sale(100, type: "REFUND", original: sale)
        try await fixture.settle()
        let consumer = TotalsConsumer(database: fixture.database).consumer
        let events = try await Self.loggedEvents(fixture, type: "transaction.approved")
        #expect(events.count == 2)
        try await consumer.handle(events + events)
        let totals = await fixture.get("/v1/totals?currency=NZD")
        #expect(totals.int("saleCount") == 1)
        #expect(totals.int("refundCount") == 1)
        #expect(await fixture.closeDay().status == 200)
        try await consumer.handle(events)
        let after = await fixture.get("/v1/totals?currency=NZD")
        #expect(after.int("saleCount") == 0)
        #expect(after.int("refundCount") == 0)
        #expect(try await fixture.mismatches().isEmpty)
    }

    /// A new transaction's event twice in one batch (redelivered before its first delivery was acknowledged): one
    /// item, counted once.
    @Test func anEventTwiceInOneBatchIsCountedOnce() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        try await fixture.sale(2500)
        try await fixture.settle()
        let consumer = TotalsConsumer(database: fixture.database).consumer
        let sale = try #require(try await Self.loggedEvents(fixture, type: "transaction.approved").first).event
        guard case .object(var copied) = sale.payload else { Issue.record("a sale's payload is an object"); return }
        copied["amount"] = .int(700)
        let fresh = DomainEvent(type: sale.type, tenant: sale.tenant, resourceId: "txn_twice_in_one_batch",
                                occurredAt: sale.occurredAt, payload: .object(copied))
        let logged = LoggedEvent(position: EventPosition(writerTransactionId: 1, sequence: 1), event: fresh)
        try await consumer.handle([logged, logged])
        let totals = await fixture.get("/v1/totals?currency=NZD")
        #expect(totals.int("saleCount") == 2)
        #expect(totals.int("saleAmount") == 3200)
        let items = try await fixture.database.query(
            "SELECT count(*)::bigint AS n FROM reconciliation_items WHERE transaction_id = 'txn_twice_in_one_batch'")
        #expect(try items[0].decode("n", as: Int64.self) == 1)
    }

    /// The admin check reports a total that drifted from its items.
    @Test func theCheckFindsDrift() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        try await fixture.sale(2500)
        try await fixture.settle()
        #expect(try await fixture.mismatches().isEmpty)
        try await fixture.database.execute("UPDATE reconciliation_totals SET sale_amount = sale_amount + 1")
        let found = try await fixture.mismatches()
        #expect(found.count == 1)
        #expect(found.first?.kept.saleAmount == 2501)
        #expect(found.first?.recomputed.saleAmount == 2500)
    }

    /// `atlas admin reconciliation-check`: quiet success when consistent, an error naming the count otherwise.
    @Test func theAdminCommandFailsOnDrift() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        try await fixture.sale(2500)
        try await fixture.settle()
        let command = try #require(ReconciliationModule().adminCommands.first { $0.names == ["reconciliation-check"] })
        let arguments = try CommandArguments(command: "reconciliation-check", options: ["--merchant", fixture.merchantId])
        try await command.run(arguments, fixture.application.services)
        try await fixture.database.execute("UPDATE reconciliation_totals SET sale_count = sale_count + 1")
        await #expect(throws: ReconciliationCheckFailed.self) {
            try await command.run(arguments, fixture.application.services)
        }
    }

    /// From scratch: per mode and currency, `GET /v1/totals` equals the sums recomputed from Transactions' own rows
    /// (read here by the test; the module never reads them) and from the open items (the admin check). Test and
    /// live are kept apart, a drift in one (mode, currency) is named as exactly that one, and a test-mode close
    /// leaves the live period open.
    @Test func totalsEqualARecomputationFromTheTransactionsForEachModeAndCurrency() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let first = try await fixture.sale(2500)
        try await fixture.sale(1200)
        try await fixture.sale(500, type: "REFUND", original: first)
        try await fixture.sale(700, currency: "AUD")
        for (amount, currency) in [(2000, "NZD"), (100, "USD"), (250, "USD")] as [(Int64, String)] {
            let cash = await fixture.post("/v1/transaction/sale", [
                "type": "SALE", "amount": .int(amount), "currency": .string(currency), "tender": "CASH"], key: fixture.liveKey)
            #expect(cash.status == 200, "live cash sale: \(cash.status) \(cash.bodyText)")
        }
        try await fixture.settle()
        let expected: [String: [String: (sales: Int64, saleAmount: Int64, refunds: Int64, refundAmount: Int64)]] = [
            "test": ["NZD": (2, 3700, 1, 500), "AUD": (1, 700, 0, 0), "USD": (0, 0, 0, 0)],
            "live": ["NZD": (1, 2000, 0, 0), "AUD": (0, 0, 0, 0), "USD": (2, 350, 0, 0)],
        ]
        for (mode, key) in [("test", fixture.testKey), ("live", fixture.liveKey)] {
            for currency in ["NZD", "AUD", "USD"] {
                let served = await fixture.get("/v1/totals?currency=\(currency)", key: key)
                let row = try #require(try await fixture.database.queryFirst("""
                    SELECT count(*) FILTER (WHERE type IN ('SALE', 'PRE_AUTH_COMPLETE')) AS sales,
                        coalesce(sum(amount) FILTER (WHERE type IN ('SALE', 'PRE_AUTH_COMPLETE')), 0)::bigint AS sale_amount,
                        count(*) FILTER (WHERE type = 'REFUND') AS refunds,
                        coalesce(sum(amount) FILTER (WHERE type = 'REFUND'), 0)::bigint AS refund_amount
                    FROM transactions WHERE merchant_id = \(fixture.merchantId) AND mode = \(mode)
                        AND currency = \(currency) AND status IN ('APPROVED', 'VOIDED') AND settlement_id IS NULL
                    """))
                let want = try #require(expected[mode]?[currency])
                let label = "\(mode) \(currency)"
                #expect(served.int("saleCount") == want.sales && served.int("saleAmount") == want.saleAmount, "\(label)")
                #expect(served.int("refundCount") == want.refunds && served.int("refundAmount") == want.refundAmount, "\(label)")
                #expect(try row.decode("sales", as: Int64.self) == want.sales, "\(label)")
                #expect(try row.decode("sale_amount", as: Int64.self) == want.saleAmount, "\(label)")
                #expect(try row.decode("refunds", as: Int64.self) == want.refunds, "\(label)")
                #expect(try row.decode("refund_amount", as: Int64.self) == want.refundAmount, "\(label)")
            }
        }
        #expect(try await fixture.mismatches().isEmpty)
        // A drift in one (mode, currency) is reported as that one only.
        try await fixture.database.execute("""
            UPDATE reconciliation_totals SET sale_amount = sale_amount + 1 WHERE mode = 'live' AND currency = 'USD'
            """)
        #expect(try await fixture.mismatches().map { "\($0.mode) \($0.currency)" } == ["live USD"])
        try await fixture.database.execute("""
            UPDATE reconciliation_totals SET sale_amount = sale_amount - 1 WHERE mode = 'live' AND currency = 'USD'
            """)
        // A test-mode close settles test items only: the live period and its totals stay as they were.
        #expect(await fixture.closeDay().status == 200)
        try await fixture.settle()
        #expect(await fixture.get("/v1/totals?currency=NZD").int("saleCount") == 0)
        let live = await fixture.get("/v1/totals?currency=USD", key: fixture.liveKey)
        #expect(live.int("saleCount") == 2 && live.int("saleAmount") == 350)
        #expect(try await fixture.mismatches().isEmpty)
    }

    static func loggedEvents(_ fixture: ReconciliationFixture, type: String) async throws -> [LoggedEvent] {
        let rows = try await fixture.database.query("""
            SELECT event_id, event_type, merchant_id, mode, resource_id, payload::text AS payload, occurred_at, seq
            FROM event_log WHERE event_type = \(type) ORDER BY seq
            """)
        return try rows.map { row in
            let payload = try JSONDecoder().decode(JSONValue.self, from: Data((try row.decode("payload", as: String.self)).utf8))
            let event = DomainEvent(id: TypedID(rawValue: try row.decode("event_id")), type: try row.decode("event_type"),
                                    tenant: TenantContext(merchantId: try row.decode("merchant_id"),
                                                          mode: Mode(rawValue: try row.decode("mode")) ?? .test),
                                    resourceId: try row.decode("resource_id"), occurredAt: try row.decode("occurred_at"),
                                    payload: payload)
            return LoggedEvent(position: EventPosition(writerTransactionId: 1, sequence: try row.decode("seq")), event: event)
        }
    }
}
