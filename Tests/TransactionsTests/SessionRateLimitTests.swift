import AtlasTestSupport
import Foundation
import Kernel
import Testing
@testable import Transactions

/// Per-session action rate limit on `/v1/session`: a token bucket (a value, stepped by hand) and, on a session,
/// the §6 `RATE_LIMITED` 429 error event for every action past the burst, with the socket left open.
@Suite struct SessionRateLimitTests {
    @Test func aBucketAllowsItsBurstThenRefillsAtItsRate() {
        let start = Date(timeIntervalSince1970: 1_000)
        var bucket = TokenBucket(capacity: 3, refillPerSecond: 2)
        for _ in 0..<3 { #expect(bucket.take(at: start) == nil) }
        #expect(bucket.take(at: start) == 0.5)
        #expect(bucket.take(at: start.addingTimeInterval(0.25)) == 0.25)  // half a token back, nothing taken
        #expect(bucket.take(at: start.addingTimeInterval(0.5)) == nil)
        // A long pause refills to the capacity, never beyond it.
        let later = start.addingTimeInterval(3_600)
        for _ in 0..<3 { #expect(bucket.take(at: later) == nil) }
        #expect(bucket.take(at: later) != nil)
        // A clock that steps back refills nothing.
        #expect(bucket.take(at: start) != nil)
    }

    @Test func actionsPastTheBurstAreRateLimitedEventsAndTheSessionStaysOpen() async throws {
        var settings = TransactionsSettings()
        settings.sessionActionBurstMax = 5
        settings.sessionActionsPerSecond = 2
        let fixture = try await TransactionFixture.make(settings: settings)
        defer { fixture.close() }
        let (connection, done) = try await SessionResumeTests.open(fixture, key: fixture.testKey)
        // Unknown actions are cheap and answer a 400 each: every message counts, valid or not.
        for _ in 0..<7 { connection.push(["action": "dance"]) }
        let errors = try await connection.all("error", count: 7)
        #expect(errors.filter { $0["status"] == 400 }.count == 5)
        let limited = errors.filter { $0["status"] == 429 }
        #expect(limited.count == 2)
        #expect(limited.allSatisfy { $0["error"]?["error"] == "RATE_LIMITED" && $0["retryAfter"] == 1 })
        #expect(limited.allSatisfy { $0["error"]?["requestId"]?.stringValue != nil })
        // Not numbered and not kept for a resume; the refused actions ran nothing.
        #expect(limited.allSatisfy { $0["seq"] == nil })
        #expect(connection.closeCode == nil)
        // Half a second later one action fits again: a sale runs to its result.
        fixture.clock.advance(seconds: 0.5)
        connection.push(["action": "sale", "amount": 2500, "currency": "NZD"])
        #expect(try await connection.next("result")["transaction"]?["status"] == "APPROVED")
        connection.push(["action": "sale", "amount": 2500, "currency": "NZD"])
        #expect(try await connection.all("error", count: 8).last?["status"] == 429)
        #expect(try await fixture.transactionCount() == 1)
        connection.disconnect()
        await done.value
    }
}
