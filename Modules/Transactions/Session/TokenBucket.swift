import Foundation

/// A token bucket: up to `capacity` actions at once, refilled at `refillPerSecond`. A value with no clock of its
/// own: the holder keeps it under its lock and passes the injected clock's time, so tests step time by hand.
/// WHY a bucket rather than a fixed window: a POS may send a burst (sale, display, input together) but never more
/// than the sustained rate for long, and the answer to a refused action says when the next one fits.
struct TokenBucket: Sendable, Hashable {
    let capacity: Double
    let refillPerSecond: Double
    private(set) var tokens: Double
    private(set) var updatedAt: Date?

    init(capacity: Int, refillPerSecond: Double) {
        precondition(capacity >= 1 && refillPerSecond > 0, "a bucket holds at least one token and refills")
        self.capacity = Double(capacity)
        self.refillPerSecond = refillPerSecond
        tokens = Double(capacity)
    }

    /// Takes one token at `now`: nil when taken, else the seconds until one is available (nothing is taken).
    /// A clock that steps back refills nothing.
    mutating func take(at now: Date) -> TimeInterval? {
        if let updatedAt {
            let elapsed = max(0, now.timeIntervalSince(updatedAt))
            tokens = min(capacity, tokens + elapsed * refillPerSecond)
        }
        updatedAt = max(updatedAt ?? now, now)
        guard tokens >= 1 else { return (1 - tokens) / refillPerSecond }
        tokens -= 1
        assert(tokens >= 0 && tokens <= capacity, "tokens stay within the bucket")
        return nil
    }
}
