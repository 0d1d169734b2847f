import Foundation
import Kernel
import Synchronization

/// Every limit of the delivery worker, named with its unit.
public struct DeliveryLimits: Sendable {
    /// Requests open to one endpoint at once: a slow endpoint holds at most this many slots.
    public var perEndpointInFlightMax = 4
    /// Deliveries of one endpoint claimed at once (being sent, or waiting in its queue; `DeliveryQueues`). A
    /// slow or failing endpoint is held to `perEndpointInFlightMax`.
    public var perEndpointHeldMax = 32
    /// Deliveries claimed and not yet recorded in this process at once (waiting, being sent or being written).
    public var inFlightMax = 512
    /// Deliveries claimed per database round trip.
    public var claimBatchMax = 256
    /// Without a wake-up, the worker looks for due deliveries this often.
    public var pollIntervalMilliseconds = 250
    /// After a failed claim (database down), the worker waits this long.
    public var errorBackoffMilliseconds = 1_000
    /// A claimed delivery belongs to its worker this long (well above the client's 15 s timeout); after it,
    /// another instance may take it over. `ATLAS_WEBHOOK_LEASE_SECONDS` (20–3600) sets it (the crash test
    /// shortens it so a killed server's deliveries move on sooner).
    public var leaseSeconds: Double = 60
    /// The receiver's response body is kept in the attempt log up to this.
    public var storedResponseBodyBytesMax = 2_048
    /// A finished attempt whose recording failed (the database restarting) is recorded again this many times
    /// in all, this far apart, before its lease is left to send it again.
    public var recordTriesMax = 6
    public var recordRetryDelayMilliseconds = 500
    /// Successful attempts are written together (`DeliveryStore.recordSucceeded`): this many per statement,
    /// this many statements at once, and this many waiting (beyond it a success is written alone; at most
    /// `inFlightMax` can wait in practice).
    public var successBatchItemsMax = 64
    public var successBatchesInFlightMax = 2
    public var successQueueItemsMax = 1_024
    /// An endpoint whose every attempt has failed for this long (5 days) is disabled (`disabledReason:
    /// "failing"`) and `webhook_endpoint.disabled` is appended; any success ends the streak.
    /// `ATLAS_WEBHOOK_FAILING_DISABLE_DAYS` sets it.
    public var failingDisableAfterSeconds: Double = 5 * 86_400
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
        var waiter: (wait: UInt64, continuation: CheckedContinuation<Bool, Never>)?
        var waits: UInt64 = 0
    }

    private let state = Mutex(State())

    func signal() {
        let waiter: CheckedContinuation<Bool, Never>? = state.withLock { state in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter.continuation
            }
            state.pending = true
            return nil
        }
        waiter?.resume(returning: true)
    }

    /// Returns true at the next signal (at once if one came since the last wait), false after `milliseconds`.
    /// WHY a timer task and one continuation (not a task group racing two children): the continuation is
    /// registered before this returns control, so no wake-up or timeout can find it missing.
    @discardableResult
    func wait(milliseconds: Int) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
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
                continuation.resume(returning: true)
                return
            }
            Task {
                do { try await Task.sleep(for: .milliseconds(milliseconds)) } catch { /* cancelled: time is up anyway */ }
                let expired: CheckedContinuation<Bool, Never>? = self.state.withLock { state in
                    guard let waiter = state.waiter, waiter.wait == wait else { return nil }
                    state.waiter = nil
                    return waiter.continuation
                }
                expired?.resume(returning: false)
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
    let requests: DeliveryRequestBuilder
    let clock: any WallClock
    let schedules: FlavourSchedules
    let limits: DeliveryLimits
    let logger: Logger
    let wake: WakeSignal
    /// False: the worker warns once when it starts (secrets are stored in clear).
    let secretsEncrypted: Bool
    /// Claimed deliveries per endpoint, and in all (`DeliveryQueues`).
    private let queues: Mutex<DeliveryQueues>
    /// Outcomes being written; shutdown waits for them (an answered delivery is not sent again after its lease).
    private let recordings = Mutex(0)
    /// Successful attempts recorded together (most attempts succeed; `DeliveryStore.recordSucceeded`).
    private let successes: GroupBatcher<FinishedAttempt, Bool>

    init(store: DeliveryStore, client: any OutboundHTTPClient, signer: WebhookSigner, clock: any WallClock,
         schedules: FlavourSchedules, limits: DeliveryLimits, logger: Logger, wake: WakeSignal, secretsEncrypted: Bool = true) {
        precondition(limits.claimBatchMax > 0, "limits must be positive")
        queues = Mutex(DeliveryQueues(sendingMax: limits.perEndpointInFlightMax, heldMax: limits.perEndpointHeldMax,
                                      unrecordedMax: limits.inFlightMax, staleAfterSeconds: limits.leaseSeconds / 2))
        self.store = store
        self.client = client
        requests = DeliveryRequestBuilder(signer: signer)
        self.clock = clock
        self.schedules = schedules
        self.limits = limits
        self.logger = logger
        self.wake = wake
        self.secretsEncrypted = secretsEncrypted
        successes = GroupBatcher(limits: .init(batchItemsMax: limits.successBatchItemsMax,
                                                   flushersMax: limits.successBatchesInFlightMax,
                                                   queueItemsMax: limits.successQueueItemsMax)) { [store] attempts in
            do {
                // Not written: the lease lapsed and another attempt owns the delivery (fenced), not an error.
                let written = try await store.recordSucceeded(attempts)
                return attempts.map { .success(written.contains($0.delivery.id)) }
            } catch {
                // Each alone, so one attempt's failure is only its own (GroupBatcher's rule); the batch's error
                // comes again from each while the database is down.
                return await GroupBatcher.eachAlone(attempts) { attempt in
                    try await store.recordSucceeded([attempt]).contains(attempt.delivery.id)
                }
            }
        }
    }

    func run() async {
        if !secretsEncrypted {
            logger.warning("webhook endpoint secrets are stored unencrypted: set ATLAS_WEBHOOK_SECRET_KEYS")
        }
        var lastPrune = Date.distantPast
        var pollDue = true
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                do {
                    let now = clock.now()
                    if now.timeIntervalSince(lastPrune) >= limits.attemptPruneIntervalSeconds {
                        lastPrune = now
                        _ = try await store.pruneAttempts(olderThan: now.addingTimeInterval(-limits.attemptRetentionSeconds),
                                                          batchMax: limits.attemptPruneBatchMax)
                    }
                    // A claim when an endpoint's queue ran dry (or nothing is held), and at every poll interval
                    // (so an endpoint not held yet is never kept waiting behind busy ones).
                    if pollDue || queues.withLock({ $0.wantsClaim }) {
                        let (claimedCount, start) = try await claimBatch()
                        for held in start { group.addTask { await self.sendInSlot(held) } }
                        if claimedCount > 0 { continue }
                    }
                    pollDue = !(await wake.wait(milliseconds: limits.pollIntervalMilliseconds))
                } catch {
                    logger.warning("webhook claim failed", ["error": .string(String(describing: error))])
                    do { try await Task.sleep(for: .milliseconds(limits.errorBackoffMilliseconds)) } catch { break }
                }
            }
        }
        await drainRecordings()
    }

    /// Sends what a claim started (and everything queued behind it) and waits until every outcome is written:
    /// one worker step, for tests that move a manual clock between steps.
    func sendAndRecord(_ start: [DeliveryQueues.Held]) async {
        await withDiscardingTaskGroup { group in
            for held in start { group.addTask { await self.sendInSlot(held) } }
        }
        await drainRecordings()
    }

    /// Waits (a bounded time) for the outcomes still being written when the worker stops.
    private func drainRecordings() async {
        let waitMax = Duration.milliseconds(limits.recordTriesMax * limits.recordRetryDelayMilliseconds + 5_000)
        let deadline = ContinuousClock.now + waitMax
        while recordings.withLock({ $0 }) > 0 && ContinuousClock.now < deadline {
            do { try await Task.sleep(for: .milliseconds(10)) } catch { /* stopping anyway */ }
        }
    }

    /// Due deliveries within the room of each endpoint and of the process, claimed and queued; returns how many
    /// were claimed and those to start sending now.
    func claimBatch() async throws -> (claimed: Int, start: [DeliveryQueues.Held]) {
        let now = clock.now()
        try await store.buryLapsed(now: now, schedules: schedules)
        let snapshot = queues.withLock { $0 }
        let room = min(limits.claimBatchMax, snapshot.claimRoom)
        guard room > 0 else { return (0, []) }
        let due = try await store.due(now: now, perEndpointMax: limits.perEndpointHeldMax, limit: room, schedules: schedules)
        var taken: [String: Int] = [:]
        var ids: [String] = []
        for candidate in due where taken[candidate.endpointId, default: 0] < snapshot.room(for: candidate.endpointId) {
            taken[candidate.endpointId, default: 0] += 1
            ids.append(candidate.id)
        }
        let claimed = try await store.claim(ids, now: now, leaseUntil: now.addingTimeInterval(limits.leaseSeconds),
                                            schedules: schedules)
        // Only this loop claims, so the room seen above is still there.
        let start = queues.withLock { $0.claimed(claimed, at: now) }
        return (claimed.count, start)
    }

    /// Sends deliveries of one endpoint in one open-request slot, one after another from its queue, until the
    /// queue is empty; stale ones are given back unsent.
    private func sendInSlot(_ first: DeliveryQueues.Held) async {
        var current = first
        while true {
            let started = ContinuousClock.now
            let succeeded = await deliver(current.delivery)
            let slowOrFailed = !succeeded || ContinuousClock.now - started >= .seconds(DeliveryQueues.slowExchangeSeconds)
            let now = clock.now()
            let (next, dropped) = queues.withLock {
                $0.sendEnded(endpointId: current.delivery.endpointId, slowOrFailed: slowOrFailed, now: now)
            }
            if !dropped.isEmpty { await release(dropped.map(\.delivery), now: now) }
            guard let next else {
                wake.signal()
                return
            }
            current = next
        }
    }

    private func release(_ deliveries: [ClaimedDelivery], now: Date) async {
        do {
            try await store.release(deliveries, now: now)
        } catch {
            // Their leases run out and they are claimed again (the unsent attempt is then counted).
            logger.warning("webhook deliveries not given back", ["count": .int(Int64(deliveries.count)),
                                                                 "error": .string(String(describing: error))])
        }
    }

    /// Sends one claimed delivery; its outcome is written in a task of its own, which frees the delivery's place
    /// in `inFlightMax` when done. Returns whether the endpoint answered 2xx.
    func deliver(_ delivery: ClaimedDelivery) async -> Bool {
        let startedAt = clock.now()
        let started = ContinuousClock.now
        let (outcome, statusCode, responseBody, errorText) = await send(delivery, at: startedAt)
        let elapsed = ContinuousClock.now - started
        let latency = Int(elapsed.components.seconds * 1_000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        var machine = WebhookDeliveryMachine(schedule: schedules[delivery.flavour], status: .delivering, attempts: delivery.attempt,
                                           nextAttemptAt: startedAt)
        let now = clock.now()
        let action = machine.finish(outcome, now: now, jitterUnit: Double.random(in: 0...1))
        let nextAttemptAt: Date? = if case .retry(let at) = action { at } else { nil }
        let attempt = FinishedAttempt(delivery: delivery, action: action, status: machine.status, nextAttemptAt: nextAttemptAt,
                                      startedAt: startedAt, latencyMilliseconds: max(0, latency), statusCode: statusCode,
                                      error: errorText, responseBody: responseBody, now: now,
                                      failingSinceCutoff: now.addingTimeInterval(-limits.failingDisableAfterSeconds))
        // Written in a task of its own: on shutdown the sending task is cancelled, and database work in a cancelled
        // task is cancelled too, which would send an answered delivery again after its lease. The next delivery of
        // the endpoint is sent meanwhile; `drainRecordings` waits for these at shutdown.
        recordings.withLock { $0 += 1 }
        Task { [limits] in
            defer {
                recordings.withLock { $0 -= 1 }
                queues.withLock { $0.recorded() }
                wake.signal()
            }
            var tries = 1
            while true {
                do {
                    try await self.record(attempt)
                    return
                } catch {
                    // Recording is fenced by the attempt number, so a retry never writes twice.
                    guard tries < limits.recordTriesMax else {
                        // The lease lapses and the delivery is sent again (at least once): log, never drop silently.
                        logger.error("webhook attempt not recorded", ["delivery": .string(delivery.id),
                                                                      "error": .string(String(describing: error))])
                        return
                    }
                    tries += 1
                    do { try await Task.sleep(for: .milliseconds(limits.recordRetryDelayMilliseconds)) } catch { return }
                }
            }
        }
        return action == .succeeded
    }

    private func record(_ attempt: FinishedAttempt) async throws {
        if attempt.action == .succeeded {
            _ = try await successes.submit(attempt)
        } else {
            try await store.record(attempt)
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
        if let secretError = delivery.secretError {
            // Names the missing key id only; the attempt is retried (the key may be configured meanwhile).
            return (.failure(secretError.description), nil, nil, secretError.description)
        }
        let body = requests.body(delivery)
        let timestamp = Int64(now.timeIntervalSince1970.rounded(.down))
        let headers = requests.headers(delivery, body: body, timestamp: timestamp)
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
