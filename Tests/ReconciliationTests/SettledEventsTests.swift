import Bootstrap
import Foundation
import Kernel
import Postgres
import Testing
@testable import Reconciliation

/// A close's `transaction.settled` events, appended after it has answered (`SettledEventsAppender`): exactly once
/// per settled line, with the ids and payloads the claim used to append, by the close's own step or, after a crash
/// between the claim's commit and that step, by the sweep; two appenders at once append once.
@Suite struct SettledEventsTests {
    /// The merchant's open items claimed as a close would, without the step after its answer (a crash right after
    /// the claim's commit); returns the new settlements.
    func claimWithoutAppending(_ fixture: ReconciliationFixture) async throws -> [SettlementRecord] {
        let clock = fixture.clock
        return try await CloseDayStore(database: fixture.database, eventLog: fixture.application.services.eventLog).claim(
            TenantContext(merchantId: fixture.merchantId, mode: .test), currencies: nil, emptyCurrency: "NZD",
            terminalId: "ALL", now: clock.now(), newId: { TypedID.generate(prefix: .settlement, clock: clock).rawValue })
    }

    func makeAppender(_ fixture: ReconciliationFixture, limits: SettledEventsAppender.Limits = .init()) -> SettledEventsAppender {
        SettledEventsAppender(services: fixture.application.services, limits: limits)
    }

    func owedCount(_ fixture: ReconciliationFixture) async throws -> Int64 {
        try await fixture.database.queryFirst("""
            SELECT count(*) AS n FROM reconciliation_settled_events_owed WHERE merchant_id = \(fixture.merchantId)
            """)?.decode("n") ?? -1
    }

    /// Checks the settlement's `transaction.settled` events: one per settled line (every item but PRE_AUTHs), no
    /// more, unique ids of the documented form, each payload exactly the item's, occurred at the close.
    func expectEventsOnce(_ fixture: ReconciliationFixture, settlementId: String,
                          sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let prefix = SettledEventsAppender.eventIdPrefix(settlementId)
        let row = try await fixture.database.queryFirst("""
            WITH lines AS (
                SELECT i.*, row_number() OVER (ORDER BY i.transaction_id) AS n FROM reconciliation_items i
                WHERE i.settlement_id = \(settlementId) AND i.type <> 'PRE_AUTH'
            ), events AS (
                SELECT * FROM event_log WHERE event_type = 'transaction.settled' AND payload->>'settlementId' = \(settlementId)
            )
            SELECT (SELECT count(*) FROM lines) AS lines,
                   (SELECT count(*) FROM events) AS events,
                   (SELECT count(DISTINCT event_id) FROM events) AS ids,
                   (SELECT count(*) FROM events e JOIN lines l ON l.transaction_id = e.resource_id
                    JOIN reconciliation_settlements s ON s.id = l.settlement_id
                    WHERE e.event_id = 'evt_' || \(prefix)::text || upper(lpad(to_hex(l.n), 7, '0'))
                      AND e.merchant_id = l.merchant_id AND e.mode = l.mode AND e.occurred_at = s.closed_at
                      AND e.payload::jsonb = jsonb_build_object('transactionId', l.transaction_id, 'settlementId', s.id,
                          'type', l.type, 'amount', l.amount, 'currency', s.currency)) AS exact
            """)
        let lines = try row?.decode("lines", as: Int64.self) ?? -1
        #expect(lines > 0, "the settlement has settled lines", sourceLocation: sourceLocation)
        #expect(try row?.decode("events", as: Int64.self) == lines, sourceLocation: sourceLocation)
        #expect(try row?.decode("ids", as: Int64.self) == lines, sourceLocation: sourceLocation)
        #expect(try row?.decode("exact", as: Int64.self) == lines, sourceLocation: sourceLocation)
    }

