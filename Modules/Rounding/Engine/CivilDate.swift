public import Foundation
import Kernel

/// A calendar day (proleptic Gregorian) such as 2025-01-01. Rule effective dates are days, not
/// instants, so comparisons are on this type. Built from a `Date` with plain integer arithmetic
/// (Howard Hinnant's days-from-civil algorithm) instead of `Calendar`, which is slow and locale-bound.
public struct CivilDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Validates ranges (month 1–12, day within the month); nil when invalid.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), day >= 1, day <= CivilDate.daysInMonth(year: year, month: month) else {
            return nil
        }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses "YYYY-MM-DD"; nil otherwise.
    public init?(iso8601 text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]) else { return nil }
        self.init(year: year, month: month, day: day)
    }

    /// The UTC calendar day of `date`, shifted by `utcOffsetSeconds` (e.g. −25200 for Arizona).
    public init(_ date: Date, utcOffsetSeconds: Int = 0) {
        let seconds = Int((date.timeIntervalSince1970).rounded(.down)) + utcOffsetSeconds
        let days = seconds >= 0 ? seconds / 86_400 : -((-seconds + 86_399) / 86_400)
        self = CivilDate(daysSinceEpoch: days)
    }

    /// Days since 1970-01-01 → civil date.
    public init(daysSinceEpoch: Int) {
        let civil = GregorianDays.civil(daysSinceEpoch: Int64(daysSinceEpoch))
        year = Int(civil.year)
        month = Int(civil.month)
        day = Int(civil.day)
    }

    public var iso8601: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    public var description: String { iso8601 }

    public static func < (lhs: CivilDate, rhs: CivilDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let date = CivilDate(iso8601: try container.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected YYYY-MM-DD")
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(iso8601)
    }
}
