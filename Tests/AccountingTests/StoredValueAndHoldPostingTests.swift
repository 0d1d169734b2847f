@testable import Accounting
import AtlasTestSupport
import Foundation
import Kernel
import Postgres
import Testing

/// Pure plans: stored-value balance changes and pre-authorization holds. No database.
@Suite struct StoredValuePostingTests {
    func lines(_ type: String, _ payload: JSONValue) -> [String] {
        guard let movement = StoredValueMovement(type: type, payload: payload),
              case .post(_, let lines) = StoredValuePosting.plan(movement) else { return [] }
        return lines.map { "\($0.side.rawValue) \($0.rule.rawValue) \($0.amount)" }
    }

    @Test func loadsFundTheLiabilityAndRepayWhatTheCardOwedFirst() {
        #expect(lines("stored_value.loaded", ["cardId": "c", "amount": 5_000, "currency": "USD", "balanceAfter": 5_000,
                                              "source": "online", "reference": "stored-value-load"])
                == ["debit stored_value_funding 5000", "credit stored_value_liability 5000"])
        // A station top-up of 300.00 onto a card at −200.00: 200.00 repays the member's debt.
        #expect(lines("stored_value.loaded", ["cardId": "c", "amount": 30_000, "currency": "USD", "balanceBefore": -20_000,
                                              "balanceAfter": 10_000, "source": "station"])
                == ["debit stored_value_funding 30000", "credit stored_value_receivable 20000",
                    "credit stored_value_liability 10000"])
        // A refund's credit: the refund's own entry posts it; only the repaid part is reclassified.
        #expect(lines("stored_value.loaded", ["cardId": "c", "amount": 700, "currency": "USD", "balanceAfter": 1_700,
                                              "source": "online", "reference": "txn_01J0000000000000000000000A"]) == [])
        #expect(lines("stored_value.loaded", ["cardId": "c", "amount": 700, "currency": "USD", "balanceAfter": 200,
                                              "source": "online", "reference": "txn_01J0000000000000000000000A"])
                == ["debit stored_value_liability 500", "credit stored_value_receivable 500"])
    }

    @Test func offlineSpendsAreRevenueAndTheirShortfallIsOwed() {
        #expect(lines("stored_value.debited", ["cardId": "c", "amount": 32_000, "currency": "USD", "balanceAfter": -2_000,
                                               "shortfall": 2_000, "source": "offline", "batchId": "b1"])
                == ["debit stored_value_liability 30000", "debit stored_value_receivable 2000", "credit sales_revenue 32000"])
        // An online debit is a /v1 sale: its transaction.approved posts it.
        #expect(lines("stored_value.debited", ["cardId": "c", "amount": 300, "currency": "USD", "balanceAfter": 0,
                                               "source": "online", "reference": "txn_01J0000000000000000000000B"]) == [])
        #expect(StoredValueMovement(type: "stored_value.debited", payload: ["cardId": "c", "amount": 0, "currency": "USD",
                                                                             "balanceAfter": 0]) == nil)
        #expect(StoredValueMovement(type: "stored_value.loaded", payload: ["cardId": "c", "amount": 10]) == nil)
    }
}

@Suite struct PreAuthHoldTests {
    func hold() -> PreAuthHold {
        PreAuthHold(companyId: "k", mode: .test, transactionId: "txn_p", amountMinor: 5_000, currency: "USD", debitAccountId: "a1",
                    creditAccountId: "a2", authorizedEventId: "evt_1", authorizedOn: "2026-01-15")
    }

    @Test func completionPostsAndReleasesTheRestOnce() {
        var held = hold()
        #expect(held.status == .pending)
        #expect(held.complete(capturedMinor: 4_000, byTransaction: "txn_c", eventId: "evt_2", on: "2026-01-16") == .resolved(.posted, releasedMinor: 1_000))
        #expect(held.capturedMinor == 4_000)
        // Resolved holds never change: a replayed completion, a later void or an expiry do nothing.
        #expect(held.complete(capturedMinor: 4_000, byTransaction: "txn_c", eventId: "evt_2", on: "2026-01-16") == .unchanged)
        #expect(held.void(byTransaction: "txn_v", eventId: "evt_3", on: "2026-01-16") == .unchanged)
        #expect(held.expire(eventId: "evt_4", on: "2026-01-16") == .unchanged)
        #expect(held.status == .posted && held.resolvedEventId == "evt_2" && held.resolvedOn == "2026-01-16")
    }

