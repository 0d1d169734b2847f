import Foundation
import Testing
@testable import Transactions

/// `TransactionRules.businessDate` uses offset + day arithmetic; the Calendar-based original, kept below
/// as the oracle, must agree on every instant (DST gaps and overlaps, half-hour zones, date line).
@Suite struct BusinessDateTests {
    static let zones = ["UTC", "America/New_York", "Pacific/Auckland", "Asia/Kolkata", "Australia/Lord_Howe",
                        "Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/London"]
        .map { TimeZone(identifier: $0)! }

    /// The implementation before the fast path.
    static func calendarOracle(_ date: Date, timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    private func expectAgrees(_ seconds: Double, sourceLocation: SourceLocation = #_sourceLocation) {
        let date = Date(timeIntervalSince1970: seconds)
        for zone in Self.zones {
            let fast = TransactionRules.businessDate(date, timeZone: zone)
            let oracle = Self.calendarOracle(date, timeZone: zone)
            #expect(fast == oracle, "\(seconds) in \(zone.identifier)", sourceLocation: sourceLocation)
        }
    }

    @Test func agreesWithCalendarOnRandomInstantsFrom1900To2200() {
        var generator = SystemRandomNumberGenerator()
        let start = -2_208_988_800.0, end = 7_258_118_400.0
        for _ in 0..<3_000 { expectAgrees(Double.random(in: start..<end, using: &generator)) }
    }

    @Test func agreesAroundEveryLocalMidnightOfSeveralYears() {
        // Every day boundary in each zone ± a little (including sub-millisecond) over 2024–2027, hour by hour.
        let first = 1_704_067_200.0 - 86_400
        for hour in stride(from: 0, to: 4 * 366 * 24, by: 1) {
            let instant = first + Double(hour) * 3600
            for delta in [-1.0, -0.000_5, 0, 0.000_5, 1, 1799, 1800] { expectAgrees(instant + delta) }
        }
    }

    @Test func agreesAcrossDSTTransitions() {
        // 2026 transitions: New York Mar 8 / Nov 1, Auckland Apr 5 / Sep 27, London Mar 29 / Oct 25.
        let transitions = ["2026-03-08T07:00:00Z", "2026-11-01T06:00:00Z", "2026-04-04T14:00:00Z",
                           "2026-09-26T14:00:00Z", "2026-03-29T01:00:00Z", "2026-10-25T01:00:00Z"]
        let parser = ISO8601DateFormatter()
        for text in transitions {
            let instant = parser.date(from: text)!.timeIntervalSince1970
            for offset in stride(from: -7200.0, through: 7200, by: 60) { expectAgrees(instant + offset) }
        }
    }

    @Test func knownDatesAndTheCalendarFallbackRange() {
        let utc = TimeZone(identifier: "UTC")!
        #expect(TransactionRules.businessDate(Date(timeIntervalSince1970: 0), timeZone: utc) == "1970-01-01")
        #expect(TransactionRules.businessDate(Date(timeIntervalSince1970: -1), timeZone: utc) == "1969-12-31")
        #expect(TransactionRules.businessDate(Date(timeIntervalSince1970: 951_782_400), timeZone: utc) == "2000-02-29")
        #expect(TransactionRules.businessDate(Date(timeIntervalSince1970: 253_402_300_799), timeZone: utc) == "9999-12-31")
        // Outside 1600...9999 the Calendar path answers (Julian before 1582, five-digit years), as before.
        for seconds in [-20_000_000_000.0, -12_219_292_800, -11_676_096_000, 253_402_300_800, 300_000_000_000] {
            expectAgrees(seconds)
        }
    }
}
