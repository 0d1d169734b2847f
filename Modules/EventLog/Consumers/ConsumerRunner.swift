import Foundation
import Kernel

/// Runs one consumer on this instance while it holds the consumer's lease: reads pages after the
/// cursor, delivers them through a `DeliveryStateMachine`, parks poison events, moves the cursor, and
/// answers operator retries of parked events. Every database failure drops the lease-held state and
/// starts over from the stored cursor (so a page may be delivered again: at least once).
struct ConsumerRunner: Sendable {
    let consumer: EventConsumer
    let reader: EventReadStore
    let leases: ConsumerLeaseStore
    let parked: ParkedEventStore
    let wake: WakeSignal
    let limits: EventLogService.Limits
    let logger: Logger

    /// Parked events an operator asked to retry, handled per loop pass.
    static let retriesPerPassMax = 10

    func run() async {
        var cursor: EventPosition?
        var renewedAt = ContinuousClock.now
        var retriesCheckedAt = ContinuousClock.now
        var heldBackWaitMilliseconds: Int?
        var nextReadAt = ContinuousClock.now
        while !Task.isCancelled {
            let generation = wake.generation
            do {
                guard let held = try await holdLease(cursor) else {
                    cursor = nil
                    try await Task.sleep(for: .milliseconds(limits.leaseAcquireIntervalMilliseconds))
                    continue
                }
                if cursor == nil { renewedAt = .now }
                cursor = held
                if ContinuousClock.now - retriesCheckedAt > .milliseconds(limits.parkedRetryCheckIntervalMilliseconds) {
                    try await retryRequestedParkedEvents()
                    retriesCheckedAt = .now
                }
                if nextReadAt > .now { try await Task.sleep(until: nextReadAt, clock: .continuous) }
                let page = try await reader.page(after: held, limit: consumer.batchEventsMax, types: consumer.eventTypes)
                nextReadAt = page.rows < consumer.batchEventsMax
                    ? .now + .milliseconds(limits.partialPageIntervalMilliseconds) : .now
                if let end = page.end {
                    cursor = try await deliver(page.events, end: end)
                    renewedAt = .now
                    heldBackWaitMilliseconds = nil
                    continue
                }
                heldBackWaitMilliseconds = try await reader.hasEvents(after: held)
                    ? heldBackWaitMilliseconds.map { min($0 * 2, limits.pollIntervalMilliseconds) } ?? limits.heldBackRetryFirstMilliseconds
                    : nil
                await wake.wait(milliseconds: heldBackWaitMilliseconds ?? limits.pollIntervalMilliseconds,
                                unlessSignaledSince: generation)
                if ContinuousClock.now - renewedAt > .milliseconds(limits.leaseRenewIntervalMilliseconds) {
                    cursor = try await leases.renew(consumer.name) ? held : nil
                    renewedAt = .now
                }
            } catch is CancellationError {
                break
            } catch {
                cursor = nil
                logger.warning("event consumer: database error, starting over from the stored cursor",
                               ["consumer": .string(consumer.name), "error": .string(String(describing: error))])
                do { try await Task.sleep(for: .milliseconds(limits.errorBackoffMilliseconds)) } catch { break }
            }
        }
        await releaseLease()
    }

    /// The cursor when this instance holds the lease (taking it when free), nil otherwise.
    private func holdLease(_ cursor: EventPosition?) async throws -> EventPosition? {
        if let cursor { return cursor }
        guard let acquired = try await leases.acquire(consumer.name) else { return nil }
        logger.info("event consumer: lease taken", ["consumer": .string(consumer.name), "holder": .string(leases.holder),
                                                    "cursor": .string(acquired.description)])
        return acquired
    }

    /// Delivers one page; the new cursor, or nil when the lease was lost meanwhile (nothing stored).
    private func deliver(_ events: [LoggedEvent], end: EventPosition) async throws -> EventPosition? {
        var machine = DeliveryStateMachine(events: events, end: end, limits: limits.delivery)
        var action = machine.start()
        while true {
            switch action {
            case .deliver(let batch):
                action = await attempt(batch, machine: &machine)
            case .deliverAfter(let milliseconds, let batch):
                try await Task.sleep(for: .milliseconds(milliseconds))
                guard try await leases.renew(consumer.name) else { return nil }
                action = await attempt(batch, machine: &machine)
            case .park(let event, let attempts, let error):
                try await parked.park(event, consumer: consumer.name, attempts: attempts, error: error)
                logger.error("event consumer: event parked", [
                    "consumer": .string(consumer.name), "event": .string(event.event.id.rawValue),
                    "type": .string(event.event.type), "attempts": .int(Int64(attempts)),
                ])
                action = machine.parked()
            case .advance(let position):
                return try await leases.advance(consumer.name, to: position) ? position : nil
            }
        }
    }

    private func attempt(_ batch: [LoggedEvent], machine: inout DeliveryStateMachine) async
        -> DeliveryStateMachine.Action {
        do {
            try await consumer.handle(batch)
            return machine.delivered()
        } catch {
            return machine.failed(Self.describe(error))
        }
    }

    /// Parked events an operator asked to retry: one delivery each; resolved, or parked again.
    private func retryRequestedParkedEvents() async throws {
        for eventId in try await parked.retryRequested(consumer: consumer.name, limit: Self.retriesPerPassMax) {
            guard let logged = try await reader.event(id: eventId) else {
                try await parked.resolve(consumer: consumer.name, eventId: eventId)
                continue
            }
            do {
                try await consumer.handle([logged])
                try await parked.resolve(consumer: consumer.name, eventId: eventId)
            } catch {
                try await parked.park(logged, consumer: consumer.name, attempts: 1, error: Self.describe(error))
            }
        }
    }

    /// Always tried on the way out: a cancelled statement may have reset `cursor` while the lease was held,
    /// and releasing a lease another instance holds changes nothing (the update is by holder).
    private func releaseLease() async {
        // In a task of its own: the runner's task is cancelled, and a cancelled query would not run.
        let leases = leases
        let name = consumer.name
        do {
            try await Task { try await leases.release(name) }.value
        } catch {
            logger.warning("event consumer: lease not released; it expires by itself",
                           ["consumer": .string(consumer.name), "error": .string(String(describing: error))])
        }
    }

    /// The error as stored with a parked event: its type and description (consumers put no secrets there).
    static func describe(_ error: any Error) -> String {
        "\(type(of: error)): \(String(describing: error))"
    }
}
