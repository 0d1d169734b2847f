import Foundation
import Testing
@testable import Kernel

/// The integer-arithmetic timestamp paths against Foundation's: the same text and the same `Date`, bit for bit.
@Suite struct TimestampTextTests {
    static func foundationText(_ date: Date, fractional: Bool) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: fractional, timeZone: .gmt))
    }

    @Test func formatsAsTheFormatStyleDoes() {
        var random = SplitMix64(seed: 42)
        var dates = [0, -0.0004, 0.9996, 1.0004, -1.5, 1_764_000_000.9999, 1_764_000_000.1234567, 951_782_400,
                     253_402_300_799.999, 253_402_300_800, -12_212_553_600, -12_212_553_600.001, -62_135_596_800]
            .map { Date(timeIntervalSince1970: $0) }
        for _ in 0..<20_000 {
            dates.append(Date(timeIntervalSince1970: Double.random(in: -13_000_000_000...254_000_000_000, using: &random)))
            dates.append(Date(timeIntervalSince1970: Double(Int64.random(in: 0...4_000_000_000_000, using: &random)) / 1000))
        }
        var mismatches: [String] = []
        for date in dates {
            for fractional in [false, true] where Timestamp.iso8601(date, fractionalSeconds: fractional)
                != Self.foundationText(date, fractional: fractional) {
                mismatches.append("\(date.timeIntervalSince1970) fractional=\(fractional): "
                    + "\(Timestamp.iso8601(date, fractionalSeconds: fractional)) vs \(Self.foundationText(date, fractional: fractional))")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test func dateTextPrintsWhatTheFormatterPrints() {
        var random = SplitMix64(seed: 11)
        var civils: [(year: Int64, month: Int64, day: Int64)] = [(0, 1, 1), (9, 9, 9), (999, 12, 31), (2026, 12, 5),
                                                                  (9999, 12, 31), (10_000, 1, 1), (-1, 12, 31), (-12_345, 3, 1)]
        for _ in 0..<5_000 {
            civils.append(GregorianDays.civil(daysSinceEpoch: Int64.random(in: -800_000...3_000_000, using: &random)))
        }
        let mismatches = civils.filter {
            GregorianDays.dateText($0) != String(format: "%04lld-%02lld-%02lld", $0.year, $0.month, $0.day)
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test func parsesAsTheGeneralPathDoes() {
        var random = SplitMix64(seed: 7)
        var texts = ["2026-11-25 20:02:27.123456+00", "2026-01-01 00:00:00+02", "2026-01-01 00:00:00-05:30",
                     "2000-02-29 23:59:59.999999+00", "1583-01-01 00:00:00+00", "9999-12-31 23:59:59.5+14",
                     "2026-11-25T20:02:27Z", "2026-11-25 20:02:27.1234567891+00"]
        for _ in 0..<20_000 {
            let seconds = Int64.random(in: -12_000_000_000...253_000_000_000, using: &random)
            let (days, secondOfDay) = Timestamp.floorDivision(seconds, 86_400)
            let civil = GregorianDays.civil(daysSinceEpoch: days)
            var text = String(format: "%04lld-%02lld-%02lld %02lld:%02lld:%02lld", civil.year, civil.month, civil.day,
                              secondOfDay / 3600, secondOfDay / 60 % 60, secondOfDay % 60)
            let digits = Int.random(in: 0...6, using: &random)
            if digits > 0 { text += "." + String((0..<digits).map { _ in Character(String(Int.random(in: 0...9, using: &random))) }) }
            switch Int.random(in: 0...3, using: &random) {
            case 0: text += "+00"
            case 1: text += String(format: "+%02d", Int.random(in: 0...14, using: &random))
            case 2: text += String(format: "-%02d:%02d", Int.random(in: 0...12, using: &random), [0, 30, 45].randomElement(using: &random)!)
            default: break
            }
            texts.append(text)
        }
        var mismatches: [String] = []
        for text in texts {
            let fast = PostgresTimestamp.parse(text)
            let general = PostgresTimestamp.parseGeneral(text)
            if fast?.timeIntervalSinceReferenceDate != general?.timeIntervalSinceReferenceDate {
                mismatches.append("\(text): \(String(describing: fast)) vs \(String(describing: general))")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test func refusesWhatPostgreSQLNeverPrints() {
        for text in ["garbage", "", "2026-01-01 00:00:00+", "2026-01-01", "2026-01-01 00:00"] {
            #expect(PostgresTimestamp.parse(text) == nil, "\(text)")
        }
    }

    @Test func civilDaysRoundTrip() {
        for days in stride(from: Int64(-800_000), through: 3_000_000, by: 37) {
            let civil = GregorianDays.civil(daysSinceEpoch: days)
            #expect(GregorianDays.daysSinceEpoch(year: civil.year, month: civil.month, day: civil.day) == days)
            #expect(civil.day <= GregorianDays.daysInMonth(year: civil.year, month: civil.month))
        }
    }
}
