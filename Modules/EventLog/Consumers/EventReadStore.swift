import Foundation
import Kernel

/// Reads the log in delivery order, only below the horizon of the oldest database transaction still
/// running that could append to this database's log (see `EventPosition`), so a late commit is never
/// passed over.
struct EventReadStore: Sendable {
    let database: any Database

    static let columns: StaticString = """
        writer_xid::text AS writer_xid, seq, event_id, event_type, merchant_id, mode, resource_id,
        payload::text AS payload, occurred_at
        """

    /// Up to `limit` events after `position`, oldest first; none that a running transaction may still commit.
    /// The ORDER BY names the table: bare `writer_xid` would be the text output column of the same name, and
    /// "1008" sorts before "996" (a page out of order trips `DeliveryStateMachine`'s precondition).
    func events(after position: EventPosition, limit: Int) async throws -> [LoggedEvent] {
        let rows = try await database.query("""
            SELECT \(literal: EventReadStore.columns) FROM event_log
            WHERE (writer_xid, seq) > (\(String(position.writerTransactionId))::xid8, \(position.sequence))
              AND writer_xid < (\(literal: EventReadStore.horizonSQL))
            ORDER BY event_log.writer_xid, event_log.seq LIMIT \(limit)
            """)
        return try rows.map(Self.decode)
    }

    /// Whether committed events follow `position` at all, read horizon or not: after an empty page, true means
    /// they wait behind an older transaction still running (`ConsumerRunner` then looks again soon). The ORDER BY
    /// keeps the plan on the primary key: without it, LIMIT 1 may be planned as a sequential scan, which reads the
    /// whole retained log when nothing follows the position (the usual answer).
    func hasEvents(after position: EventPosition) async throws -> Bool {
        try await database.queryFirst("""
            SELECT 1 AS found FROM event_log
            WHERE (writer_xid, seq) > (\(String(position.writerTransactionId))::xid8, \(position.sequence))
            ORDER BY writer_xid, seq LIMIT 1
            """) != nil
    }

    /// The read horizon: the oldest transaction in this statement's snapshot still running, leaving out
    /// those that `pg_stat_activity` places in another database (they cannot append to this log), or the
    /// snapshot's xmax when none is left.
    ///
    /// Why not `pg_snapshot_xmin`: it is cluster-wide, so one long write transaction in any other database
    /// (another application, a report, another tenant's test database) would stall every consumer here.
    /// A transaction is left out only on positive proof that its backend is connected elsewhere: one that
    /// ended since the snapshot, one whose backend we may not see, or a prepared one still holds the
    /// horizon back, which is the safe side. Transactions started after the snapshot have ids at or above
    /// its xmax, so the snapshot that reads the rows and the horizon agree.
    static let horizonSQL: StaticString = """
        SELECT LEAST(pg_snapshot_xmax(snapshot),
                     (SELECT min(running) FROM pg_snapshot_xip(snapshot) AS running
                      WHERE xid(running) NOT IN (
                          SELECT backend_xid FROM pg_stat_activity
                          WHERE backend_xid IS NOT NULL AND datid IS NOT NULL
                            AND datid <> (SELECT oid FROM pg_database WHERE datname = current_database()))))
        FROM pg_current_snapshot() AS snapshot
        """

    /// One event by id, wherever it stands (for a parked event's retry).
    func event(id: String) async throws -> LoggedEvent? {
        let row = try await database.queryFirst(
            "SELECT \(literal: EventReadStore.columns) FROM event_log WHERE event_id = \(id)")
        return try row.map(Self.decode)
    }

    struct Undecodable: Error, CustomStringConvertible {
        let column: String
        var description: String { "event_log row with an undecodable \(column)" }
    }

    static func decode(_ row: Row) throws -> LoggedEvent {
        guard let writer = UInt64(try row.decode("writer_xid", as: String.self)) else { throw Undecodable(column: "writer_xid") }
        guard let mode = Mode(rawValue: try row.decode("mode")) else { throw Undecodable(column: "mode") }
        let id = TypedID(rawValue: try row.decode("event_id"))
        let payload = try JSONValue(parsing: try row.decode("payload", as: String.self))
        let event = DomainEvent(id: id, type: try row.decode("event_type"),
                                tenant: TenantContext(merchantId: try row.decode("merchant_id"), mode: mode),
                                resourceId: try row.decode("resource_id"), occurredAt: try row.decode("occurred_at"),
                                payload: payload)
        return LoggedEvent(position: EventPosition(writerTransactionId: writer, sequence: try row.decode("seq")),
                           event: event)
    }
}
