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
public enum Timestamp {
    public static func iso8601(_ date: Date, fractionalSeconds: Bool = false) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: fractionalSeconds, timeZone: .gmt))
    }

    public static func parseISO8601(_ text: String) -> Date? {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        return try? Date.ISO8601FormatStyle().parse(text)
    }
}
