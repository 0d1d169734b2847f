import AtlasTestSupport
import Foundation
import Kernel
import Postgres
import Synchronization
@testable import EventLog

/// A fresh database with the event log's tables, a writer, and helpers to run consumers.
struct EventLogFixture {
    let database: PostgresDatabase
    let wakeUps = EventLogWakeUps()
    var writer: EventLogAppendStore { EventLogAppendStore(wakeUps: wakeUps) }
    static let tenant = TenantContext(merchantId: "mer_test", mode: .test)

    static func make() async throws -> EventLogFixture {
        EventLogFixture(database: try await TestDatabase.fresh(migrations: EventLogService.migrations))
    }

    static func event(_ type: String = "thing.happened", resource: String) -> DomainEvent {
        DomainEvent(type: type, tenant: tenant, resourceId: resource, occurredAt: Date(), payload: ["resource": .string(resource)])
    }

    /// Appends events in one autocommitted transaction.
    func append(_ events: [DomainEvent]) async throws {
        let writer = writer
        try await database.transaction { tx in try await writer.append(events, in: tx) }
        writer.appendCommitted()
    }

    /// Quick limits for tests: short leases, polls and retries.
    static var fastLimits: EventLogService.Limits {
        var limits = EventLogService.Limits()
        limits.leaseSeconds = 5
        limits.leaseRenewIntervalMilliseconds = 300
        limits.leaseAcquireIntervalMilliseconds = 100
        limits.pollIntervalMilliseconds = 100
        limits.errorBackoffMilliseconds = 100
        limits.parkedRetryCheckIntervalMilliseconds = 100
        limits.delivery = EventDeliveryLimits(attemptsBeforeParking: 3, retryDelayFirstMilliseconds: 10,
                                              retryDelayMaxMilliseconds: 20)
        return limits
    }

    func service(_ consumers: [EventConsumer], instance: String = EventLogService.newInstanceId(),
                 limits: EventLogService.Limits = EventLogFixture.fastLimits) -> EventLogService {
        EventLogService(database: database, consumers: consumers, wakeUps: wakeUps, instanceId: instance, limits: limits,
                        logger: Logger(label: "test", minimumLevel: .error))
    }

    /// Runs `service` while `body` runs, then stops it (its consumers release their leases).
    func running<T>(_ service: EventLogService, _ body: () async throws -> T) async throws -> T {
        let task = Task { await service.run() }
        do {
            let value = try await body()
            task.cancel()
            await task.value
            return value
        } catch {
            task.cancel()
            await task.value
            throw error
        }
    }

    func close() { database.close() }
}

/// What a consumer saw, in order (every delivery, redeliveries included).
final class Deliveries: Sendable {
    private let seen = Mutex<[LoggedEvent]>([])

    func record(_ events: [LoggedEvent]) { seen.withLock { $0 += events } }
    var all: [LoggedEvent] { seen.withLock { $0 } }
    var resources: [String] { all.map(\.event.resourceId) }
}

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass (suites share a loaded machine).
func eventually(_ what: String, seconds: Double = 30, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TimedOut(what: what)
}

/// A one-shot signal between tasks.
final class Latch: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}
