import Foundation
import Kernel

/// The Commerce retry schedule, written down in docs/webhooks.md. Every number is named here.
struct RetrySchedule: Sendable, Hashable {
    /// Attempts before the dead letter (Commerce §7: 7).
    var attemptsMax = 7
    /// The wait after the first failed attempt; each later wait is `backoffFactor` times longer.
    var firstRetryDelaySeconds: Double = 60
    var backoffFactor: Double = 4
    var retryDelayMaxSeconds: Double = 86_400
    /// Each wait is moved by up to ± this fraction, so receivers that failed together are not retried together.
    var jitterFraction: Double = 0.1
    /// A `Retry-After` (on 429 and 503) is honoured up to this.
    var retryAfterSecondsMax: Double = 86_400
    /// When set, the wait after failed attempt n is element n-1 (a published table such as §11's) instead of
    /// the exponential one; it must list `attemptsMax - 1` waits.
    var fixedDelaysSeconds: [Double]?

    init(attemptsMax: Int = 7, fixedDelaysSeconds: [Double]? = nil) {
        precondition(fixedDelaysSeconds.map { $0.count == attemptsMax - 1 } ?? true, "one wait between each two attempts")
        self.attemptsMax = attemptsMax
        self.fixedDelaysSeconds = fixedDelaysSeconds
    }

    /// The wait after failed attempt `attempt` (1-based) before jitter: 60 s, 4 min, 16 min, 64 min,
    /// 4 h 16 min, 17 h 4 min.
    func baseDelaySeconds(afterAttempt attempt: Int) -> Double {
        precondition(attempt >= 1, "attempts count from 1")
        if let fixed = fixedDelaysSeconds { return fixed[min(attempt, fixed.count) - 1] }
        return min(firstRetryDelaySeconds * pow(backoffFactor, Double(attempt - 1)), retryDelayMaxSeconds)
    }

    /// `jitterUnit` in [0, 1): 0.5 is no jitter, 0 the shortest wait, 1 the longest.
    func delaySeconds(afterAttempt attempt: Int, jitterUnit: Double) -> Double {
        precondition((0...1).contains(jitterUnit), "jitter is drawn from [0, 1]")
        let base = baseDelaySeconds(afterAttempt: attempt)
        return base * (1 + jitterFraction * (2 * jitterUnit - 1))
    }
}

/// What the receiver (or the network) answered to one attempt.
enum AttemptOutcome: Sendable, Hashable {
    /// An HTTP response; `retryAfterSeconds` parsed from `Retry-After` when present.
    case response(status: Int, retryAfterSeconds: Int?)
    /// No response: refused, timed out, TLS failure, forbidden destination.
    case failure(String)
}

/// One delivery's life: pending → delivering → succeeded, or back to pending for a retry, or dead after
/// the last attempt (or on 410 Gone, which also disables the endpoint). A replay puts it back to pending
/// with a new attempt counter. A value whose transitions return the action for the worker to perform;
/// time comes in as `now`, so tests drive it with a manual clock.
struct WebhookDeliveryMachine: Sendable, Hashable {
    enum Status: String, Sendable, Hashable {
        case pending, delivering, succeeded, dead
    }

    enum Action: Sendable, Hashable {
        /// Send now with `Atlas-Delivery: attempt`.
        case send(attempt: Int)
        case succeeded
        case retry(at: Date)
        /// The last attempt failed: into the dead letter.
        case deadLetter
        /// 410 Gone: the delivery is dead and the endpoint is disabled.
        case disableEndpoint
    }

    let schedule: RetrySchedule
    private(set) var status: Status
    /// Attempts made in the current run.
    private(set) var attempts: Int
    private(set) var nextAttemptAt: Date

    init(schedule: RetrySchedule, status: Status = .pending, attempts: Int = 0, nextAttemptAt: Date) {
        precondition(attempts >= 0 && attempts <= schedule.attemptsMax, "attempts within the schedule")
        self.schedule = schedule
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
    }

    /// The worker claims the delivery (due, or delivering with a lapsed lease: that attempt is retried).
    mutating func start(now: Date) -> Action {
        precondition(status == .pending || status == .delivering, "only a pending delivery starts")
        precondition(nextAttemptAt <= now || status == .delivering, "not due yet")
        precondition(attempts < schedule.attemptsMax, "no attempt left")
        status = .delivering
        attempts += 1
        return .send(attempt: attempts)
    }

    mutating func finish(_ outcome: AttemptOutcome, now: Date, jitterUnit: Double) -> Action {
        precondition(status == .delivering, "finish follows start")
        if case .response(let code, _) = outcome, (200..<300).contains(code) {
            status = .succeeded
            return .succeeded
        }
        if case .response(410, _) = outcome {
            status = .dead
            return .disableEndpoint
        }
        guard attempts < schedule.attemptsMax else {
            status = .dead
            return .deadLetter
        }
        var delay = schedule.delaySeconds(afterAttempt: attempts, jitterUnit: jitterUnit)
        if case .response(let code, let retryAfter?) = outcome, code == 429 || code == 503 {
            delay = min(max(Double(retryAfter), 1), schedule.retryAfterSecondsMax)
        }
        status = .pending
        nextAttemptAt = now.addingTimeInterval(delay)
        return .retry(at: nextAttemptAt)
    }

    /// Replay: the same event again, attempts counted from 1 anew.
    mutating func replay(now: Date) {
        precondition(status != .delivering, "a delivery in flight is not replayed")
        status = .pending
        attempts = 0
        nextAttemptAt = now
    }

    /// `Retry-After` as delta-seconds (HTTP-dates are ignored: the schedule applies).
    static func retryAfterSeconds(_ header: String?) -> Int? {
        guard let header, let seconds = Int(header.trimmingCharacters(in: .whitespaces)), seconds >= 0 else { return nil }
        return seconds
    }
}