    @Test func voidAndExpiryReleaseEverything() {
        var voided = hold()
        #expect(voided.void(byTransaction: "txn_v", eventId: "evt_3", on: "2026-01-16") == .resolved(.voided, releasedMinor: 5_000))
        #expect(voided.complete(capturedMinor: 1, byTransaction: "txn_c", eventId: "evt_5", on: "2026-01-16") == .unchanged)
        var expired = hold()
        #expect(expired.expire(eventId: "evt_4", on: "2026-01-16") == .resolved(.expired, releasedMinor: 5_000))
        #expect(expired.capturedMinor == 0 && expired.resolvedByTransactionId == nil)
    }
}

/// Stored-value loads and spends and pre-authorization holds through the real consumer and PostgreSQL: one balanced
/// entry per movement, nothing twice on redelivery, test events into the test ledger only.
@Suite(.serialized) struct StoredValueAndHoldLedgerTests {
    let posting = AutomaticPostingTests()

    func v1(_ fixture: AccountingFixture, _ path: String, key: String, _ body: JSONValue) async throws -> JSONValue {
        var headers = HTTPHeaders()
        headers.add("X-Api-Key", key)
        let response = await fixture.client.send(.post, path, headers: headers, json: body)
        guard response.status == 200 else { throw HarnessError("\(path) failed: \(response.status) \(response.bodyText)") }
        return response.json
    }

    /// An event as another module appends it, for what needs a terminal (station top-ups, offline debits) or an acquirer
    /// (live card payments).
    func registryEvent(_ fixture: AccountingFixture, _ type: String, mode: Mode, sequence: Int64, _ payload: JSONValue) -> LoggedEvent {
        LoggedEvent(position: EventPosition(writerTransactionId: UInt64.max / 2, sequence: sequence),
                    event: DomainEvent(type: type, tenant: TenantContext(merchantId: fixture.harness.merchantId, mode: mode),
                                       resourceId: payload["cardId"]?.stringValue ?? payload["transactionId"]?.stringValue ?? "", occurredAt: fixture.harness.clock.now(),
                                       payload: payload))
    }

    /// "side number amount" per line of the entries posted from `eventId`.
    func lines(_ fixture: AccountingFixture, eventId: String) async throws -> [String] {
        try await fixture.database.query("""
            SELECT a.account_number, l.side, l.amount_minor FROM accounting_journal_lines l
            JOIN accounting_journal_entries e ON e.id = l.entry_id JOIN accounting_accounts a ON a.id = l.account_id
            WHERE e.source_event_id = \(eventId) ORDER BY l.line_number
            """).map { "\(try $0.decode("side", as: String.self)) \(try $0.decode("account_number", as: String.self)) \(try $0.decode("amount_minor", as: Int64.self))" }
    }

    /// Entries whose debits and credits differ, and events with more than one entry: both must be none.
    func unbalancedOrRepeated(_ fixture: AccountingFixture) async throws -> Int {
        let unbalanced = try await posting.count(fixture.database, """
            SELECT count(*) AS n FROM (SELECT e.id FROM accounting_journal_entries e JOIN accounting_journal_lines l ON l.entry_id = e.id
            GROUP BY e.id HAVING sum(CASE WHEN l.side = 'debit' THEN l.base_amount_minor ELSE -l.base_amount_minor END) <> 0) x
            """)
        let repeated = try await posting.count(fixture.database, """
            SELECT count(*) AS n FROM (SELECT source_event_id FROM accounting_journal_entries WHERE source_event_id IS NOT NULL
            GROUP BY source_event_id HAVING count(*) > 1) x
            """)
        return unbalanced + repeated
    }