    /// A close answers, then its events appear exactly once per settled line (two currencies, a PRE_AUTH that
    /// settles nothing, a refund), and Transactions records every settlement id from them.
    @Test func eventsAppearExactlyOnceAfterAClose() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let first = try await fixture.sale(2500)
        try await fixture.sale(1200)
        try await fixture.sale(500, type: "REFUND", original: first)
        try await fixture.sale(4000, type: "PRE_AUTH")
        try await fixture.sale(700, currency: "AUD")
        try await fixture.settle()
        let close = await fixture.closeDay()
        #expect(close.status == 200)
        guard case .array(let settlements)? = close.json["settlements"], settlements.count == 2 else {
            Issue.record("two settlements expected: \(close.bodyText)")
            return
        }
        try await fixture.settledEventsAppended()
        for settlement in settlements {
            try await expectEventsOnce(fixture, settlementId: settlement["id"]?.stringValue ?? "")
        }
        // Nothing is owed any more: a sweep appends nothing, and the counts stay.
        #expect(try await makeAppender(fixture).sweep() == 0)
        for settlement in settlements {
            try await expectEventsOnce(fixture, settlementId: settlement["id"]?.stringValue ?? "")
        }
        try await fixture.settle()
    }

    /// A crash between the claim's commit and the append: the settlements stay owed, with no event yet; the close's
    /// own step and two sweeps then run at once, and every event is appended exactly once.
    @Test func theSweepAppendsWhatAClaimLeftOwedOnce() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        for amount in 1...8 { try await fixture.sale(Int64(amount) * 100) }
        try await fixture.sale(900, currency: "AUD")
        try await fixture.sale(300, type: "PRE_AUTH", currency: "AUD")
        try await fixture.settle()
        let created = try await claimWithoutAppending(fixture)
        #expect(created.count == 2)
        #expect(try await owedCount(fixture) == 2)
        let before = try await fixture.database.queryFirst("""
            SELECT count(*) AS n FROM event_log WHERE event_type = 'transaction.settled' AND merchant_id = \(fixture.merchantId)
            """)
        #expect(try before?.decode("n", as: Int64.self) == 0)

        let appender = makeAppender(fixture)
        async let own = appender.append(settlementId: created[0].id)
        async let sweepOne = appender.sweep()
        async let sweepTwo = appender.sweep()
        let ownAppended = try await own
        let swept = try await sweepOne + sweepTwo
        // Each settlement was appended by exactly one of them.
        #expect(swept + (ownAppended == nil ? 0 : 1) == 2)
        #expect(try await owedCount(fixture) == 0)
        for settlement in created { try await expectEventsOnce(fixture, settlementId: settlement.id) }
        // Appended is appended: later attempts find nothing owed.
        #expect(try await appender.append(settlementId: created[0].id) == nil)
        #expect(try await appender.sweep() == 0)
        for settlement in created { try await expectEventsOnce(fixture, settlementId: settlement.id) }
        try await fixture.settle()
    }

    /// The sweep runs as the module's background service, at startup and then every interval: a settlement left
    /// owed while it runs is appended without any close.
    @Test func theBackgroundSweepAppendsOwedEvents() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        #expect(fixture.application.backgroundServices.map(\.name).contains("reconciliation.settled-events"))
        try await fixture.sale(2500)
        try await fixture.sale(1300)
        try await fixture.settle()
        let created = try await claimWithoutAppending(fixture)
        var limits = SettledEventsAppender.Limits()
        limits.sweepIntervalSeconds = 0.05
        let sweeping = Task { [appender = makeAppender(fixture, limits: limits)] in await appender.sweepLoop() }
        defer { sweeping.cancel() }
        try await fixture.settledEventsAppended()
        try await expectEventsOnce(fixture, settlementId: created[0].id)
        try await fixture.settle()
    }

    /// Sales during closes: every settled sale gets exactly one `transaction.settled` event, naming the settlement
    /// that holds it.
    @Test func salesDuringClosesEachGetOneEvent() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let salesCount = 24
        var keys: [String] = []
        for _ in 0..<2 { keys.append(try await fixture.key(scopes: ["transactions:write", "transactions:read"])) }
        let salesKeys = keys
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<salesCount {
                group.addTask { try await fixture.sale(Int64(100 + index), key: salesKeys[index % salesKeys.count]) }
            }
            group.addTask {
                for _ in 0..<3 {
                    #expect(await fixture.closeDay().status == 200)
                    try await Task.sleep(for: .milliseconds(15))
                }
            }
            try await group.waitForAll()
        }
        try await fixture.settle()
        #expect(await fixture.closeDay().status == 200)
        try await fixture.settledEventsAppended()
        let check = try await fixture.database.queryFirst("""
            WITH events AS (
                SELECT * FROM event_log WHERE event_type = 'transaction.settled' AND merchant_id = \(fixture.merchantId)
            )
            SELECT (SELECT count(*) FROM reconciliation_items WHERE merchant_id = \(fixture.merchantId)
                    AND settlement_id IS NOT NULL) AS settled,
                   (SELECT count(*) FROM events) AS events,
                   (SELECT count(DISTINCT resource_id) FROM events) AS transactions,
                   (SELECT count(*) FROM events e JOIN reconciliation_items i ON i.transaction_id = e.resource_id
                    WHERE i.settlement_id = e.payload->>'settlementId') AS matching
            """)
        #expect(try check?.decode("settled", as: Int64.self) == Int64(salesCount))
        #expect(try check?.decode("events", as: Int64.self) == Int64(salesCount))
        #expect(try check?.decode("transactions", as: Int64.self) == Int64(salesCount))
        #expect(try check?.decode("matching", as: Int64.self) == Int64(salesCount))
        try await fixture.settle()
    }

    /// A close with nothing open, or only a PRE_AUTH (it settles no line), owes no event.
    @Test func aCloseWithoutSettledLinesOwesNothing() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        #expect(await fixture.closeDay().status == 200)
        #expect(try await owedCount(fixture) == 0)
        try await fixture.sale(4000, type: "PRE_AUTH")
        try await fixture.settle()
        fixture.clock.advance(seconds: 1)
        #expect(await fixture.closeDay().status == 200)
        #expect(try await owedCount(fixture) == 0)
        let settled = try await fixture.database.queryFirst("""
            SELECT count(*) AS n FROM event_log WHERE event_type = 'transaction.settled' AND merchant_id = \(fixture.merchantId)
            """)
        #expect(try settled?.decode("n", as: Int64.self) == 0)
    }
}
