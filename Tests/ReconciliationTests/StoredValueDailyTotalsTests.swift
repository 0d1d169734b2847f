import Foundation
import Kernel
import Postgres
import Testing
@testable import Reconciliation

/// The daily and weekly review sums read `reconciliation_card_daily_debits` (migration 5), which each batch keeps in
/// its own transaction: flags exactly at the limits across batches, the stored review reasons, totals that always
/// equal the logged debits (parallel batches included), and the migration's backfill from the audit log.
@Suite struct StoredValueDailyTotalsTests {
    typealias Fixture = StoredValueFixture
    static let day: Int64 = 86_400

    /// A card's chain continued from its last entry, one event per (type, amount, timestamp) step: unlike
    /// `Fixture.chain`, the steps may jump days.
    struct Chain {
        let fixture: Fixture
        let cardId: String
        var balance: Int64
        var counter: Int64
        var hash = Fixture.chainHash
        var time = Fixture.chainStart

        init(_ fixture: Fixture, _ cardId: String = Fixture.cardX, balance: Int64, counter: Int64) {
            (self.fixture, self.cardId, self.balance, self.counter) = (fixture, cardId, balance, counter)
        }

        mutating func next(_ steps: [(OfflineEventType, Int64, Int64)]) -> [JSONValue] {
            steps.map { type, amount, timestamp in
                balance += type == .debit ? -amount : (type == .credit ? amount : 0)
                counter += 1
                hash = EventChain.hash(deltaTime: EventChain.deltaTime(from: time, to: timestamp), amount: UInt32(amount),
                                       balanceAfter: UInt32(balance), flags: type.flagCode, previous: hash, crypto: fixture.crypto)
                time = timestamp
                return ["cardId": .string(cardId), "counter": .int(counter), "type": .string(type.rawValue), "amount": .int(amount),
                        "balanceAfter": .int(balance), "timestamp": .int(timestamp), "hash": .string(Encoding.hex(hash))]
            }
        }

        /// Debits on `dayOffset` days after the chain start (a Monday), a minute apart from `minute`.
        mutating func debits(_ amounts: [Int64], dayOffset: Int64, minute: Int64 = 1) -> [JSONValue] {
            next(amounts.enumerated().map { index, amount in
                (.debit, amount, Fixture.chainStart + dayOffset * StoredValueDailyTotalsTests.day + (minute + Int64(index)) * 60)
            })
        }
    }

    func dailyTotals(_ fixture: Fixture) async throws -> [String: Int64] {
        var totals: [String: Int64] = [:]
        for row in try await fixture.database.query("""
            SELECT card_id, day, total FROM reconciliation_card_daily_debits WHERE merchant_id = \(fixture.merchantId)
            """) {
            totals["\(try row.decode("card_id", as: String.self))/\(try row.decode("day", as: Int64.self))"] = try row.decode("total")
        }
        return totals
    }

    func loggedDebitTotals(_ fixture: Fixture) async throws -> [String: Int64] {
        var totals: [String: Int64] = [:]
        for row in try await fixture.database.query("""
            SELECT card_id, event_timestamp / 86400 AS day, sum(amount)::bigint AS total FROM reconciliation_card_events
            WHERE merchant_id = \(fixture.merchantId) AND type = 'debit' GROUP BY 1, 2
            """) {
            totals["\(try row.decode("card_id", as: String.self))/\(try row.decode("day", as: Int64.self))"] = try row.decode("total")
        }
        return totals
    }

