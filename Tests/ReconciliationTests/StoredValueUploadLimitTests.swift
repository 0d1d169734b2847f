import Foundation
import Kernel
import Postgres
import Testing
@testable import Reconciliation

/// `POST /api/reconcile` counts in each device's batch-upload bucket (Auth's `deviceBatchUpload`: 40 batches at
/// once, then 2 a second; docs/reconciliation.md): a terminal back from a long offline period uploads its backlog
/// at once, its other calls keep their own bucket, and past the burst the answer is 429 `rate_limited` with an
/// integer Retry-After and nothing applied. The clock stands still unless a test moves it.
@Suite struct StoredValueUploadLimitTests {
    typealias Fixture = StoredValueFixture

    /// One batch from `role` without moving the fixture's clock (`fixture.reconcile` moves it a second).
    private func upload(_ fixture: Fixture, _ events: ArraySlice<JSONValue>, as role: String = "terminal") async -> Response {
        var headers = HTTPHeaders()
        headers.add("Authorization", "Bearer " + (fixture.tokens[role] ?? ""))
        return await fixture.client.send(.post, "/api/reconcile", headers: headers, json: [
            "terminalId": .int(Int64(fixture.terminalIds[role] ?? 0)), "events": .array(Array(events))])
    }

    private func policy(_ fixture: Fixture, as role: String = "terminal") async -> Response {
        var headers = HTTPHeaders()
        headers.add("Authorization", "Bearer " + (fixture.tokens[role] ?? ""))
        return await fixture.client.send(.get, "/api/policy", headers: headers)
    }

    /// Card X's reconciled counter, read without a request (a request through the fixture moves its clock).
    private func counter(_ fixture: Fixture) async throws -> Int64 {
        try await fixture.database.queryFirst("""
            SELECT counter FROM reconciliation_cards WHERE merchant_id = \(fixture.merchantId) AND card_id = \(Fixture.cardX)
            """)?.decode("counter") ?? -1
    }

    /// The case: 20 batches of 500 events back to back, with no time passing, are all accepted.
    @Test func aTerminalUploadsABacklogOfTwentyFullBatchesAtOnce() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let events = fixture.chain(from: 350_000, counter: 17, Array(repeating: (OfflineEventType.debit, Int64(1)), count: 10_000))
        for batch in 0..<20 {
            let response = await upload(fixture, events[(batch * 500)..<((batch + 1) * 500)])
            #expect(response.status == 200, "batch \(batch): \(response.status) \(response.bodyText.prefix(200))")
            #expect(response.json["accepted"] == 500)
            #expect(response.headers["X-RateLimit-Limit"] == "120")
        }
        let card = await fixture.card()
        #expect(card["counter"] == 10_017)
        #expect(card["balance"] == 340_000)
        #expect(try await fixture.count("batches") == 20)
        // The upload did not touch the device's bucket for its other calls.
        let policy = await policy(fixture)
        #expect(policy.status == 200)
        #expect(policy.headers["X-RateLimit-Limit"] == "60")
        #expect(policy.headers["X-RateLimit-Remaining"] == "9")
    }

    /// Abuse stays limited: past 40 batches the 41st is 429 with the documented body and an integer Retry-After,
    /// and applies nothing; another device is not affected; then two batches a second pass.
    @Test func pastTheBurstAnUploadIsRateLimitedAndAppliesNothing() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let events = fixture.chain(from: 350_000, counter: 17, Array(repeating: (OfflineEventType.debit, Int64(100)), count: 44))
        for index in 0..<40 {
            #expect(await upload(fixture, events[index...index]).status == 200)
        }
        let limited = await upload(fixture, events[40...40])
        #expect(limited.isTerminalError(429, "rate_limited"))
        let retryAfter = try #require(Int(limited.headers["Retry-After"] ?? ""))
        #expect(retryAfter >= 1)
        #expect(limited.headers["X-RateLimit-Limit"] == "120")
        #expect(limited.headers["X-RateLimit-Remaining"] == "0")
        #expect(try await fixture.count("events") == 40)
        #expect(try await fixture.count("batches") == 40)
        #expect(try await counter(fixture) == 57)
        // The same device's other calls and another device's uploads have their own buckets.
        #expect(await policy(fixture).status == 200)
        #expect(await upload(fixture, events[40...40], as: "station").json["accepted"] == 1)
        // Two batches a second after the burst: the third within the same second is refused again.
        fixture.clock.advance(seconds: Double(retryAfter))
        #expect(await upload(fixture, events[41...41]).json["accepted"] == 1)
        #expect(await upload(fixture, events[42...42]).json["accepted"] == 1)
        #expect(await upload(fixture, events[43...43]).isTerminalError(429, "rate_limited"))
        #expect(try await counter(fixture) == 60)
    }

    /// 50 batches of one terminal at once, each on its own card: exactly the 40 of the burst are applied, the other
    /// 10 are 429 and write nothing (no event, no batch row, no balance change).
    @Test func fiftyParallelUploadsOfOneTerminalApplyExactlyTheBurst() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let cards = (0..<50).map { (index: Int) -> String in
            let hex = String(index, radix: 16)
            return "c0ffee" + String(repeating: "0", count: 6 - hex.count) + hex
        }
        var batches: [[JSONValue]] = []
        for card in cards {
            try await fixture.registerCard(card)
            try await fixture.setCard(card, balance: 350_000, counter: 17)
            batches.append(fixture.chain(card, from: 350_000, counter: 17, [(.debit, 1_000)]))
        }
        let statuses = await withTaskGroup(of: Int.self) { group in
            for batch in batches { group.addTask { await upload(fixture, batch[...]).status } }
            var statuses: [Int] = []
            for await status in group { statuses.append(status) }
            return statuses
        }
        #expect(statuses.filter { $0 == 200 }.count == 40)
        #expect(statuses.filter { $0 == 429 }.count == 10)
        let applied = try await fixture.database.queryFirst("""
            SELECT count(*) AS events, coalesce(sum(amount), 0)::bigint AS debited FROM reconciliation_card_events
            WHERE card_id LIKE 'c0ffee%'
            """)
        #expect(try applied?.decode("events", as: Int64.self) == 40)
        #expect(try applied?.decode("debited", as: Int64.self) == 40_000)
        let moved = try await fixture.database.queryFirst("""
            SELECT count(*) AS n FROM reconciliation_cards WHERE card_id LIKE 'c0ffee%' AND balance = 349000
            """)
        #expect(try moved?.decode("n", as: Int64.self) == 40)
        #expect(try await fixture.count("batches") == 40)
    }
}
