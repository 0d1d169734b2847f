import Foundation
import Kernel
import Postgres
import Testing
@testable import Reconciliation

/// Terminal-api A27–A37: `POST /api/reconcile` and `POST /api/terminal-report`, bad batches (nothing
/// half-applied), tenant isolation and a batch submitted twice in parallel.
@Suite struct StoredValueReconcileTests {
    typealias Fixture = StoredValueFixture

    @Test func a27ThreeValidDebits() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let events = fixture.chain(from: 350_000, counter: 17, [(.debit, 10_000), (.debit, 20_000), (.debit, 5_000)])
        let response = await fixture.reconcile(events)
        #expect(response.status == 200)
        #expect(response.json["accepted"] == 3)
        #expect(response.json["rejected"] == 0)
        #expect(response.json["flagged"] == 0)
        #expect(response.json["flags"] == [])
        #expect(try await fixture.count("events") == 3)
        let card = await fixture.card()
        #expect(card["counter"] == 20)
        #expect(card["balance"] == 315_000)
        #expect(try await fixture.count("batches") == 1)
        let debited = try await fixture.database.query("""
            SELECT payload FROM event_log WHERE event_type = 'stored_value.debited' AND resource_id = \(Fixture.cardX)
            """)
        #expect(debited.count == 3)
        let batch = try #require(try await fixture.database.queryFirst("SELECT * FROM reconciliation_batches"))
        #expect(try batch.decode("event_count", as: Int.self) == 3)
        #expect(try batch.decode("accepted", as: Int.self) == 3)
        #expect(try batch.decode("terminal_id", as: Int.self) == fixture.terminalIds["terminal"])
        #expect(try batch.decode("merchant_id", as: String.self) == fixture.merchantId)
    }

    @Test func a28SameBatchAgainIsDuplicate() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let events = fixture.chain(from: 350_000, counter: 17, [(.debit, 10_000), (.debit, 20_000), (.debit, 5_000)])
        #expect(await fixture.reconcile(events).json["accepted"] == 3)
        let again = await fixture.reconcile(events)
        #expect(again.isTerminalError(409, "duplicate_counter"))
        #expect(try await fixture.count("events") == 3)
        #expect(await fixture.card()["balance"] == 315_000)
        // Mixed: two duplicates and a new event → 200 with the duplicates rejected per event.
        let next = fixture.chain(from: 315_000, counter: 20, hash: Encoding.hexDecode(events[2]["hash"]!.stringValue!)!,
                                 at: events[2]["timestamp"]!.intValue!, [(.debit, 1_000)])
        let mixed = await fixture.reconcile(Array(events[1...2]) + next)
        #expect(mixed.status == 200)
        #expect(mixed.json["accepted"] == 1)
        #expect(mixed.json["rejected"] == 2)
        #expect(mixed.reasons.first == "duplicate_counter")
        #expect(await fixture.card()["balance"] == 314_000)
    }

    @Test func a29BrokenChainBlocksTheCard() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        var events = fixture.chain(from: 350_000, counter: 17, [(.debit, 10_000), (.debit, 20_000)])
        if case .object(var second) = events[1] {
            second["hash"] = "ffffffffffff"
            events[1] = .object(second)
        }
        let response = await fixture.reconcile(events)
        #expect(response.status == 200)
        #expect(response.json["accepted"] == 1)
        #expect(response.json["rejected"] == 1)
        #expect(response.json["flags"] == [["cardId": .string(Fixture.cardX), "counter": 19, "reason": "hash_mismatch"]])
        let card = await fixture.card()
        #expect(card["status"] == "BLOCKED_TAMPER")
        #expect(card["counter"] == 18)
        #expect(card["balance"] == 340_000)
        #expect(try await fixture.count("reports") == 1)
        #expect(try await fixture.count("events") == 1)
    }

    @Test func a30AmountAboveSingleTransactionLimit() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        try await fixture.setCard(Fixture.cardX, balance: 2_000_000, counter: 17)
        let events = fixture.chain(from: 2_000_000, counter: 17, [(.debit, 1_000_001)])
        let response = await fixture.reconcile(events)
        #expect(response.json["rejected"] == 1)
        #expect(response.reasons.first == "single_tx_limit_exceeded")
        #expect(await fixture.card()["balance"] == 2_000_000)
        #expect(try await fixture.count("events") == 0)
    }

    @Test func a31DailyLimitFlagsOnlyTheEventThatCrossesIt() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        try await fixture.setCard(Fixture.cardX, balance: 5_000_000, counter: 17)
        // 1.4 M already reconciled today.
        let earlier = fixture.chain(from: 5_000_000, counter: 17, Array(repeating: (.debit, 200_000), count: 7))
        #expect(await fixture.reconcile(earlier).json["accepted"] == 7)
        let last = earlier[6]
        let events = fixture.chain(from: 3_600_000, counter: 24, hash: Encoding.hexDecode(last["hash"]!.stringValue!)!,
                                   at: last["timestamp"]!.intValue!, [(.debit, 200_000), (.debit, 300_000), (.debit, 200_000)])
        let response = await fixture.reconcile(events)
        #expect(response.json["accepted"] == 3)
        #expect(response.json["flagged"] == 1)
        #expect(response.json["flags"] == [["cardId": .string(Fixture.cardX), "counter": 27, "reason": "daily_limit_exceeded"]])
        #expect(await fixture.card()["status"] == "ACTIVE")
        let flagged = try await fixture.database.queryFirst("""
            SELECT count(*) AS n FROM reconciliation_card_events WHERE review_flag AND counter = 27
            """)
        #expect(try flagged?.decode("n", as: Int.self) == 1)
    }

    @Test func a32BalanceAfterInconsistentWithHistory() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        // A correctly chained event whose balanceAfter is not 350000 − 10000.
        let hash = EventChain.hash(deltaTime: 60, amount: 10_000, balanceAfter: 345_000, flags: 1, previous: Fixture.chainHash,
                                   crypto: fixture.crypto)
        let event: JSONValue = ["cardId": .string(Fixture.cardX), "counter": 18, "type": "debit", "amount": 10_000,
                                "balanceAfter": 345_000, "timestamp": .int(Fixture.chainStart + 60), "hash": .string(Encoding.hex(hash))]
        let response = await fixture.reconcile([event])
        #expect(response.json["rejected"] == 1)
        #expect(response.reasons.first == "balance_mismatch")
        #expect(await fixture.card()["balance"] == 350_000)
        #expect(await fixture.card()["status"] == "ACTIVE")
    }

    @Test func a33MalformedBatches() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let good = fixture.chain(from: 350_000, counter: 17, [(.debit, 10_000), (.debit, 20_000)])
        func with(_ index: Int, _ key: String, _ value: JSONValue) -> [JSONValue] {
            var events = good
            if case .object(var event) = events[index] {
                event[key] = value
                events[index] = .object(event)
            }
            return events
        }
        let terminalId = JSONValue.int(Int64(fixture.terminalIds["terminal"]!))
        let bodies: [(String, JSONValue)] = [
            ("no events", ["terminalId": terminalId]),
            ("empty events", ["terminalId": terminalId, "events": []]),
            ("counter x", ["terminalId": terminalId, "events": .array(with(0, "counter", "x"))]),
            ("counter beyond uint64", ["terminalId": terminalId, "events": .array(with(0, "counter", .double(18_446_744_073_709_551_616)))]),
            ("counter beyond int64", ["terminalId": terminalId, "events": .array(with(0, "counter", .double(9_223_372_036_854_775_808)))]),
            ("negative counter", ["terminalId": terminalId, "events": .array(with(0, "counter", -1))]),
            ("amount beyond uint32", ["terminalId": terminalId, "events": .array(with(1, "amount", 4_294_967_296))]),
            ("balanceAfter beyond uint32", ["terminalId": terminalId, "events": .array(with(1, "balanceAfter", 4_294_967_296))]),
            ("timestamp beyond uint32", ["terminalId": terminalId, "events": .array(with(1, "timestamp", 4_294_967_296))]),
            ("unknown type", ["terminalId": terminalId, "events": .array(with(1, "type", "refund"))]),
            ("short hash", ["terminalId": terminalId, "events": .array(with(1, "hash", "abcd"))]),
            ("bad card id", ["terminalId": terminalId, "events": .array(with(1, "cardId", "a1b2c3d4e5fg"))]),
            ("counters out of order", ["terminalId": terminalId, "events": .array([good[1], good[0]])]),
            ("repeated counter", ["terminalId": terminalId, "events": .array([good[0], good[0]])]),
            ("terminalId beyond uint16", ["terminalId": 65_536, "events": .array(good)]),
            ("another terminal", ["terminalId": .int(Int64(fixture.terminalIds["station"]!)), "events": .array(good)]),
            ("too many events", ["terminalId": terminalId,
                                 "events": .array(Array(repeating: good[0], count: ReconcileLimits.batchEventsMax + 1))]),
        ]
        for (name, body) in bodies {
            let response = await fixture.post("/api/reconcile", token: "terminal", body)
            #expect(response.isTerminalError(400, "malformed_payload"), "\(name): \(response.status) \(response.bodyText)")
        }
        // Nothing was applied or recorded.
        #expect(try await fixture.count("events") == 0)
        #expect(try await fixture.count("batches") == 0)
        #expect(await fixture.card()["balance"] == 350_000)
        #expect(await fixture.card()["counter"] == 17)
    }

    @Test func a34OtherTenantsCardInABatch() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let own = fixture.chain(from: 350_000, counter: 17, [(.debit, 10_000)])
        let foreign = fixture.chain(Fixture.cardB, from: 0, counter: 0, [(.checkin, 0)])
        let response = await fixture.reconcile(own + foreign)
        #expect(response.json["accepted"] == 1)
        #expect(response.json["rejected"] == 1)
        #expect(response.json["flags"] == [["cardId": .string(Fixture.cardB), "counter": 1, "reason": "invalid_card"]])
        #expect(try await fixture.count("events", card: Fixture.cardB) == 0)
        // Cross-mode: a test-mode card of the same merchant is not visible to a live device either.
        try await fixture.database.execute("UPDATE reconciliation_cards SET mode = 'test' WHERE card_id = \(Fixture.cardX)")
        let crossMode = await fixture.reconcile(fixture.chain(from: 340_000, counter: 18, [(.checkin, 0)]))
        #expect(crossMode.reasons.first == "invalid_card")
        #expect(await fixture.get("/api/cards/\(Fixture.cardX)", token: "station").isTerminalError(404, "card_not_found"))
    }

    @Test func a35ReconcileAsScoutIsForbidden() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let events = fixture.chain(from: 350_000, counter: 17, [(.debit, 10_000)])
        #expect(await fixture.reconcile(events, as: "scout").isTerminalError(403, "insufficient_role"))
        #expect(try await fixture.count("events") == 0)
    }

    @Test func gateSubmitsCheckinsButNotDebits() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let events = fixture.chain(from: 350_000, counter: 17, [(.checkin, 0), (.debit, 1_000)])
        let response = await fixture.reconcile(events, as: "gate")
        #expect(response.json["accepted"] == 1)
        #expect(response.reasons.first == "operation_not_allowed")
        #expect(await fixture.card()["counter"] == 18)
    }

    @Test func counterGapAndStaleCounterAreRejected() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let events = fixture.chain(from: 350_000, counter: 17, [(.debit, 1_000), (.debit, 1_000)])
        let gap = await fixture.reconcile([events[1]])
        #expect(gap.reasons.first == "counter_gap")
        let stale = fixture.chain(from: 350_000, counter: 10, [(.debit, 1_000)])
        #expect(await fixture.reconcile(stale).reasons.first == "stale_counter")
        #expect(try await fixture.count("events") == 0)
        // The gap filled, both apply.
        #expect(await fixture.reconcile(events).json["accepted"] == 2)
    }

    @Test func a36TerminalReports() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let terminalId = JSONValue.int(Int64(fixture.terminalIds["terminal"]!))
        #expect(await fixture.reconcile(fixture.chain(from: 350_000, counter: 17, [(.debit, 1_000)])).json["accepted"] == 1)
        let replay = await fixture.post("/api/terminal-report", token: "terminal", [
            "terminalId": terminalId, "cardId": .string(Fixture.cardX), "eventType": "replay", "details": "counter went back",
            "counter": 18, "timestamp": 1_764_600_000])
        #expect(replay.status == 204)
        #expect(replay.body.isEmpty)
        #expect(await fixture.card()["status"] == "BLOCKED_FRAUD")
        let flagged = try await fixture.database.queryFirst("SELECT count(*) AS n FROM reconciliation_card_events WHERE review_flag")
        #expect(try flagged?.decode("n", as: Int.self) == 1)
        let error = await fixture.post("/api/terminal-report", token: "terminal", [
            "terminalId": terminalId, "cardId": .null, "eventType": "terminal_error", "details": "reader reset",
            "counter": .null, "timestamp": 1_764_600_000])
        #expect(error.status == 204)
        #expect(try await fixture.count("batches") == 1)
        // A tamper report on another tenant's card is stored but changes nothing there.
        let foreign = await fixture.post("/api/terminal-report", token: "terminal", [
            "terminalId": terminalId, "cardId": .string(Fixture.cardB), "eventType": "tamper", "timestamp": 1])
        #expect(foreign.status == 204)
        #expect(await fixture.get("/api/cards/\(Fixture.cardB)", token: "stationB").json["status"] == "ACTIVE")
        // tamper on an active card.
        try await fixture.registerCard("00112233aabb")
        _ = await fixture.post("/api/terminal-report", token: "terminal", [
            "terminalId": terminalId, "cardId": "00112233aabb", "eventType": "tamper", "timestamp": 1])
        #expect(await fixture.card("00112233aabb")["status"] == "BLOCKED_TAMPER")
    }

    @Test func a37TerminalReportWithoutEventType() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let terminalId = JSONValue.int(Int64(fixture.terminalIds["terminal"]!))
        let bodies: [JSONValue] = [
            ["terminalId": terminalId, "cardId": .string(Fixture.cardX), "timestamp": 1],
            ["terminalId": terminalId, "eventType": "boom", "timestamp": 1],
            ["terminalId": terminalId, "eventType": "tamper", "cardId": "xyz", "timestamp": 1],
            ["terminalId": terminalId, "eventType": "tamper", "details": .string(String(repeating: "a", count: 257)), "timestamp": 1],
            ["terminalId": 70_000, "eventType": "tamper", "timestamp": 1],
        ]
        for body in bodies {
            #expect(await fixture.post("/api/terminal-report", token: "terminal", body).isTerminalError(400, "malformed_payload"),
                    "\(body)")
        }
        #expect(await fixture.card()["status"] == "ACTIVE")
        #expect(await fixture.post("/api/terminal-report", token: nil, ["eventType": "tamper"]).isTerminalError(401, "invalid_token"))
    }

    @Test func sameBatchTwiceInParallelIsAppliedOnce() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        try await fixture.setCard(Fixture.cardX, balance: 1_000_000, counter: 17)
        let events = fixture.chain(from: 1_000_000, counter: 17, Array(repeating: (.debit, 1_000), count: 50))
        async let first = fixture.reconcile(events)
        async let second = fixture.reconcile(events)
        let responses = await [first, second]
        #expect(responses.filter { $0.status == 200 && $0.json["accepted"] == 50 }.count == 1)
        #expect(responses.filter { $0.isTerminalError(409, "duplicate_counter") }.count == 1)
        #expect(try await fixture.count("events") == 50)
        #expect(await fixture.card()["balance"] == 950_000)
        let debited = try await fixture.database.queryFirst(
            "SELECT count(*) AS n FROM event_log WHERE event_type = 'stored_value.debited'")
        #expect(try debited?.decode("n", as: Int.self) == 50)
    }
}
