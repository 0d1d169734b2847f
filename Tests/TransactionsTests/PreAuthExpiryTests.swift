import AtlasTestSupport
import Bootstrap
import CashRoundingContract
import Foundation
import Kernel
import Postgres
import Testing
@testable import Transactions

/// The pre-authorization window as pure rules: no database, no clock.
@Suite struct PreAuthExpiryRulesTests {
    func preAuth(status: TransactionStatus = .approved, completion: String? = nil, windowExpired: Bool = false) -> OriginalSnapshot {
        var snapshot = OriginalSnapshot(id: "txn_01JQXYZ0000000000000000000", type: .preAuth, status: status, amount: 5000,
                                        tipAmount: 0, currency: "NZD", tender: .card, refundedAmount: 0,
                                        completionTransactionId: completion, settlementId: nil, businessDate: "2026-04-08")
        snapshot.windowExpired = windowExpired
        return snapshot
    }

    func code(_ type: TransactionType, _ original: OriginalSnapshot, amount: Int64 = 1000) -> String? {
        do {
            _ = try TransactionRules.check(type: type, amount: amount, currency: "NZD", original: original, currentBusinessDate: "2026-04-08")
        } catch { return error.code }
        return nil
    }

    @Test func anExpiredPreAuthIsNeitherCompletedNorVoided() {
        for original in [preAuth(status: .expired), preAuth(windowExpired: true)] {
            #expect(code(.preAuthComplete, original) == "PRE_AUTH_EXPIRED")
            #expect(code(.void, original, amount: 0) == "PRE_AUTH_EXPIRED")
            #expect(code(.refund, original) == "NOT_REFUNDABLE")
        }
        #expect(TransactionErrors.preAuthExpired.status == 409)
        // Within the window the usual rules answer.
        #expect(code(.preAuthComplete, preAuth()) == nil)
        #expect(code(.preAuthComplete, preAuth(completion: "txn_c")) == "PRE_AUTH_ALREADY_COMPLETED")
        #expect(code(.void, preAuth(status: .voided), amount: 0) == "ALREADY_VOIDED")
    }

    @Test func theWindowEndsAtItsDeadlineForOpenPreAuthsOnly() {
        let limits = PreAuthExpiryLimits()
        #expect(limits.windowSeconds == 7 * 24 * 3600)
        let authorizedAt = Date(timeIntervalSince1970: 1_775_000_000)
        let deadline = limits.deadline(authorizedAt: authorizedAt)
        #expect(!limits.isPastWindow(authorizedAt: authorizedAt, now: deadline.addingTimeInterval(-0.001)))
        #expect(limits.isPastWindow(authorizedAt: authorizedAt, now: deadline))
        let tenant = TenantContext(merchantId: "mer_1", mode: .test)
        func record(_ type: TransactionType, status: TransactionStatus = .approved, completion: String? = nil) -> TransactionRecord {
            var record = TransactionRecord(id: "txn_1", tenant: tenant, type: type, status: status, amount: 100, tipAmount: 0,
                                           cashbackAmount: 0, currency: "NZD", tender: .card, businessDate: "2026-04-08",
                                           createdAt: authorizedAt)
            record.completionTransactionId = completion
            return record
        }
        #expect(record(.preAuth).followUpSnapshot(limits, now: deadline).windowExpired)
        #expect(!record(.preAuth).followUpSnapshot(limits, now: deadline.addingTimeInterval(-1)).windowExpired)
        #expect(!record(.preAuth, completion: "txn_c").followUpSnapshot(limits, now: deadline).windowExpired)
        #expect(!record(.preAuth, status: .voided).followUpSnapshot(limits, now: deadline).windowExpired)
        #expect(!record(.sale).followUpSnapshot(limits, now: deadline).windowExpired)
        var expired = record(.preAuth)
        expired.status = .expired
        #expect(expired.eventType == "transaction.expired")
    }
}

/// `ATLAS_PRE_AUTH_EXPIRY_SECONDS`: 7 days by default, 60 s to 31 days, anything else stops start-up.
@Suite struct PreAuthExpiryConfigurationTests {
    @Test func theWindowIsReadFromTheEnvironmentWithinItsRange() throws {
        #expect(try AtlasConfiguration.fromEnvironment([:]).transactions.preAuthExpiry.windowSeconds == 604_800)
        #expect(try AtlasConfiguration.fromEnvironment(["ATLAS_PRE_AUTH_EXPIRY_SECONDS": "86400"])
                .transactions.preAuthExpiry.windowSeconds == 86_400)
        #expect(try AtlasConfiguration.fromEnvironment(["ATLAS_PRE_AUTH_EXPIRY_SECONDS": "2678400"])
                .transactions.preAuthExpiry.windowSeconds == 31 * 86_400)
        for bad in ["59", "2678401", "week", "-1"] {
            #expect(throws: (any Error).self, "\(bad)") {
                _ = try AtlasConfiguration.fromEnvironment(["ATLAS_PRE_AUTH_EXPIRY_SECONDS": bad])
            }
        }
    }
}

