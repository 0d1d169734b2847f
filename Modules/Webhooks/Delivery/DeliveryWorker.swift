import Foundation
import Kernel
import Synchronization

/// Every limit of the delivery worker, named with its unit.
public struct DeliveryLimits: Sendable {
    /// Deliveries in flight to one endpoint at once: a slow endpoint holds at most this many slots.
    public var perEndpointInFlightMax = 4
    /// Deliveries in flight in this process at once.
    public var inFlightMax = 128
    /// Deliveries claimed per database round trip.
    public var claimBatchMax = 64
    /// Without a wake-up, the worker looks for due deliveries this often.
    public var pollIntervalMilliseconds = 250
    /// After a failed claim (database down), the worker waits this long.
    public var errorBackoffMilliseconds = 1_000
    /// A claimed delivery belongs to its worker this long (well above the client's 15 s timeout); after it,
    /// another instance may take it over.
    public var leaseSeconds: Double = 60
    /// The receiver's response body is kept in the attempt log up to this.
    public var storedResponseBodyBytesMax = 2_048
    /// Attempt log rows are deleted after this (30 days).
    public var attemptRetentionSeconds: Double = 30 * 86_400
    public var attemptPruneIntervalSeconds: Double = 3_600
    public var attemptPruneBatchMax = 1_000

    public init() {}
}

/// Wakes the worker when the fan-out created deliveries or a slot freed up.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        /// The one waiter, with the number of its wait (so a late timer cannot resume a later wait).
        var waiter: (wait: UInt64, continuation: CheckedContinuation<Void, Never>)?
        var waits: UInt64 = 0
    }

    private let state = Mutex(State())

    func signal() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter.continuation
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns at the next signal (at once if one came since the last wait), or after `milliseconds`.
    /// WHY a timer task and one continuation (not a task group racing two children): the continuation is
    /// registered before this returns control, so no wake-up or timeout can find it missing.
    func wait(milliseconds: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let wait: UInt64? = state.withLock { state in
                if state.pending {
                    state.pending = false
                    return nil
                }
                state.waits += 1
                state.waiter = (state.waits, continuation)
                return state.waits
            }
            guard let wait else {
                continuation.resume()
                return
            }
            Task {
                do { try await Task.sleep(for: .milliseconds(milliseconds)) } catch { /* cancelled: time is up anyway */ }
                let expired: CheckedContinuation<Void, Never>? = self.state.withLock { state in
                    guard let waiter = state.waiter, waiter.wait == wait else { return nil }
                    state.waiter = nil
                    return waiter.continuation
                }
                expired?.resume()
            }
        }
    }
}

/// Sends due deliveries: claims them in batches (per-endpoint and process-wide in-flight limits, so a slow
/// or failing endpoint never holds back the others), signs and sends each, and records the outcome the
/// `WebhookDeliveryMachine` decides. Any instance may run it; leases hand over a dead instance's deliveries.
final class DeliveryWorker: BackgroundService {
    let name = "webhooks.delivery"
    let store: DeliveryStore
    let client: any OutboundHTTPClient
    let signer: WebhookSigner
    let clock: any WallClock
    let schedule: RetrySchedule
    let limits: DeliveryLimits
    let logger: Logger
    let wake: WakeSignal
    private let inFlight = Mutex<[String: Int]>([:])

    init(store: DeliveryStore, client: any OutboundHTTPClient, signer: WebhookSigner, clock: any WallClock,
         schedule: RetrySchedule, limits: DeliveryLimits, logger: Logger, wake: WakeSignal) {
        precondition(limits.perEndpointInFlightMax > 0 && limits.inFlightMax > 0 && limits.claimBatchMax > 0,
                     "limits must be positive")
        self.store = store
        self.client = client
        self.signer = signer
        self.clock = clock
        self.schedule = schedule
        self.limits = limits
        self.logger = logger
        self.wake = wake
    }

