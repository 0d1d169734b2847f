import Foundation
public import Kernel
import Synchronization

/// The event log's background work on one instance: the wake-up listener, one runner per declared
/// consumer (each runs only while this instance holds its lease), the retention pruner and the lag
/// sampler for `/metrics`. Several instances share one database; each consumer runs on one at a time.
public final class EventLogService: Sendable {
    /// Every limit of the event log's background work, named, with units.
    public struct Limits: Sendable, Hashable {
        /// A lease lapses this long after its holder last renewed it (a dead instance's consumers move then).
        public var leaseSeconds: Double = 6
        public var leaseRenewIntervalMilliseconds: Int = 2_000
        /// How often an instance without a consumer's lease tries to take it.
        public var leaseAcquireIntervalMilliseconds: Int = 1_000
        /// The polling fallback when no NOTIFY arrives (another instance's listener, a lost connection).
        public var pollIntervalMilliseconds: Int = 1_000
        /// Committed events waiting behind an older transaction still running (the read horizon) are looked for
        /// again after this, doubling up to `pollIntervalMilliseconds`: their NOTIFY has already come, so waiting
        /// for the next one would add up to the gap between appends to their latency.
        public var heldBackRetryFirstMilliseconds: Int = 5
        /// After a page that was not full, a consumer reads its next page no sooner than this after the last one.
        /// WHY: under a steady stream every commit woke every consumer, and most of those reads found nothing yet
        /// below the read horizon (a page and a look further ahead, each with its round trip): about 550 reads a
        /// second for four consumers at 3,500 sales/s. Spaced, each read carries more events; an event after a quiet
        /// spell is still read at once. A backlog (full pages) is read without pause.
        public var partialPageIntervalMilliseconds: Int = 20
        public var errorBackoffMilliseconds: Int = 1_000
        public var parkedRetryCheckIntervalMilliseconds: Int = 2_000
        public var delivery = EventDeliveryLimits.standard
        public var retention = EventRetentionLimits(retentionSeconds: 7 * 24 * 3600, batchRowsMax: 1_000,
                                                      batchesPerRunMax: 100)
        public var pruneIntervalSeconds: Double = 60
        public var lagSampleIntervalSeconds: Double = 5
        /// Lag counts stop here: counting a huge backlog exactly costs more than it tells.
        public var lagEventsCountMax: Int = 1_000_000

        public init() {}

        /// Failover within `leaseSeconds + leaseAcquireIntervalMilliseconds`; keep it under 10 s.
        public var failoverSecondsMax: Double { leaseSeconds + Double(leaseAcquireIntervalMilliseconds) / 1000 }
    }

    /// A consumer's distance behind the log's end, as last sampled.
    public struct ConsumerLag: Sendable, Hashable {
        public let consumer: String
        public let events: Int
        public let seconds: Double
        /// The instance holding the consumer's lease, if any.
        public let holder: String?
    }

    public static var migrations: [Migration] { EventLogSchema.migrations }
    public static let channel = EventLogSchema.channel

    public let database: any Database
    public let consumers: [EventConsumer]
    public let instanceId: String
    public let limits: Limits
    let logger: Logger
    let wakeUps: EventLogWakeUps
    var wake: WakeSignal { wakeUps.local }
    private let lastLag = LagSnapshot()

    /// `wakeUps`: the same object the process's `EventLogAppendStore` was made with.
    public init(database: any Database, consumers: [EventConsumer], wakeUps: EventLogWakeUps,
                instanceId: String = EventLogService.newInstanceId(), limits: Limits = Limits(), logger: Logger) {
        let names = consumers.map(\.name)
        precondition(Set(names).count == names.count, "consumer names are unique")
        self.database = database
        self.consumers = consumers
        self.wakeUps = wakeUps
        self.instanceId = instanceId
        self.limits = limits
        self.logger = logger
    }

    /// "host-pid-random": unique per process, readable in `event_log_consumers.lease_holder`.
    public static func newInstanceId() -> String {
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(random)"
    }

