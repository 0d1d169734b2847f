import Foundation
import Kernel

/// Deletes events that every declared consumer has passed and that are older than the retention, in
/// batches, never an event still parked for a retry; and applied-event records older than the retention.
struct RetentionPruner: Sendable {
    typealias Limits = EventRetentionLimits

    let database: any Database
    let limits: Limits

    /// Deletes up to `batchesPerRunMax` batches; returns the events deleted. `horizon`: the lowest cursor
    /// of the declared consumers (nil: none is declared, age alone decides).
    func prune(horizon: EventPosition?) async throws -> Int {
        var deleted = 0
        for _ in 0..<limits.batchesPerRunMax {
            let count = try await database.execute(Self.deleteEventsSQL(horizon: horizon, limits: limits))
            deleted += count
            if count < limits.batchRowsMax { break }
        }
        for _ in 0..<limits.batchesPerRunMax {
            let count = try await database.execute("""
                DELETE FROM event_log_applied WHERE ctid IN (
                    SELECT ctid FROM event_log_applied
                    WHERE applied_at < clock_timestamp() - make_interval(secs => \(limits.retentionSeconds))
                    LIMIT \(limits.batchRowsMax))
                """)
            if count < limits.batchRowsMax { break }
        }
        return deleted
    }

    /// Without a declared consumer the horizon is the end of the log: age alone decides.
    static func deleteEventsSQL(horizon: EventPosition?, limits: Limits) -> SQL {
        let horizon = horizon ?? EventPosition(writerTransactionId: UInt64.max, sequence: Int64.max)
        return """
            DELETE FROM event_log WHERE (writer_xid, seq) IN (
                SELECT writer_xid, seq FROM event_log e
                WHERE (e.writer_xid, e.seq) <= (\(String(horizon.writerTransactionId))::xid8, \(horizon.sequence))
                  AND e.appended_at < clock_timestamp() - make_interval(secs => \(limits.retentionSeconds))
                  AND NOT EXISTS (SELECT 1 FROM event_log_parked p
                                  WHERE p.event_id = e.event_id AND p.state IN ('parked', 'retry'))
                ORDER BY writer_xid, seq LIMIT \(limits.batchRowsMax))
            """
    }
}

/// How long events and applied-event records are kept, and how pruning is paced.
public struct EventRetentionLimits: Sendable, Hashable {
    public var retentionSeconds: Double
    /// Rows one DELETE removes: short statements, so pruning never holds locks for long.
    public var batchRowsMax: Int
    /// DELETEs per run; the rest waits for the next run.
    public var batchesPerRunMax: Int

    public init(retentionSeconds: Double, batchRowsMax: Int, batchesPerRunMax: Int) {
        self.retentionSeconds = retentionSeconds
        self.batchRowsMax = batchRowsMax
        self.batchesPerRunMax = batchesPerRunMax
    }
}