    func run() async {
        var lastPrune = Date.distantPast
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                do {
                    let now = clock.now()
                    if now.timeIntervalSince(lastPrune) >= limits.attemptPruneIntervalSeconds {
                        lastPrune = now
                        _ = try await store.pruneAttempts(olderThan: now.addingTimeInterval(-limits.attemptRetentionSeconds),
                                                          batchMax: limits.attemptPruneBatchMax)
                    }
                    let claimed = try await claimBatch()
                    for delivery in claimed {
                        group.addTask { await self.deliver(delivery) }
                    }
                    if claimed.isEmpty { await wake.wait(milliseconds: limits.pollIntervalMilliseconds) }
                } catch {
                    logger.warning("webhook claim failed", ["error": .string(String(describing: error))])
                    do { try await Task.sleep(for: .milliseconds(limits.errorBackoffMilliseconds)) } catch { break }
                }
            }
        }
    }

    /// Due deliveries within the free slots, claimed; their slots are taken.
    func claimBatch() async throws -> [ClaimedDelivery] {
        let now = clock.now()
        try await store.buryLapsed(now: now, attemptsMax: schedule.attemptsMax)
        let (busy, total) = inFlight.withLock { ($0, $0.values.reduce(0, +)) }
        let room = min(limits.claimBatchMax, limits.inFlightMax - total)
        guard room > 0 else { return [] }
        let due = try await store.due(now: now, perEndpointMax: limits.perEndpointInFlightMax, limit: room,
                                      attemptsMax: schedule.attemptsMax)
        var taken: [String: Int] = [:]
        var ids: [String] = []
        for candidate in due {
            let used = busy[candidate.endpointId, default: 0] + taken[candidate.endpointId, default: 0]
            guard used < limits.perEndpointInFlightMax else { continue }
            taken[candidate.endpointId, default: 0] += 1
            ids.append(candidate.id)
        }
        let claimed = try await store.claim(ids, now: now, leaseUntil: now.addingTimeInterval(limits.leaseSeconds),
                                            attemptsMax: schedule.attemptsMax)
        inFlight.withLock { slots in
            for delivery in claimed { slots[delivery.endpointId, default: 0] += 1 }
        }
        return claimed
    }

    /// Sends one claimed delivery and records what happened; frees its slot and wakes the loop.
    func deliver(_ delivery: ClaimedDelivery) async {
        defer {
            inFlight.withLock { slots in
                let left = slots[delivery.endpointId, default: 1] - 1
                slots[delivery.endpointId] = left > 0 ? left : nil
            }
            wake.signal()
        }
        let startedAt = clock.now()
        let started = ContinuousClock.now
        let (outcome, statusCode, responseBody, errorText) = await send(delivery, at: startedAt)
        let elapsed = ContinuousClock.now - started
        let latency = Int(elapsed.components.seconds * 1_000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        var machine = WebhookDeliveryMachine(schedule: schedule, status: .delivering, attempts: delivery.attempt,
                                           nextAttemptAt: startedAt)
        let now = clock.now()
        let action = machine.finish(outcome, now: now, jitterUnit: Double.random(in: 0...1))
        let nextAttemptAt: Date? = if case .retry(let at) = action { at } else { nil }
        let store = store
        let status = machine.status
        // Recorded in a task of its own: on shutdown this delivery's task is cancelled, and database work in a
        // cancelled task is cancelled too, which would send an answered delivery again after its lease.
        let recording = Task {
            try await store.record(delivery, action: action, status: status, nextAttemptAt: nextAttemptAt,
                                   startedAt: startedAt, latencyMilliseconds: max(0, latency), statusCode: statusCode,
                                   error: errorText, responseBody: responseBody, now: now)
        }
        do {
            try await recording.value
        } catch {
            // The lease lapses and the delivery is sent again (at least once): log, never drop silently.
            logger.error("webhook attempt not recorded", ["delivery": .string(delivery.id),
                                                          "error": .string(String(describing: error))])
        }
    }

    /// The signed POST; its outcome for the state machine and what the attempt log keeps.
    private func send(_ delivery: ClaimedDelivery, at now: Date)
        async -> (AttemptOutcome, statusCode: Int?, responseBody: String?, error: String?) {
        guard let url = OutboundURL.parse(delivery.url) else {
            return (.failure("invalid URL"), nil, nil, "invalid URL")
        }
        if delivery.mode.isLive && !url.isHTTPS {
            return (.failure("live endpoints must use https"), nil, nil, "live endpoints must use https")
        }
        let body = delivery.body
        let timestamp = Int64(now.timeIntervalSince1970.rounded(.down))
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        headers.add("Atlas-Event-Id", delivery.eventId)
        headers.add("Atlas-Event-Type", delivery.eventType)
        headers.add("Atlas-Delivery", String(delivery.attempt))
        headers.add("Atlas-Signature", signer.atlasSignature(secrets: delivery.secrets, timestamp: timestamp, body: body))
        headers.add("Atlas-Webhook-Id", delivery.endpointId)
        headers.add("webhook-id", delivery.eventId)
        headers.add("webhook-timestamp", String(timestamp))
        headers.add("webhook-signature", signer.standardSignature(secrets: delivery.secrets, messageId: delivery.eventId,
                                                                  timestamp: timestamp, body: body))
        do {
            let response = try await client.send(OutboundRequest(url: url, method: .post, headers: headers, body: body))
            // PostgreSQL text cannot hold NUL.
            let kept = String(decoding: response.body.prefix(limits.storedResponseBodyBytesMax).filter { $0 != 0 }, as: UTF8.self)
            let retryAfter = WebhookDeliveryMachine.retryAfterSeconds(response.headers["Retry-After"])
            return (.response(status: response.status, retryAfterSeconds: retryAfter), response.status, kept,
                    (200..<300).contains(response.status) ? nil : "HTTP \(response.status)")
        } catch {
            return (.failure(error.description), nil, nil, error.description)
        }
    }
}
