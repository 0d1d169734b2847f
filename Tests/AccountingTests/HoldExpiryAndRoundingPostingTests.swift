@testable import Accounting
import AtlasTestSupport
import Auth
import Bootstrap
import Foundation
import Kernel
import Postgres
import Testing

/// Pre-authorization expiry releasing holds, the pending-holds report, and rounding-API records posting their rounding:
/// through the real consumer and PostgreSQL, exactly once, test events into the test ledger only.
@Suite(.serialized) struct HoldExpiryAndRoundingPostingTests {
    let posting = AutomaticPostingTests()
    let ledger = StoredValueAndHoldLedgerTests()
    static let day: TimeInterval = 86_400

    /// An event as its module appends it, at `occurredAt`.
    func event(_ fixture: AccountingFixture, _ type: String, mode: Mode = .live, merchantId: String? = nil, sequence: Int64,
               at occurredAt: Date, _ payload: JSONValue) -> LoggedEvent {
        LoggedEvent(position: EventPosition(writerTransactionId: UInt64.max / 2, sequence: sequence),
                    event: DomainEvent(type: type, tenant: TenantContext(merchantId: merchantId ?? fixture.harness.merchantId, mode: mode),
                                       resourceId: payload["transactionId"]?.stringValue ?? payload["recordId"]?.stringValue ?? "",
                                       occurredAt: occurredAt, payload: payload))
    }

    func consumer(_ fixture: AccountingFixture) -> LedgerPostingConsumer {
        LedgerPostingConsumer(database: fixture.database, clock: fixture.harness.clock, logger: TestLogger.quiet)
    }

    /// Delivers `events` the ways the event log may: twice as a batch, one at a time, reversed.
    func deliverRepeatedly(_ fixture: AccountingFixture, _ events: [LoggedEvent]) async throws {
        let consumer = self.consumer(fixture)
        try await consumer.handle(events)
        try await consumer.handle(events)
        for event in events { try await consumer.handle([event]) }
        try await consumer.handle(events.reversed())
    }

    func holds(_ fixture: AccountingFixture, _ company: String) async throws -> [String] {
        try await fixture.database.query("""
            SELECT transaction_id, mode, status, resolved_on::text AS resolved_on FROM accounting_holds WHERE company_id = \(company)
            ORDER BY transaction_id
            """).map { "\($0.text("mode") ?? "") \($0.text("status") ?? "") \($0.text("resolved_on") ?? "-") \($0.text("transaction_id") ?? "")" }
    }