/// Expiry over HTTP and PostgreSQL with the manual clock: refusals, the sweep, its event, its bounds and the race.
@Suite struct PreAuthExpiryTests {
    static let window = TimeInterval(PreAuthExpiryLimits.windowSecondsDefault)

    func id(_ response: Response) -> JSONValue { .string(response.string("transactionId") ?? "") }

    func sweeper(_ fixture: TransactionFixture, limits: PreAuthExpiryLimits = PreAuthExpiryLimits()) -> PreAuthExpirySweeper {
        PreAuthExpirySweeper(services: fixture.services, limits: limits)
    }

    func preAuth(_ fixture: TransactionFixture, amount: Int64 = 1000, card: String = "4242424242424242") async throws -> String {
        let response = await fixture.sale(["type": "PRE_AUTH", "amount": .int(amount), "currency": "NZD", "card": ["number": .string(card)]])
        guard response.status == 200, let id = response.string("transactionId") else {
            throw HarnessError("PRE_AUTH failed: \(response.status) \(response.bodyText)")
        }
        return id
    }

    func complete(_ fixture: TransactionFixture, _ id: String, amount: Int64 = 1000) async -> Response {
        await fixture.sale(["type": "PRE_AUTH_COMPLETE", "amount": .int(amount), "currency": "NZD", "originalTransactionId": .string(id)])
    }

    func status(_ fixture: TransactionFixture, _ id: String) async -> String? {
        await fixture.get("/v1/transaction/\(id)").string("status")
    }

    func expiredEvents(_ fixture: TransactionFixture, _ id: String) async throws -> Int64 {
        try await fixture.count("SELECT count(*) AS n FROM event_log WHERE event_type = 'transaction.expired' AND resource_id = \(id)")
    }

    @Test func aPreAuthPastItsWindowIsRefusedThenExpiredOnceWithItsEvent() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let completed = try await preAuth(fixture, amount: 5000)
        let expiring = try await preAuth(fixture, amount: 3000)
        let voidable = try await preAuth(fixture, amount: 2000)
        fixture.clock.advance(seconds: Self.window - 1)
        #expect(try await sweeper(fixture).sweep() == 0)
        let completion = await complete(fixture, completed, amount: 4000)
        #expect(completion.status == 200 && completion.string("status") == "APPROVED")

        // Just past the deadline (created_at is stored to the microsecond), before any sweep: refused by the clock,
        // nothing written.
        fixture.clock.advance(seconds: 1.001)
        let rows = try await fixture.transactionCount()
        let late = await complete(fixture, expiring, amount: 3000)
        #expect(late.status == 409)
        #expect(late.errorCode == "PRE_AUTH_EXPIRED")
        #expect(late.json["details"]?["field"]?.stringValue == "originalTransactionId")
        #expect(try await fixture.transactionCount() == rows)
        #expect(await status(fixture, expiring) == "APPROVED")