    @Test func theDailyLimitReachedExactlyAcrossTwoBatchesIsNoBreachAndTheNextDebitIs() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        try await fixture.setCard(Fixture.cardX, balance: 5_000_000, counter: 17)
        var chain = Chain(fixture, balance: 5_000_000, counter: 17)
        let first = await fixture.reconcile(chain.debits([1_000_000, 500_000], dayOffset: 0))
        #expect(first.json["accepted"] == 2)
        #expect(first.json["flagged"] == 0)
        let exactly = await fixture.reconcile(chain.debits([500_000], dayOffset: 0, minute: 10))
        #expect(exactly.json["accepted"] == 1)
        #expect(exactly.json["flagged"] == 0)
        #expect(exactly.json["flags"] == [])
        let over = await fixture.reconcile(chain.debits([1], dayOffset: 0, minute: 20))
        #expect(over.json["accepted"] == 1)
        #expect(over.json["flags"] == [["cardId": .string(Fixture.cardX), "counter": 21, "reason": "daily_limit_exceeded"]])
        // The next UTC day starts from zero again.
        let tomorrow = await fixture.reconcile(chain.debits([1_000_000], dayOffset: 1))
        #expect(tomorrow.json["flagged"] == 0)
        #expect(await fixture.card()["balance"] == 1_999_999)
        #expect(try await dailyTotals(fixture) == loggedDebitTotals(fixture))
    }

    @Test func theWeeklyLimitReachedExactlyAcrossBatchesAndDaysIsNoBreachAndTheNextDebitIs() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        try await fixture.setCard(Fixture.cardX, balance: 6_000_000, counter: 17)
        var chain = Chain(fixture, balance: 6_000_000, counter: 17)
        // Monday and Tuesday at exactly the daily limit, in one batch; Wednesday brings the week to exactly 5 M.
        let first = await fixture.reconcile(chain.debits([1_000_000, 1_000_000], dayOffset: 0)
                                            + chain.debits([1_000_000, 1_000_000], dayOffset: 1))
        #expect(first.json["accepted"] == 4)
        #expect(first.json["flagged"] == 0)
        let exactly = await fixture.reconcile(chain.debits([1_000_000], dayOffset: 2))
        #expect(exactly.json["accepted"] == 1)
        #expect(exactly.json["flagged"] == 0)
        let over = await fixture.reconcile(chain.debits([1], dayOffset: 3))
        #expect(over.json["flags"] == [["cardId": .string(Fixture.cardX), "counter": 23, "reason": "weekly_limit_exceeded"]])
        // Sunday is still the same week; the next Monday starts a new one.
        let sunday = await fixture.reconcile(chain.debits([1], dayOffset: 6))
        #expect(sunday.reasons == ["weekly_limit_exceeded"])
        let nextMonday = await fixture.reconcile(chain.debits([1], dayOffset: 7))
        #expect(nextMonday.json["accepted"] == 1)
        #expect(nextMonday.json["flagged"] == 0)
        #expect(try await dailyTotals(fixture) == loggedDebitTotals(fixture))
    }

    @Test func reviewReasonsAreStoredPerEventAndNonDebitsAddNothing() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        try await fixture.setCard(Fixture.cardX, balance: 3_000_000, counter: 17)
        // Online spending came first: the backend balance is 0 while the card still holds 3 M.
        try await fixture.database.execute("UPDATE reconciliation_cards SET balance = 0 WHERE card_id = \(Fixture.cardX)")
        var chain = Chain(fixture, balance: 3_000_000, counter: 17)
        let start = Fixture.chainStart
        let events = chain.next([(.checkin, 0, start + 60), (.debit, 1_000_000, start + 120), (.debit, 1_000_000, start + 180),
                                 (.debit, 1_000_000, start + 240)])
        let response = await fixture.reconcile(events)
        #expect(response.json["accepted"] == 4)
        #expect(response.json["flagged"] == 3)
        #expect(response.reasons == ["insufficient_balance", "insufficient_balance", "daily_limit_exceeded", "insufficient_balance"])
        let rows = try await fixture.database.query("""
            SELECT counter, review_flag, flag_reasons, shortfall, encode(hash, 'hex') AS hash FROM reconciliation_card_events
            WHERE card_id = \(Fixture.cardX) ORDER BY counter
            """)
        #expect(try rows.map { try $0.decode("review_flag", as: Bool.self) } == [false, true, true, true])
        #expect(try rows.map { try $0.decode("flag_reasons", as: String?.self) }
                == [nil, "insufficient_balance", "insufficient_balance", "daily_limit_exceeded,insufficient_balance"])
        #expect(try rows.map { try $0.decode("shortfall", as: Int64.self) } == [0, 1_000_000, 1_000_000, 1_000_000])
        #expect(try rows.map { try $0.decode("hash", as: String.self) } == events.map { $0["hash"]!.stringValue! })
        #expect(try await dailyTotals(fixture) == ["\(Fixture.cardX)/\(start / Self.day)": 3_000_000])
    }

    @Test func aOneEventBatchWithoutReasonsStoresNoReasons() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        var chain = Chain(fixture, balance: 350_000, counter: 17)
        #expect(await fixture.reconcile(chain.debits([10_000], dayOffset: 0)).json["accepted"] == 1)
        let row = try #require(try await fixture.database.queryFirst("""
            SELECT review_flag, flag_reasons FROM reconciliation_card_events WHERE card_id = \(Fixture.cardX)
            """))
        #expect(try row.decode("review_flag", as: Bool.self) == false)
        #expect(try row.decode("flag_reasons", as: String?.self) == nil)
    }

    @Test func dailyTotalsEqualTheLoggedDebitsWhenBatchesOfTheSameCardsRaceEachOther() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let cardY = "a1b2c3d4e5f7"
        try await fixture.registerCard(cardY)
        try await fixture.setCard(Fixture.cardX, balance: 1_000_000, counter: 17)
        try await fixture.setCard(cardY, balance: 1_000_000, counter: 17)
        var x = Chain(fixture, balance: 1_000_000, counter: 17)
        var y = Chain(fixture, cardY, balance: 1_000_000, counter: 17)
        let xFirst = x.debits([1_000, 2_000], dayOffset: 0)
        let xSecond = x.debits([3_000, 4_000], dayOffset: 1)
        let yFirst = y.debits([5_000, 6_000], dayOffset: 0)
        // Both batches name both cards; whichever order the card locks grant, each event is logged at most once and
        // the daily totals follow exactly what was logged.
        async let one = fixture.reconcile(xFirst + yFirst)
        async let two = fixture.reconcile(xSecond + yFirst)
        let responses = await [one, two]
        #expect(responses.allSatisfy { $0.status == 200 })
        #expect(try await dailyTotals(fixture) == loggedDebitTotals(fixture))
        // Whatever was refused as a gap goes through now; then everything is logged once.
        _ = await fixture.reconcile(xSecond)
        #expect(try await fixture.count("events") == 4)
        #expect(try await fixture.count("events", card: cardY) == 2)
        #expect(try await dailyTotals(fixture) == [
            "\(Fixture.cardX)/\(Fixture.chainStart / Self.day)": 3_000, "\(Fixture.cardX)/\(Fixture.chainStart / Self.day + 1)": 7_000,
            "\(cardY)/\(Fixture.chainStart / Self.day)": 11_000,
        ])
    }

    @Test func theMigrationBackfillSumsTheLoggedDebitsPerCardAndDay() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        try await fixture.setCard(Fixture.cardX, balance: 1_000_000, counter: 17)
        var chain = Chain(fixture, balance: 1_000_000, counter: 17)
        let start = Fixture.chainStart
        #expect(await fixture.reconcile(chain.debits([1_000, 2_000], dayOffset: 0)
                                        + chain.next([(.checkin, 0, start + 86_400)])
                                        + chain.debits([4_000], dayOffset: 2)).json["accepted"] == 4)
        let kept = try await dailyTotals(fixture)
        #expect(kept == ["\(Fixture.cardX)/\(start / Self.day)": 3_000, "\(Fixture.cardX)/\(start / Self.day + 2)": 4_000])
        try await fixture.database.execute("DELETE FROM reconciliation_card_daily_debits")
        try await fixture.database.execute(SQL(StoredValueSchema.dailyDebitsBackfill))
        #expect(try await dailyTotals(fixture) == kept)
    }

    @Test func aBatchChangesOnlyItsOwnTenantsCardWhenAnotherTenantHasTheSameCardId() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        #expect(await fixture.post("/api/cards", token: "stationB", Fixture.cardBody(Fixture.cardX)).status == 201)
        func otherTenantsCard() async throws -> [Int64] {
            let row = try #require(try await fixture.database.queryFirst("""
                SELECT balance, card_balance, counter FROM reconciliation_cards
                WHERE merchant_id = \(fixture.otherMerchantId) AND card_id = \(Fixture.cardX)
                """))
            return [try row.decode("balance"), try row.decode("card_balance"), try row.decode("counter")]
        }
        let before = try await otherTenantsCard()
        var chain = Chain(fixture, balance: 350_000, counter: 17)
        #expect(await fixture.reconcile(chain.debits([10_000, 20_000], dayOffset: 0)).json["accepted"] == 2)
        #expect(await fixture.card()["balance"] == 320_000)
        #expect(try await otherTenantsCard() == before)
        let otherTotals = try await fixture.database.queryFirst("""
            SELECT count(*) AS n FROM reconciliation_card_daily_debits WHERE merchant_id = \(fixture.otherMerchantId)
            """)
        #expect(try otherTotals?.decode("n", as: Int64.self) == 0)
    }
}
