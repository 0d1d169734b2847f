import AccessContract
import Crypto
import Foundation
import Kernel
import Testing
@testable import Reconciliation

/// The reconcile rules as a value, without a database: chain, limits, review flags, the uncovered-debit exposure.
@Suite struct BatchRulesTests {
    let crypto = OpenSSLCryptoService()
    let rules = BatchRules(limits: .defaults, operations: ["read", "debit", "checkin", "checkout"], crypto: OpenSSLCryptoService())

    func card(balance: Int64, cardBalance: Int64? = nil) throws -> CardRecord {
        try CardRecord(row: Row(
            columns: ["card_id", "user_id", "status", "balance", "currency", "card_balance", "counter", "chain_hash", "chain_timestamp",
                      "created_at", "last_activity_at", "key_version"],
            values: ["a1b2c3d4e5f6", "1", "ACTIVE", String(balance), "NZD", String(cardBalance ?? balance), "0", "\\x000000000000",
                     "0", "0", nil, "1"]))
    }

    func debits(_ amounts: [Int64], from balance: Int64, startDay: Int64 = 20_000, spacingSeconds: Int64 = 60) -> [OfflineEvent] {
        var (previous, time, cardBalance) = ([UInt8](repeating: 0, count: 6), Int64(0), balance)
        var events: [OfflineEvent] = []
        for (index, amount) in amounts.enumerated() {
            let timestamp = startDay * 86_400 + Int64(index) * spacingSeconds
            cardBalance -= amount
            let hash = EventChain.hash(deltaTime: EventChain.deltaTime(from: time, to: timestamp), amount: UInt32(amount),
                                       balanceAfter: UInt32(cardBalance), flags: 1, previous: previous, crypto: crypto)
            events.append(OfflineEvent(cardId: "a1b2c3d4e5f6", counter: Int64(index) + 1, type: .debit, amount: amount,
                                       balanceAfter: cardBalance, timestamp: timestamp, hash: hash))
            (previous, time) = (hash, timestamp)
        }
        return events
    }

    @Test func chainHashIsTheFirstSixBytesOfSHA256OverTheDocumentedLayout() {
        let hash = EventChain.hash(deltaTime: 0x01020304, amount: 0x0A0B0C0D, balanceAfter: 1, flags: 1,
                                   previous: [9, 9, 9, 9, 9, 9], crypto: crypto)
        let message: [UInt8] = [1, 2, 3, 4, 0x0A, 0x0B, 0x0C, 0x0D, 0, 0, 0, 1, 1, 9, 9, 9, 9, 9, 9]
        #expect(hash == Array(crypto.sha256(message).prefix(6)))
        #expect(EventChain.deltaTime(from: 10, to: 5) == UInt32.max - 4)
    }

    @Test func weeksStartOnMonday() {
        // 1970-01-05 (day 4) was a Monday; 2025-12-01 (day 20423) too.
        #expect(BatchRules.weekStart(day: 4) == 4)
        #expect(BatchRules.weekStart(day: 10) == 4)
        #expect(BatchRules.weekStart(day: 11) == 11)
        #expect(BatchRules.weekStart(day: 20_423) == 20_423)
        #expect(BatchRules.weekStart(day: 20_429) == 20_423)
    }

    @Test func weeklyLimitFlagsAcrossDaysOfOneWeek() throws {
        let card = try card(balance: 5_000_000)
        // 1.9 M on each of two earlier days of the same week, then 1.3 M today: 5.1 M in the week.
        let week = BatchRules.weekStart(day: 20_002)
        let plan = rules.plan(debits([1_000_000, 300_000], from: 5_000_000, startDay: 20_002), cards: [card.cardId: card], logged: [],
                              debitsByDay: [card.cardId: [week: 1_900_000, week + 1: 1_900_000]])
        #expect(plan.accepted.count == 2)
        #expect(plan.accepted[0].reasons == [])
        #expect(plan.accepted[1].reasons == ["weekly_limit_exceeded"])
    }

    @Test func exactlyTheDailyLimitIsNotABreach() throws {
        let card = try card(balance: 5_000_000)
        let plan = rules.plan(debits([1_000_000, 1_000_000, 1], from: 5_000_000), cards: [card.cardId: card], logged: [],
                              debitsByDay: [:])
        #expect(plan.accepted.map(\.reasons) == [[], [], ["daily_limit_exceeded"]])
    }

    @Test func offlineDebitBeyondTheBackendBalanceIsAcceptedWithItsShortfall() throws {
        // The card still holds 50,000 (its own history is consistent) but online spending left 20,000.
        let card = try card(balance: 20_000, cardBalance: 50_000)
        let plan = rules.plan(debits([30_000, 10_000], from: 50_000), cards: [card.cardId: card], logged: [], debitsByDay: [:])
        #expect(plan.accepted.count == 2)
        #expect(plan.accepted[0].shortfall == 10_000)
        #expect(plan.accepted[0].balance == -10_000)
        #expect(plan.accepted[0].reasons == ["insufficient_balance"])
        #expect(plan.accepted[1].shortfall == 10_000)
        #expect(plan.changedCards[card.cardId]?.balance == -20_000)
        #expect(plan.changedCards[card.cardId]?.cardBalance == 10_000)
    }

    @Test func eventsAfterATamperInTheSameBatchAreRejectedAsBlocked() throws {
        let card = try card(balance: 100_000)
        var events = debits([1_000, 1_000, 1_000], from: 100_000)
        let broken = events[1]
        events[1] = OfflineEvent(cardId: broken.cardId, counter: broken.counter, type: .debit, amount: broken.amount,
                                 balanceAfter: broken.balanceAfter, timestamp: broken.timestamp, hash: [0, 0, 0, 0, 0, 1])
        let plan = rules.plan(events, cards: [card.cardId: card], logged: [], debitsByDay: [:])
        #expect(plan.accepted.count == 1)
        #expect(plan.flags.map { $0["reason"]?.stringValue } == ["hash_mismatch", "card_blocked"])
        #expect(plan.tampered.map(\.counter) == [2])
        #expect(plan.changedCards[card.cardId]?.status == .blockedTamper)
    }
}

extension BatchRulesTests {
    @Test func aBatchAddsItsAcceptedDebitsToTheirCardsDailyTotalsInDayOrder() throws {
        let card = try card(balance: 5_000_000)
        // Two debits a day apart, then one of a card the tenant does not have (rejected: adds nothing).
        let unknown = debits([2], from: 5_000_000).map {
            OfflineEvent(cardId: "000000000001", counter: $0.counter, type: $0.type, amount: $0.amount,
                         balanceAfter: $0.balanceAfter, timestamp: $0.timestamp, hash: $0.hash)
        }
        let events = debits([1_000_000, 300_000], from: 5_000_000, startDay: 20_002, spacingSeconds: 86_400) + unknown
        let plan = rules.plan(events, cards: [card.cardId: card], logged: [], debitsByDay: [:])
        #expect(plan.accepted.count == 2)
        #expect(plan.rejected == 1)
        #expect(BatchRules.dailyDebits(plan.accepted) == [
            BatchRules.DayTotal(cardId: "a1b2c3d4e5f6", day: 20_002, total: 1_000_000),
            BatchRules.DayTotal(cardId: "a1b2c3d4e5f6", day: 20_003, total: 300_000),
        ])
        #expect(BatchRules.dailyDebits(Array(plan.accepted.reversed())) == BatchRules.dailyDebits(plan.accepted))
    }
}