    /// Runs Transactions' expiry sweep as `atlas serve` does (its background service) until `done` holds.
    func runExpirySweep(_ fixture: AccountingFixture, until done: @escaping @Sendable () async throws -> Bool) async throws {
        let service = try #require(fixture.harness.application.backgroundServices.first { $0.name == "transactions.pre-auth-expiry" })
        let task = Task { await service.run() }
        defer { task.cancel() }
        for _ in 0..<200 {
            if try await done() { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("the expiry sweep did not run within 5 s")
    }

    @Test func anExpiredPreAuthorizationReleasesItsHoldExactlyOnce() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let testKey = try await fixture.harness.secretKey(mode: .test)
        let expiring = try await posting.sale(fixture, key: testKey, ["type": "PRE_AUTH", "amount": 5_000, "currency": "USD"])
        let expiringId = try #require(expiring["transactionId"]?.stringValue)
        let completed = try await posting.sale(fixture, key: testKey, ["type": "PRE_AUTH", "amount": 2_000, "currency": "USD"])
        _ = try await posting.sale(fixture, key: testKey, ["type": "PRE_AUTH_COMPLETE", "amount": 2_000, "currency": "USD",
                                                            "originalTransactionId": completed["transactionId"] ?? .null])
        fixture.harness.clock.advance(seconds: 7 * Self.day)
        let database = fixture.database
        try await runExpirySweep(fixture) {
            try await database.queryFirst("SELECT count(*) AS n FROM event_log WHERE event_type = 'transaction.expired'")?
                .decode("n", as: Int64.self) == 1
        }
        // Transactions refuses the completion now, so nothing can follow the expiry.
        var headers = HTTPHeaders()
        headers.add("X-Api-Key", testKey)
        let late = await fixture.client.send(.post, "/v1/transaction/sale", headers: headers, json: [
            "type": "PRE_AUTH_COMPLETE", "amount": 5_000, "currency": "USD", "originalTransactionId": .string(expiringId)])
        #expect(late.status == 409 && late.json["error"] == "PRE_AUTH_EXPIRED")

        let events = try await posting.loggedEvents(fixture.database)
        let expiry = try #require(events.first { $0.event.type == "transaction.expired" })
        try await deliverRepeatedly(fixture, events)
        let today = AccountingInput.day(of: fixture.harness.clock.now())
        let stored = try await holds(fixture, company)
        #expect(stored.contains("test expired \(today) \(expiringId)"))
        #expect(stored.count == 2 && stored.filter { $0.hasPrefix("test posted ") }.count == 1)
        let resolution = try await fixture.database.queryFirst(
            "SELECT resolved_event_id, captured_minor, resolved_by_transaction_id FROM accounting_holds WHERE transaction_id = \(expiringId)")
        #expect(resolution?.text("resolved_event_id") == expiry.event.id.rawValue)
        #expect(resolution?.text("captured_minor") == "0" && resolution?.text("resolved_by_transaction_id") == nil)
        // Only the completion posts; the expiry releases without an entry.
        #expect(try await posting.count(fixture.database, "SELECT count(*) AS n FROM accounting_journal_entries") == 1)
        #expect(try await ledger.unbalancedOrRepeated(fixture) == 0)
        #expect(try await BalanceCheck(database: fixture.database).drifts().isEmpty)
        // A redelivered expiry, or one for a PRE_AUTH without a hold (approved before the company existed), changes nothing.
        let orphan = event(fixture, "transaction.expired", mode: .test, sequence: 9_001, at: fixture.harness.clock.now(),
                           ["transactionId": "txn_01M8Y6ASKH7E4XSXZ2T6NORPHN", "type": "PRE_AUTH", "status": "EXPIRED"])
        try await consumer(fixture).handle([expiry, orphan])
        #expect(try await holds(fixture, company) == stored)
        await #expect(throws: (any Error).self) {
            try await consumer(fixture).handle([event(fixture, "transaction.expired", mode: .test, sequence: 9_002,
                                                      at: fixture.harness.clock.now(), ["type": "PRE_AUTH"])])
        }
    }

    @Test func thePendingHoldsReportShowsWhatWasHeldOnEachDay() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        let start = fixture.harness.clock.now()
        let days = (0..<4).map { AccountingInput.day(of: start.addingTimeInterval(Double($0) * Self.day)) }
        func at(_ day: Int) -> Date { start.addingTimeInterval(Double(day) * Self.day) }
        let (first, second, third) = ("txn_01M8Y6ASKH7E4XSXZ2T6NHOLD1", "txn_01M8Y6ASKH7E4XSXZ2T6NHOLD2", "txn_01M8Y6ASKH7E4XSXZ2T6NHOLD3")
        func preAuth(_ id: String, _ amount: Int64, mode: Mode = .live, day: Int, _ sequence: Int64) -> LoggedEvent {
            event(fixture, "transaction.approved", mode: mode, sequence: sequence, at: at(day),
                  ["transactionId": .string(id), "type": "PRE_AUTH", "tender": "CARD", "amount": .int(amount), "currency": "USD"])
        }
        let events = [
            preAuth(first, 700, day: 0, 1), preAuth(second, 300, day: 0, 2), preAuth(third, 1_000, day: 1, 3),
            preAuth("txn_01M8Y6ASKH7E4XSXZ2T6NTEST1", 900, mode: .test, day: 0, 4),
            event(fixture, "transaction.approved", sequence: 5, at: at(2), [
                "transactionId": "txn_01M8Y6ASKH7E4XSXZ2T6NCOMPL", "type": "PRE_AUTH_COMPLETE", "tender": "CARD", "amount": 500,
                "currency": "USD", "originalTransactionId": .string(first)]),
            event(fixture, "transaction.expired", sequence: 6, at: at(2), ["transactionId": .string(second), "type": "PRE_AUTH",
                                                                            "status": "EXPIRED"]),
        ]
        try await deliverRepeatedly(fixture, events)