        // The sweep marks the two open ones, each once, with one event each in the same commit.
        #expect(try await sweeper(fixture).sweep() == 2)
        #expect(try await sweeper(fixture).sweep() == 0)
        #expect(await status(fixture, expiring) == "EXPIRED")
        #expect(await status(fixture, voidable) == "EXPIRED")
        let original = await fixture.get("/v1/transaction/\(completed)")
        #expect(original.string("status") == "APPROVED" && original.json["completionTransactionId"] == id(completion))
        for expired in [expiring, voidable] { #expect(try await expiredEvents(fixture, expired) == 1) }
        #expect(try await expiredEvents(fixture, completed) == 0)
        let payload = try await fixture.database.queryFirst("""
            SELECT payload->>'status' AS status, payload->>'type' AS type, payload->>'amount' AS amount FROM event_log
            WHERE event_type = 'transaction.expired' AND resource_id = \(expiring)
            """)
        #expect(payload?.text("status") == "EXPIRED" && payload?.text("type") == "PRE_AUTH" && payload?.text("amount") == "3000")
        #expect(try await fixture.count("SELECT count(*) AS n FROM transactions WHERE status = 'EXPIRED' AND expired_at IS NOT NULL") == 2)

        // After expiry: completion and void are refused with the documented 409, and nothing is written.
        let again = await complete(fixture, expiring, amount: 100)
        #expect(again.status == 409 && again.errorCode == "PRE_AUTH_EXPIRED")
        let void = await fixture.sale(["type": "VOID", "amount": 0, "currency": "NZD", "originalTransactionId": .string(voidable)])
        #expect(void.status == 409 && void.errorCode == "PRE_AUTH_EXPIRED")
        let refund = await fixture.sale(["type": "REFUND", "amount": 100, "currency": "NZD", "originalTransactionId": .string(expiring)])
        #expect(refund.status == 409 && refund.errorCode == "NOT_REFUNDABLE")
        #expect(try await fixture.transactionCount() == rows)
        #expect(try await fixture.count("SELECT count(*) AS n FROM event_log WHERE event_type = 'transaction.expired'") == 2)

        // The list filters by the new status.
        let list = await fixture.get("/v1/transactions?status=EXPIRED")
        guard case .array(let data)? = list.json["data"] else { Issue.record("no list: \(list.bodyText)"); return }
        #expect(Set(data.compactMap { $0["transactionId"]?.stringValue }) == [expiring, voidable])
    }

    @Test func eachSweepRoundExpiresAtMostItsRowLimit() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        var open: [String] = []
        for _ in 0..<7 { open.append(try await preAuth(fixture)) }
        let declined = await fixture.sale(["type": "PRE_AUTH", "amount": 1000, "currency": "NZD", "card": ["number": "4000000000000002"]])
        #expect(declined.string("status") == "DECLINED")
        let sale = await fixture.sale(["type": "SALE", "amount": 1000, "currency": "NZD"])
        fixture.clock.advance(seconds: Self.window)
        let limits = PreAuthExpiryLimits(sweepRowsMax: 2, sweepRoundsMax: 2)
        #expect(try await sweeper(fixture, limits: limits).expireDue() == 2)
        #expect(try await sweeper(fixture, limits: limits).sweep() == 4)
        #expect(try await sweeper(fixture, limits: limits).sweep() == 1)
        #expect(try await sweeper(fixture, limits: limits).sweep() == 0)
        for id in open { #expect(try await expiredEvents(fixture, id) == 1) }
        // Only approved, open pre-authorizations expire.
        #expect(await status(fixture, declined.string("transactionId") ?? "") == "DECLINED")
        #expect(await status(fixture, sale.string("transactionId") ?? "") == "APPROVED")
    }

    /// Completions started just before the deadline race sweeps run just after it (two at once, as two instances
    /// would): each pre-authorization is either completed (200, no expiry event) or expired (409 PRE_AUTH_EXPIRED,
    /// one event), never both, never neither.
    @Test func completionRacingExpiryHasExactlyOneWinner() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        var ids: [String] = []
        for _ in 0..<16 { ids.append(try await preAuth(fixture)) }
        fixture.clock.advance(seconds: Self.window - 0.5)
        let answers = Collected<(String, Int, String?)>()
        let first = sweeper(fixture)
        let second = sweeper(fixture, limits: PreAuthExpiryLimits(sweepRowsMax: 3))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in ids {
                group.addTask {
                    let response = await complete(fixture, id)
                    answers.add((id, response.status, response.status == 200 ? response.string("status") : response.errorCode))
                }
            }
            group.addTask {
                fixture.clock.advance(seconds: 1)
                for _ in 0..<3 { _ = try await first.sweep() }
            }
            group.addTask { for _ in 0..<3 { _ = try await second.sweep() } }
            try await group.waitForAll()
        }
        _ = try await first.sweep()
        let byId = Dictionary(uniqueKeysWithValues: answers.all.map { ($0.0, ($0.1, $0.2)) })
        for id in ids {
            let row = try await fixture.database.queryFirst(
                "SELECT status, completion_transaction_id FROM transactions WHERE id = \(id)")
            let events = try await expiredEvents(fixture, id)
            let completions = try await fixture.count("SELECT count(*) AS n FROM transactions WHERE original_transaction_id = \(id)")
            if row?.text("completion_transaction_id") != nil {
                #expect(row?.text("status") == "APPROVED" && events == 0 && completions == 1)
                #expect(byId[id]?.0 == 200 && byId[id]?.1 == "APPROVED")
            } else {
                #expect(row?.text("status") == "EXPIRED" && events == 1 && completions == 0)
                #expect(byId[id]?.0 == 409 && byId[id]?.1 == "PRE_AUTH_EXPIRED")
            }
        }
    }
}