    /// Runs until the task is cancelled; consumers release their leases on the way out.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.listenForAppends() }
            // Instances run one build with one module list: without consumers here, none elsewhere waits
            // for a NOTIFY (each costs a WAL-flushed transaction; an instance with extra ones polls).
            if !consumers.isEmpty {
                group.addTask { await self.wakeUps.notifyOtherInstances(database: self.database, logger: self.logger) }
            }
            for consumer in consumers {
                let runner = ConsumerRunner(consumer: consumer, reader: EventReadStore(database: database),
                                            leases: ConsumerLeaseStore(database: database, holder: instanceId,
                                                                       leaseSeconds: limits.leaseSeconds),
                                            parked: ParkedEventStore(database: database), wake: wake, limits: limits,
                                            logger: logger)
                group.addTask { await runner.run() }
            }
            group.addTask { await self.every(seconds: self.limits.pruneIntervalSeconds) { try await self.pruneOnce() } }
            group.addTask { await self.every(seconds: self.limits.lagSampleIntervalSeconds) { _ = try await self.sampleLag() } }
            await group.waitForAll()
        }
    }

    /// The last sampled lag of every declared consumer (for `/metrics`; never waits for the database).
    public func lag() -> [ConsumerLag] { lastLag.value }

    /// Samples every declared consumer's lag now.
    @discardableResult
    public func sampleLag() async throws -> [ConsumerLag] {
        let rows = try await database.query("""
            SELECT c.name, c.holder, pending.events, pending.seconds FROM (
                SELECT name, cursor_xid, cursor_seq,
                       CASE WHEN lease_expires_at > clock_timestamp() THEN lease_holder END AS holder
                FROM event_log_consumers) AS c
            CROSS JOIN LATERAL (
                SELECT count(*) AS events,
                       COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(appended_at)), 0)::float8 AS seconds
                FROM (SELECT appended_at FROM event_log e WHERE (e.writer_xid, e.seq) > (c.cursor_xid, c.cursor_seq)
                      ORDER BY e.writer_xid, e.seq LIMIT \(limits.lagEventsCountMax)) AS after_cursor) AS pending
            """)
        var found: [String: ConsumerLag] = [:]
        for row in rows {
            let name: String = try row.decode("name")
            found[name] = ConsumerLag(consumer: name, events: try row.decode("events"), seconds: try row.decode("seconds"),
                                      holder: try row.decode("holder"))
        }
        let lag = try await declaredLag(found)
        lastLag.value = lag
        return lag
    }

    /// A declared consumer that never ran yet is behind by the whole log.
    private func declaredLag(_ found: [String: ConsumerLag]) async throws -> [ConsumerLag] {
        var missing: ConsumerLag?
        var lag: [ConsumerLag] = []
        for consumer in consumers {
            if let known = found[consumer.name] {
                lag.append(known)
                continue
            }
            if missing == nil { missing = try await wholeLogLag() }
            lag.append(ConsumerLag(consumer: consumer.name, events: missing?.events ?? 0, seconds: missing?.seconds ?? 0,
                                   holder: nil))
        }
        return lag
    }

    private func wholeLogLag() async throws -> ConsumerLag? {
        let row = try await database.queryFirst("""
            SELECT count(*) AS events, COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(appended_at)), 0)::float8 AS seconds
            FROM (SELECT appended_at FROM event_log ORDER BY writer_xid, seq LIMIT \(limits.lagEventsCountMax)) AS whole
            """)
        return try row.map { ConsumerLag(consumer: "", events: try $0.decode("events"), seconds: try $0.decode("seconds"),
                                         holder: nil) }
    }

    /// One pruning run; returns the events deleted.
    @discardableResult
    public func pruneOnce() async throws -> Int {
        let declared = Set(consumers.map(\.name))
        let cursors = try await ConsumerLeaseStore(database: database, holder: instanceId, leaseSeconds: limits.leaseSeconds)
            .consumers().filter { declared.contains($0.name) }
        // A declared consumer without a row has consumed nothing: keep everything.
        let horizon: EventPosition? = cursors.count < declared.count ? .start : cursors.map(\.cursor).min()
        let deleted = try await RetentionPruner(database: database, limits: limits.retention).prune(horizon: horizon)
        if deleted > 0 { logger.info("event log pruned", ["events": .int(Int64(deleted))]) }
        return deleted
    }

    /// Wakes the consumers at every NOTIFY of an append; the stream survives reconnects.
    private func listenForAppends() async {
        do {
            for await _ in try await database.listen(channel: EventLogSchema.channel) { wake.signal() }
        } catch {
            logger.warning("event log: LISTEN failed; consumers poll instead",
                           ["error": .string(String(describing: error))])
        }
    }

    private func every(seconds: Double, _ work: @Sendable () async throws -> Void) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
                try await work()
            } catch is CancellationError {
                return
            } catch {
                logger.warning("event log: background work failed; it runs again later",
                               ["error": .string(String(describing: error))])
            }
        }
    }
}

/// The last lag sample, read by `/metrics` without waiting.
private final class LagSnapshot: Sendable {
    private let storage = Mutex<[EventLogService.ConsumerLag]>([])

    var value: [EventLogService.ConsumerLag] {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}

extension EventLogService {
    /// A consumer that applies nothing: it moves its cursor through the log, so an operator (and the
    /// failover test) can see delivery, lag and lease moves without any feature consuming yet.
    public static let probeConsumer = EventConsumer(name: "event_log.probe") { _ in }
}
