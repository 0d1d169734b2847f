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
    /// The event's own columns of a page row; the payload is NULL where the consumer does not want the event (`wanted`).
    static let eventColumns: StaticString = """
        page.event_id, page.event_type, page.merchant_id, page.mode, page.resource_id,
        CASE WHEN page.wanted THEN page.payload::text END AS payload, page.occurred_at
        """

    /// Up to `limit` events after `position`, oldest first; none that a running transaction may still commit.
    func events(after position: EventPosition, limit: Int) async throws -> [LoggedEvent] {
        try await page(after: position, limit: limit, types: nil).events
    }

    /// One page of the log for a consumer: up to `limit` positions after `position`, and the events among them
    /// of `types` (all when nil). WHY the filter is in the SELECT list, not the WHERE: the cursor must pass the
    /// other events too, or a consumer would scan them again on every read; and only wanted rows pay for the
    /// payload's jsonb-to-text output and its JSON parse, which were most of a read when several consumers each
    /// took every event of a 500-event batch to keep a few of them.
    /// The ORDER BY names the table: bare `writer_xid` would be the text output column of the same name, and
    /// "1008" sorts before "996" (a page out of order trips `DeliveryStateMachine`'s precondition).
    func page(after position: EventPosition, limit: Int, types: Set<String>?) async throws -> EventPage {
        let wanted = types.map { $0.sorted().joined(separator: ",") }
        precondition(types?.allSatisfy { !$0.contains(",") } ?? true, "an event type holds no comma")
        let rows = try await database.query("""
            SELECT page.writer_xid::text AS writer_xid, page.seq, page.wanted, \(literal: EventReadStore.eventColumns)
            FROM (
                SELECT event_log.*, \(wanted)::text IS NULL OR event_type = ANY(string_to_array(\(wanted), ',')) AS wanted
                FROM event_log
                WHERE (writer_xid, seq) > (\(String(position.writerTransactionId))::xid8, \(position.sequence))
                  AND writer_xid < (\(literal: EventReadStore.horizonSQL))
                ORDER BY event_log.writer_xid, event_log.seq LIMIT \(limit)
            ) page
            ORDER BY page.writer_xid, page.seq
            """)
        var events: [LoggedEvent] = []
        var end: EventPosition?
        events.reserveCapacity(rows.count)
        for row in rows {
            let position = try Self.position(row)
            end = position
            if try row.decode("wanted") { events.append(try Self.decode(row, at: position)) }
        }
        return EventPage(events: events, end: end, rows: rows.count)
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

    static func position(_ row: Row) throws -> EventPosition {
        guard let writer = UInt64(try row.decode("writer_xid", as: String.self)) else { throw Undecodable(column: "writer_xid") }
        return EventPosition(writerTransactionId: writer, sequence: try row.decode("seq"))
    }

    static func decode(_ row: Row) throws -> LoggedEvent { try decode(row, at: try position(row)) }

    static func decode(_ row: Row, at position: EventPosition) throws -> LoggedEvent {
        guard let mode = Mode(rawValue: try row.decode("mode")) else { throw Undecodable(column: "mode") }
        let id = TypedID(rawValue: try row.decode("event_id"))
        let event = DomainEvent(id: id, type: try row.decode("event_type"),
                                tenant: TenantContext(merchantId: try row.decode("merchant_id"), mode: mode),
                                resourceId: try row.decode("resource_id"), occurredAt: try row.decode("occurred_at"),
                                payloadText: try row.decode("payload", as: String.self))
        return LoggedEvent(position: position, event: event)
    }
}

/// A consumer's page: the wanted events, and the position of the page's last row, wanted or not (nil when the
/// page is empty), which the cursor moves to once the events are delivered.
struct EventPage: Sendable {
    let events: [LoggedEvent]
    let end: EventPosition?
    /// Rows read, wanted or not: a page of `limit` rows means more may follow at once.
    let rows: Int
}