    @Test func storedValueLoadsAndSpendsPostOnceIntoTheirModesLedger() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        _ = try await fixture.company()
        let testKey = try await fixture.harness.secretKey(mode: .test)
        let liveKey = try await fixture.harness.secretKey(mode: .live)
        let pan = "6011111111111117"
        _ = try await v1(fixture, "/v1/stored-value/load", key: testKey, ["cardNumber": .string(pan), "amount": 5_000, "currency": "USD"])
        let sale = try await v1(fixture, "/v1/transaction/sale", key: testKey, ["type": "SALE", "amount": 3_000, "currency": "USD",
                                                                                  "tender": "STORED_VALUE", "card": ["number": .string(pan)]])
        #expect(sale["status"] == "APPROVED")
        _ = try await v1(fixture, "/v1/transaction/sale", key: testKey, ["type": "REFUND", "amount": 1_000, "currency": "USD",
                                                                         "originalTransactionId": sale["transactionId"] ?? .null])
        _ = try await v1(fixture, "/v1/stored-value/load", key: liveKey, ["cardNumber": .string(pan), "amount": 2_500, "currency": "USD"])
        let commerce = try await posting.loggedEvents(fixture.database)
        #expect(commerce.map(\.event.type).sorted() == ["stored_value.debited", "stored_value.loaded", "stored_value.loaded",
                                                        "stored_value.loaded", "transaction.approved", "transaction.approved"])
        let registry = [
            registryEvent(fixture, "stored_value.loaded", mode: .test, sequence: 1_001, [
                "cardId": "crd_x", "amount": 10_000, "currency": "USD", "balanceBefore": 0, "balanceAfter": 10_000, "source": "station"]),
            registryEvent(fixture, "stored_value.debited", mode: .test, sequence: 1_002, [
                "cardId": "crd_x", "amount": 12_000, "currency": "USD", "balanceAfter": -2_000, "shortfall": 2_000,
                "source": "offline", "batchId": "bat_1"]),
            registryEvent(fixture, "stored_value.loaded", mode: .test, sequence: 1_003, [
                "cardId": "crd_x", "amount": 3_000, "currency": "USD", "balanceBefore": -2_000, "balanceAfter": 1_000, "source": "station"]),
        ]
        let events = commerce + registry
        let consumer = LedgerPostingConsumer(database: fixture.database, clock: fixture.harness.clock, logger: TestLogger.quiet)
        try await consumer.handle(events)
        try await consumer.handle(events)
        for event in events.reversed() { try await consumer.handle([event]) }

        // Test ledger: the /v1 load, the sale, the refund, the top-up, the offline spend, the repaying top-up.
        #expect(try await posting.count(fixture.database, "SELECT count(*) AS n FROM accounting_journal_entries WHERE mode = 'test'") == 6)
        #expect(try await posting.count(fixture.database, "SELECT count(*) AS n FROM accounting_journal_entries WHERE mode = 'live'") == 1)
        #expect(try await unbalancedOrRepeated(fixture) == 0)
        #expect(try await BalanceCheck(database: fixture.database).drifts().isEmpty)
        let loadEvent = try #require(commerce.first { $0.event.type == "stored_value.loaded" && $0.event.tenant.mode == .test })
        #expect(try await lines(fixture, eventId: loadEvent.event.id.rawValue) == ["debit 1000 5000", "credit 2300 5000"])
        #expect(try await lines(fixture, eventId: registry[1].event.id.rawValue)
                == ["debit 2300 10000", "debit 1170 2000", "credit 4000 12000"])
        #expect(try await lines(fixture, eventId: registry[2].event.id.rawValue)
                == ["debit 1000 3000", "credit 1170 2000", "credit 2300 1000"])
        // The sale's debit and the refund's credit post through their transactions only.
        for event in commerce where event.event.type.hasPrefix("stored_value.") && event.event.payload["reference"]?.stringValue != "stored-value-load" {
            #expect(try await lines(fixture, eventId: event.event.id.rawValue) == [])
        }
        // Liability = the cards' positive balances (20.00 + 10.00 in test), receivable = what members owe (0).
        let net = try await fixture.database.query("""
            SELECT a.account_number, sum(CASE WHEN l.side = 'credit' THEN l.amount_minor ELSE -l.amount_minor END)::bigint AS n
            FROM accounting_journal_lines l JOIN accounting_accounts a ON a.id = l.account_id
            WHERE l.mode = 'test' AND a.account_number IN ('2300', '1170') GROUP BY a.account_number ORDER BY a.account_number
            """).map { "\(try $0.decode("account_number", as: String.self)) \(try $0.decode("n", as: Int64.self))" }
        #expect(net == ["1170 0", "2300 4000"])
    }

    @Test func preAuthorizationsAreHeldNotPostedUntilCompletedAndVoidsRelease() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let testKey = try await fixture.harness.secretKey(mode: .test)
        func sale(_ key: String, _ body: JSONValue) async throws -> String {
            try await posting.sale(fixture, key: key, body)["transactionId"]?.stringValue ?? ""
        }
        let completed = try await sale(testKey, ["type": "PRE_AUTH", "amount": 5_000, "currency": "USD"])
        let completion = try await sale(testKey, ["type": "PRE_AUTH_COMPLETE", "amount": 4_000, "tipAmount": 200, "currency": "USD",
                                                  "originalTransactionId": .string(completed)])
        let voided = try await sale(testKey, ["type": "PRE_AUTH", "amount": 3_000, "currency": "USD"])
        _ = try await sale(testKey, ["type": "VOID", "amount": 0, "currency": "USD", "originalTransactionId": .string(voided)])
        let pending = try await sale(testKey, ["type": "PRE_AUTH", "amount": 1_000, "currency": "USD"])
        // Live card tenders need a configured acquirer: the live pre-authorization is the event Transactions would append.
        let live = "txn_01M8Y6ASKH7E4XSXZ2T6NBLIVE"
        let livePreAuth = registryEvent(fixture, "transaction.approved", mode: .live, sequence: 2_001, [
            "transactionId": .string(live), "type": "PRE_AUTH", "tender": "CARD", "amount": 700, "currency": "USD"])

        let events = try await posting.loggedEvents(fixture.database) + [livePreAuth]
        let consumer = LedgerPostingConsumer(database: fixture.database, clock: fixture.harness.clock, logger: TestLogger.quiet)
        // Two deliveries racing (a lease handover): the loser fails on the unique event id and the event log would
        // redeliver; then one event at a time (the completion finds the hold stored) and the whole batch again.
        async let first: Void = consumer.handle(events)
        async let second: Void = consumer.handle(events)
        _ = try? await (first, second)
        for event in events { try await consumer.handle([event]) }
        try await consumer.handle(events)

        // Only the completion posts: no revenue at authorization, nothing for the void.
        #expect(try await posting.count(fixture.database, "SELECT count(*) AS n FROM accounting_journal_entries") == 1)
        let entry = try await fixture.database.queryFirst("SELECT source_id FROM accounting_journal_entries")
        #expect(try entry?.decode("source_id", as: String.self) == completion)
        #expect(try await unbalancedOrRepeated(fixture) == 0)
        let holds = try await fixture.database.query("""
            SELECT transaction_id, mode, status, amount_minor, captured_minor, resolved_by_transaction_id FROM accounting_holds
            WHERE company_id = \(company) ORDER BY amount_minor
            """).map { row -> String in
                "\(try row.decode("mode", as: String.self)) \(try row.decode("status", as: String.self)) "
                    + "\(try row.decode("amount_minor", as: Int64.self)) \(try row.decode("captured_minor", as: Int64.self)) "
                    + (try row.decode("transaction_id", as: String.self))
            }
        #expect(holds == ["live pending 700 0 \(live)", "test pending 1000 0 \(pending)", "test voided 3000 0 \(voided)",
                          "test posted 5000 4000 \(completed)"])

        // In a fresh batch order (completion before its pre-auth was ever seen) nothing is written twice either.
        try await consumer.handle(events.reversed())
        #expect(try await posting.count(fixture.database, "SELECT count(*) AS n FROM accounting_holds WHERE status = 'pending'") == 2)
        #expect(try await posting.count(fixture.database, "SELECT count(*) AS n FROM accounting_journal_entries") == 1)

        // The database refuses to change a resolved hold.
        await #expect(throws: (any Error).self) {
            _ = try await fixture.database.execute("UPDATE accounting_holds SET status = 'pending', resolved_at = NULL WHERE transaction_id = \(voided)")
        }
    }
}
