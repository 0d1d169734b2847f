public import Foundation
import Synchronization

/// The time source every module uses. Named `WallClock` (not `Clock`) so it does not collide with
/// the standard library's `Clock` protocol; tests inject `ManualWallClock` to cross rotation windows.
public protocol WallClock: Sendable {
    func now() -> Date
}

extension WallClock {
    public func unixMillis() -> Int64 { Int64((now().timeIntervalSince1970 * 1000).rounded(.down)) }
    public func unixSeconds() -> Int64 { Int64(now().timeIntervalSince1970.rounded(.down)) }
}

public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that moves only when told to; for tests of expiry and rotation windows.
public final class ManualWallClock: WallClock {
    private let current: Mutex<Date>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_775_000_000)) {
        current = Mutex(start)
    }

    public func now() -> Date { current.withLock { $0 } }

    public func advance(seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    public func set(_ date: Date) { current.withLock { $0 = date } }
}

/// ISO 8601 / RFC 3339 text for API responses, e.g. "2026-04-09T12:00:00Z" or with ".123Z".
///
/// Written with integer calendar arithmetic (`GregorianDays`): every response and event payload carries
/// timestamps, and `Date.ISO8601FormatStyle` cost about 2 µs each (the settlement export spent most of its time
/// there). The text is the format style's exactly, digit for digit. Outside the years 1583–9999 (where
/// Foundation's calendar switches to Julian, or years take five digits) the format style still writes it.
public enum Timestamp {
    /// Whole microseconds since 1970, rounded to the nearest: PostgreSQL's timestamptz precision. Every path that
    /// sends a time to the database as a number or text (binds, array columns, JSON batches) rounds with this.
    public static func microsecondsSinceEpoch(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    public static func iso8601(_ date: Date, fractionalSeconds: Bool = false) -> String {
        // The format style's arithmetic: whole seconds since the reference date rounded down, then the fraction's
        // milliseconds rounded down (so 0.507 stored as 0.50699999… prints .506, as it always did).
        let sinceReference = date.timeIntervalSinceReferenceDate
        let wholeSeconds = sinceReference.rounded(.down)
        let seconds = wholeSeconds.isFinite ? Int64(exactly: wholeSeconds).map { $0 + referenceDateSince1970Seconds } : nil
        guard let seconds, seconds >= fastPathSecondsMin, seconds < fastPathSecondsMax else {
            return date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: fractionalSeconds, timeZone: .gmt))
        }
        let milli = min(Int64(((sinceReference - wholeSeconds) * 1000).rounded(.down)), 999)
        let (days, secondOfDay) = floorDivision(seconds, 86_400)
        let civil = GregorianDays.civil(daysSinceEpoch: days)
        return String(unsafeUninitializedCapacity: textBytesMax) { buffer in
            var offset = 0
            func put(_ value: Int64, width: Int) {
                GregorianDays.writeDigits(value, width: width, into: buffer, at: offset)
                offset += width
            }
            func put(_ character: Unicode.Scalar) { buffer[offset] = UInt8(ascii: character); offset += 1 }
            put(civil.year, width: 4); put("-"); put(civil.month, width: 2); put("-"); put(civil.day, width: 2)
            put("T"); put(secondOfDay / 3600, width: 2); put(":"); put(secondOfDay / 60 % 60, width: 2); put(":")
            put(secondOfDay % 60, width: 2)
            if fractionalSeconds { put("."); put(milli, width: 3) }
            put("Z")
            return offset
        }
    }

    /// "YYYY-MM-DDTHH:MM:SS.mmmZ"
    static let textBytesMax = 24
    /// 1583-01-01T00:00:00Z and 10000-01-01T00:00:00Z in seconds since 1970.
    static let fastPathSecondsMin = GregorianDays.daysSinceEpoch(year: 1583, month: 1, day: 1) * 86_400
    static let fastPathSecondsMax = GregorianDays.daysSinceEpoch(year: 10_000, month: 1, day: 1) * 86_400
    /// 2001-01-01T00:00:00Z, Foundation's reference date, in seconds since 1970.
    static let referenceDateSince1970Seconds: Int64 = 978_307_200

    /// Quotient rounded toward negative infinity and a remainder in 0..<divisor.
    static func floorDivision(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let quotient = value / divisor
        let remainder = value % divisor
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }

    public static func parseISO8601(_ text: String) -> Date? {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        return try? Date.ISO8601FormatStyle().parse(text)
    }
}
