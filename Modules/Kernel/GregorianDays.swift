import Foundation

/// Days since 1970-01-01 → proleptic Gregorian year, month and day (Howard Hinnant's `civil_from_days`):
/// pure integer arithmetic, no `Calendar`. One copy for every module that formats or compares calendar
/// days on a hot path (timestamp binds, business dates, rounding rule dates).
public enum GregorianDays {
    public static func civil(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = daysSinceEpoch + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension GregorianDays {
    /// Proleptic Gregorian year, month (1–12) and day → days since 1970-01-01 (Hinnant's `days_from_civil`).
    public static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let marchYear = month <= 2 ? year - 1 : year
        let era = (marchYear >= 0 ? marchYear : marchYear - 399) / 400
        let yearOfEra = marchYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

extension GregorianDays {
    /// 28–31: the days of a proleptic Gregorian month.
    public static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

extension GregorianDays {
    static let dateTextBytes = 10

    /// "YYYY-MM-DD", what `String(format: "%04lld-%02lld-%02lld", …)` prints for years 0–9999, written into 10 bytes.
    /// WHY not `String(format:)`: the posting consumer dates every entry with it, and Foundation's formatter took about
    /// 2% of the server's CPU in the sale bench. Years outside 0–9999 keep the formatter's output.
    public static func dateText(_ civil: (year: Int64, month: Int64, day: Int64)) -> String {
        guard (0...9999).contains(civil.year) else {
            return String(format: "%04lld-%02lld-%02lld", civil.year, civil.month, civil.day)
        }
        return String(unsafeUninitializedCapacity: dateTextBytes) { buffer in
            writeDigits(civil.year, width: 4, into: buffer, at: 0)
            buffer[4] = UInt8(ascii: "-")
            writeDigits(civil.month, width: 2, into: buffer, at: 5)
            buffer[7] = UInt8(ascii: "-")
            writeDigits(civil.day, width: 2, into: buffer, at: 8)
            return dateTextBytes
        }
    }

    /// `value` (≥ 0) as `width` decimal digits, zero-padded, at `start`: the calendar texts here and in `Timestamp`.
    static func writeDigits(_ value: Int64, width: Int, into buffer: UnsafeMutableBufferPointer<UInt8>, at start: Int) {
        var remaining = value
        for index in stride(from: start + width - 1, through: start, by: -1) {
            buffer[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10)
            remaining /= 10
        }
    }
}
