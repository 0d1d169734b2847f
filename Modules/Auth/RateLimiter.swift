import Foundation
import Kernel
import Synchronization

/// One limit: `limit` requests per `periodSeconds`, allowing bursts of up to `burst` at once.
struct RateLimitPolicy: Sendable, Hashable {
    let name: String
    let limit: Int
    let periodSeconds: Double
    let burst: Int

    var emissionIntervalSeconds: Double { periodSeconds / Double(limit) }

    /// Commerce/payments `sk_` keys (payments API docs): 1,000/minute and 100,000/day.
    static let secretKeyMinute = RateLimitPolicy(name: "minute", limit: 1_000, periodSeconds: 60, burst: 1_000)
    static let secretKeyDay = RateLimitPolicy(name: "day", limit: 100_000, periodSeconds: 86_400, burst: 100_000)
    /// Cash-rounding role keys (rounding spec §7): 1,000/hour sandbox, 10,000/hour production.
    static let roleKeyTest = RateLimitPolicy(name: "hour", limit: 1_000, periodSeconds: 3_600, burst: 1_000)
    static let roleKeyLive = RateLimitPolicy(name: "hour", limit: 10_000, periodSeconds: 3_600, burst: 10_000)
    /// Accounting user tiers (per minute / burst).
    static let userStandard = RateLimitPolicy(name: "minute", limit: 60, periodSeconds: 60, burst: 10)
    static let userProfessional = RateLimitPolicy(name: "minute", limit: 300, periodSeconds: 60, burst: 50)
    static let userEnterprise = RateLimitPolicy(name: "minute", limit: 1_000, periodSeconds: 60, burst: 100)
    /// Per terminal identity on `/api/session-grant` and `/api/auth/token` (60/min, as the sync API uses).
    static let deviceMinute = RateLimitPolicy(name: "minute", limit: 60, periodSeconds: 60, burst: 10)
    /// Per device on batch uploads (`RateLimitBucket.batchUpload`, `POST /api/reconcile`), its own bucket: 40
    /// batches at once (20,000 events at 500 a batch: a week offline at a busy gate), then 2 a second (1,000
    /// events/s sustained, a twentieth of the backend's 20,000/s target). Counted by requests, not events: a
    /// batch holds at most 500 events, so this bounds events too, while an event count would let a device send
    /// thousands of 1-event batches (each a transaction with its card locks). docs/reconciliation.md.
    static let deviceBatchUpload = RateLimitPolicy(name: "batch_minute", limit: 120, periodSeconds: 60, burst: 40)

    static let secretKeyConcurrentMax = 50
}

/// The outcome of one check, with what the X-RateLimit-* headers report.
struct RateLimitDecision: Sendable {
    let allowed: Bool
    let limit: Int
    let remaining: Int
    /// Unix seconds when the bucket is full again.
    let resetUnixSeconds: Int64
    let retryAfterSeconds: Int

    var headers: [(String, String)] {
        var headers = [("X-RateLimit-Limit", String(limit)), ("X-RateLimit-Remaining", String(remaining)),
                       ("X-RateLimit-Reset", String(resetUnixSeconds))]
        if !allowed { headers.append(("Retry-After", String(retryAfterSeconds))) }
        return headers
    }
}

/// GCRA (generic cell rate algorithm): one timestamp per key, no timers, exact for bursts.
/// In-process: with several instances behind a balancer each enforces its own share (documented).
final class RateLimiter: Sendable {
    /// Bound on tracked keys; idle keys are swept when it is reached.
    static let keysMax = 200_000

    private struct State {
        var theoreticalArrival: [String: Double] = [:]
        var concurrent: [String: Int] = [:]
    }

    private let state = Mutex(State())
    private let clock: any WallClock

    init(clock: any WallClock) { self.clock = clock }

    /// Checks every policy for `key`; consumes from all of them only when all allow.
    func check(key: String, policies: [RateLimitPolicy]) -> RateLimitDecision {
        let now = clock.now().timeIntervalSince1970
        return state.withLock { state in
            if state.theoreticalArrival.count >= Self.keysMax { Self.sweep(&state, now: now) }
            var decisions: [(RateLimitDecision, String, Double)] = []
            for policy in policies {
                let slot = key + "|" + policy.name
                let interval = policy.emissionIntervalSeconds
                let tolerance = interval * Double(policy.burst)
                let arrival = max(state.theoreticalArrival[slot] ?? now, now)
                let newArrival = arrival + interval
                let allowed = newArrival - now <= tolerance + 1e-9
                let effective = allowed ? newArrival : arrival
                let remaining = max(0, Int(((tolerance - (effective - now)) / interval).rounded(.down)))
                let retryAfter = allowed ? 0 : max(1, Int((newArrival - now - tolerance).rounded(.up)))
                let decision = RateLimitDecision(allowed: allowed, limit: policy.limit, remaining: remaining,
                                                 resetUnixSeconds: Int64(effective.rounded(.up)), retryAfterSeconds: retryAfter)
                decisions.append((decision, slot, newArrival))
            }
            let allAllowed = decisions.allSatisfy { $0.0.allowed }
            if allAllowed { for (_, slot, arrival) in decisions { state.theoreticalArrival[slot] = arrival } }
            // Report the tightest policy: a refusing one, else the one with the fewest remaining.
            let reported = decisions.first { !$0.0.allowed } ?? decisions.min { $0.0.remaining < $1.0.remaining }
            return reported?.0 ?? RateLimitDecision(allowed: true, limit: 0, remaining: 0, resetUnixSeconds: 0,
                                                    retryAfterSeconds: 0)
        }
    }

    /// Takes a concurrency slot; false when `maximum` requests for `key` are already running.
    func enter(key: String, maximum: Int) -> Bool {
        state.withLock { state in
            let current = state.concurrent[key, default: 0]
            guard current < maximum else { return false }
            state.concurrent[key] = current + 1
            return true
        }
    }

    func leave(key: String) {
        state.withLock { state in
            let current = state.concurrent[key, default: 1] - 1
            state.concurrent[key] = current <= 0 ? nil : current
        }
    }

    private static func sweep(_ state: inout State, now: Double) {
        state.theoreticalArrival = state.theoreticalArrival.filter { $0.value > now }
    }
}
