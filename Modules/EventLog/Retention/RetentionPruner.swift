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
        let horizon = horizon ?? EventPosition(writerTransactionId: UInt64.max, sequence: Int64.max)
        var deleted = 0
        var after = EventPosition.start
        for _ in 0..<limits.batchesPerRunMax {
            guard let window = try await pruneWindow(after: after, horizon: horizon) else { break }
            deleted += window.deletedCount
            after = window.lastPosition
            if !window.mayContinue { break }
        }
        try await pruneAppliedRecords()
        return deleted
    }

    /// What one window of the log held: the events deleted from it, where it ended, and whether the next
    /// window may hold old events too (this one was full and its newest event was old enough).
    struct PruneWindow: Equatable {
        let deletedCount: Int
        let lastPosition: EventPosition
        let mayContinue: Bool
    }

    private func pruneWindow(after: EventPosition, horizon: EventPosition) async throws -> PruneWindow? {
        guard let row = try await database.queryFirst(Self.pruneWindowSQL(after: after, horizon: horizon, limits: limits))
        else { return nil }  // nothing after `after` below the horizon
        let examined = try row.decode("examined", as: Int.self)
        guard let lastWriter = UInt64(try row.decode("last_xid", as: String.self)) else {
            throw EventReadStore.Undecodable(column: "last_xid")
        }
        let lastPosition = EventPosition(writerTransactionId: lastWriter, sequence: try row.decode("last_seq"))
        assert(examined > 0 && examined <= limits.batchRowsMax && lastPosition > after)
        let lastIsOld = try row.decode("last_old", as: Bool.self)
        return PruneWindow(deletedCount: try row.decode("deleted", as: Int.self), lastPosition: lastPosition,
                           mayContinue: examined == limits.batchRowsMax && lastIsOld)
    }

    /// WHY a window: the next `batchRowsMax` events after `after` in log order, by the primary key, and
    /// delete those old enough and not parked. Each statement reads at most one window, so a run costs
    /// the same whether or not anything is old enough; a filter on age alone walked the whole index
    /// when nothing was. `appended_at` follows log order closely, so a window whose newest event is still
    /// young ends the run; an old event behind a young one waits for a later run.
    static func pruneWindowSQL(after: EventPosition, horizon: EventPosition, limits: Limits) -> SQL {
        """
        WITH candidates AS (
            SELECT writer_xid, seq, event_id,
                   appended_at < clock_timestamp() - make_interval(secs => \(limits.retentionSeconds)) AS old
            FROM event_log
            WHERE (writer_xid, seq) > (\(String(after.writerTransactionId))::xid8, \(after.sequence))
              AND (writer_xid, seq) <= (\(String(horizon.writerTransactionId))::xid8, \(horizon.sequence))
            ORDER BY writer_xid, seq LIMIT \(limits.batchRowsMax)),
        deleted AS (
            DELETE FROM event_log e USING candidates c
            WHERE e.writer_xid = c.writer_xid AND e.seq = c.seq AND c.old
              AND NOT EXISTS (SELECT 1 FROM event_log_parked p
                              WHERE p.event_id = c.event_id AND p.state IN ('parked', 'retry'))
            RETURNING 1)
        SELECT (SELECT count(*) FROM deleted) AS deleted, (SELECT count(*) FROM candidates) AS examined,
               last.writer_xid::text AS last_xid, last.seq AS last_seq, last.old AS last_old
        FROM (SELECT writer_xid, seq, old FROM candidates ORDER BY writer_xid DESC, seq DESC LIMIT 1) last
        """
    }

    /// Applied-event records by age, through their `applied_at` index: a range scan that stops at once
    /// when nothing is old enough.
    private func pruneAppliedRecords() async throws {
        for _ in 0..<limits.batchesPerRunMax {
            let count = try await database.execute("""
                DELETE FROM event_log_applied WHERE ctid IN (
                    SELECT ctid FROM event_log_applied
                    WHERE applied_at < clock_timestamp() - make_interval(secs => \(limits.retentionSeconds))
                    LIMIT \(limits.batchRowsMax))
                """)
            if count < limits.batchRowsMax { break }
        }
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