        func report(_ query: String, token: String? = nil) async -> Response {
            await fixture.send(.get, "/api/v1/reports/pending-holds?company_id=\(company)" + query, token: token)
        }
        func ids(_ response: Response) -> [String] {
            guard case .array(let items)? = response.json["items"] else { return [] }
            return items.compactMap { $0["transaction_id"]?.stringValue }
        }
        let clearing = try #require(accounts["1150"])
        let revenue = try #require(accounts["4000"])
        let dayZero = await report("&as_of_date=\(days[0])")
        #expect(dayZero.status == 200)
        #expect(ids(dayZero) == [first, second] && dayZero.json["total"] == 2 && dayZero.json["total_pending"] == "10.00")
        #expect(dayZero.json["currency"] == "USD" && dayZero.json["as_of_date"] == .string(days[0]))
        guard case .array(let perAccount)? = dayZero.json["accounts"] else { Issue.record("no accounts"); return }
        #expect(perAccount.map { "\($0["account_id"]?.stringValue == clearing ? "clearing" : $0["account_id"]?.stringValue == revenue ? "revenue" : "?") \($0["debits_pending"]?.stringValue ?? "") \($0["credits_pending"]?.stringValue ?? "")" }
                == ["clearing 10.00 0.00", "revenue 0.00 10.00"])

        let dayOne = await report("&as_of_date=\(days[1])")
        #expect(ids(dayOne) == [first, second, third] && dayOne.json["total_pending"] == "20.00")
        guard case .array(let items)? = dayOne.json["items"] else { Issue.record("no items"); return }
        #expect(items.map { "\($0["status"]?.stringValue ?? "") \($0["resolved_on"]?.stringValue ?? "-") \($0["amount"]?.stringValue ?? "")" }
                == ["posted \(days[2]) 7.00", "expired \(days[2]) 3.00", "pending - 10.00"])
        #expect(items.first?["debit_account_id"]?.stringValue == clearing && items.first?["credit_account_id"]?.stringValue == revenue)
        #expect(items.first?["authorized_on"]?.stringValue == days[0])
        let dayTwo = await report("&as_of_date=\(days[2])")
        #expect(ids(dayTwo) == [third] && dayTwo.json["total_pending"] == "10.00")

        // Pages and order.
        let page = await report("&as_of_date=\(days[1])&page_size=1&page=2")
        #expect(ids(page) == [second] && page.json["total"] == 3 && page.json["has_next"] == true && page.json["page"] == 2)
        let offset = await report("&as_of_date=\(days[1])&limit=2&offset=2")
        #expect(ids(offset) == [third] && offset.json["has_next"] == false)
        #expect(ids(await report("&as_of_date=\(days[1])&sort_order=desc")) == [third, second, first])
        // A day before anything was held: nothing.
        let before = await report("&as_of_date=2020-01-01")
        #expect(ids(before) == [] && before.json["total_pending"] == "0.00" && before.json["accounts"] == .array([]))

        // Bad input: the documented 4xx bodies.
        for (query, field) in [("&as_of_date=2026-02-30", "as_of_date"), ("&as_of_date=yesterday", "as_of_date"),
                               ("&page_size=0", "page_size"), ("&page_size=101", "page_size"), ("&page=0", "page"),
                               ("&limit=501", "limit"), ("&offset=-1", "offset"), ("&sort_order=up", "sort_order")] {
            let refused = await report(query)
            #expect(refused.status == 422, "\(query): \(refused.status)")
            #expect(refused.json["status_code"]?.intValue == 422 && refused.firstErrorField == field && refused.detail != nil, "\(query)")
        }
        let notUUID = await fixture.send(.get, "/api/v1/reports/pending-holds?company_id=not-a-uuid")
        #expect(notUUID.status == 404 && notUUID.json["status_code"]?.intValue == 404 && notUUID.json["errors"] == .array([]))
        let unknown = await fixture.send(.get, "/api/v1/reports/pending-holds?company_id=\(UUID().uuidString.lowercased())")
        #expect(unknown.status == 404 && unknown.detail != nil)
        let employee = try await fixture.token(.employee)
        let refused = await report("", token: employee)
        #expect(refused.status == 403 && refused.json["status_code"]?.intValue == 403)
        for role in [UserRole.auditor, .bookkeeper, .accountant] {
            #expect(await report("&as_of_date=\(days[1])", token: try await fixture.token(role)).status == 200)
        }
        let anonymous = await fixture.client.send(.get, "/api/v1/reports/pending-holds")
        #expect(anonymous.status == 401 && anonymous.json["status_code"]?.intValue == 401)

        // Default: today by the clock (a fresh sign-in: access tokens live one hour).
        fixture.harness.clock.advance(seconds: 3 * Self.day)
        let today = await report("", token: try await fixture.token(.owner))
        #expect(today.json["as_of_date"] == .string(days[3]) && ids(today) == [third])
    }

    /// A rounding-API sale rounded up 2, one rounded down 2 and the first one's void, in test and live mode, plus a
    /// sale of a merchant without a company: each posts its rounding once on 7900 against cash, into its mode's ledger.
    @Test func roundingRecordsPostTheirRoundingOnceForMerchantsWithACompany() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        _ = try await fixture.company()
        let harness = fixture.harness
        func sell(_ key: String, merchant: String, subtotal: Int64) async throws -> String {
            var headers = HTTPHeaders()
            headers.add("x-api-key", key)
            let response = await fixture.client.send(.post, "/api/v1/transaction", headers: headers, json: [
                "merchant_id": .string(merchant), "subtotal_cents": .int(subtotal), "tax_total_cents": 200,
                "payment_method": "cash", "zip_code": "85001"])
            guard response.status == 200, let id = response.json["transaction"]?["id"]?.stringValue else {
                throw HarnessError("rounding sale failed: \(response.status) \(response.bodyText)")
            }
            return id
        }
        let testKey = try await harness.roleKey("merchant", mode: .test)
        let up = try await sell(testKey, merchant: harness.merchantId, subtotal: 523)
        let down = try await sell(testKey, merchant: harness.merchantId, subtotal: 522)
        var headers = HTTPHeaders()
        headers.add("x-api-key", testKey)
        let void = await fixture.client.send(.post, "/api/v1/transaction/void", headers: headers, json: [
            "original_transaction_id": .string(up), "void_reason": "customer_changed_mind", "voided_by": "EMP-001"])
        #expect(void.status == 200)
        let live = try await sell(try await harness.roleKey("merchant", mode: .live), merchant: harness.merchantId, subtotal: 523)
        let stranger = try await harness.auth.createMerchant(organizationId: harness.organizationId, name: "No books")
        let strangerKey = try await harness.auth.createRoleKey(merchantId: stranger, mode: .test, role: "merchant").secret
        _ = try await sell(strangerKey, merchant: stranger, subtotal: 523)

        let events = try await posting.loggedEvents(fixture.database).filter { $0.event.type == "rounding.recorded" }
        #expect(events.count == 5)
        try await deliverRepeatedly(fixture, events)
        func lines(_ recordId: String) async throws -> [String] {
            let event = try #require(events.first { $0.event.resourceId == recordId })
            return try await ledger.lines(fixture, eventId: event.event.id.rawValue)
        }
        #expect(try await lines(up) == ["debit 1000 2", "credit 7900 2"])
        #expect(try await lines(down) == ["debit 7900 2", "credit 1000 2"])
        let voidId = try #require(void.json["void"]?["id"]?.stringValue)
        #expect(try await lines(voidId) == ["debit 7900 2", "credit 1000 2"])
        #expect(try await lines(live) == ["debit 1000 2", "credit 7900 2"])
        #expect(try await posting.count(fixture.database, "SELECT count(*) AS n FROM accounting_journal_entries WHERE mode = 'test'") == 3)
        #expect(try await posting.count(fixture.database, "SELECT count(*) AS n FROM accounting_journal_entries WHERE mode = 'live'") == 1)
        #expect(try await posting.count(fixture.database, """
            SELECT count(*) AS n FROM accounting_journal_entries WHERE source_type = 'rounding' AND source_id = \(up) AND reference = \(up)
            """) == 1)
        #expect(try await ledger.unbalancedOrRepeated(fixture) == 0)
        #expect(try await BalanceCheck(database: fixture.database).drifts().isEmpty)
        // A payload without its change cannot post: the consumer throws (the event log retries, then parks it).
        await #expect(throws: (any Error).self) {
            try await consumer(fixture).handle([event(fixture, "rounding.recorded", mode: .test, sequence: 9_003, at: harness.clock.now(),
                                                      ["recordId": "TXN-2026-01-01-0000000F", "recordType": "SALE", "currency": "USD"])])
        }
    }
}
