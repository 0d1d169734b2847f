import Foundation
import Kernel

/// Which instance runs a consumer, and the consumer's durable cursor, in one row per consumer.
///
/// WHY a lease row and not a session advisory lock: a lock lives on one held connection, so a pool
/// reconnect (a PostgreSQL restart) silently drops it while the holder keeps consuming. A lease expires
/// by the database clock, every cursor write is fenced by it (`advance` succeeds only for the holder of an
/// unexpired lease), and a dead instance's lease lapses after `leaseSeconds`, when another one takes it.
struct ConsumerLeaseStore: Sendable {
    let database: any Database
    /// This process's name in `lease_holder` (host, pid and a random suffix).
    let holder: String
    let leaseSeconds: Double

    /// Takes or renews the lease; the cursor when this instance holds it, nil when another one does.
    func acquire(_ consumer: String) async throws -> EventPosition? {
        let row = try await database.queryFirst("""
            INSERT INTO event_log_consumers AS c (name, lease_holder, lease_expires_at)
            VALUES (\(consumer), \(holder), clock_timestamp() + make_interval(secs => \(leaseSeconds)))
            ON CONFLICT (name) DO UPDATE SET lease_holder = excluded.lease_holder,
                lease_expires_at = excluded.lease_expires_at
            WHERE c.lease_holder IS NULL OR c.lease_holder = excluded.lease_holder
               OR c.lease_expires_at < clock_timestamp()
            RETURNING c.cursor_xid::text AS cursor_xid, c.cursor_seq
            """)
        guard let row else { return nil }
        return try Self.position(row)
    }

    /// Moves the cursor and renews the lease; false when this instance no longer holds it (nothing moved).
    func advance(_ consumer: String, to position: EventPosition) async throws -> Bool {
        try await database.execute("""
            UPDATE event_log_consumers SET cursor_xid = \(String(position.writerTransactionId))::xid8,
                cursor_seq = \(position.sequence), consumed_at = clock_timestamp(),
                lease_expires_at = clock_timestamp() + make_interval(secs => \(leaseSeconds))
            WHERE name = \(consumer) AND lease_holder = \(holder) AND lease_expires_at > clock_timestamp()
            """) == 1
    }

    /// Extends the lease; false when it was lost.
    func renew(_ consumer: String) async throws -> Bool {
        try await database.execute("""
            UPDATE event_log_consumers SET lease_expires_at = clock_timestamp() + make_interval(secs => \(leaseSeconds))
            WHERE name = \(consumer) AND lease_holder = \(holder) AND lease_expires_at > clock_timestamp()
            """) == 1
    }

    /// Gives the lease up at shutdown so another instance takes over at once instead of after expiry.
    func release(_ consumer: String) async throws {
        try await database.execute("""
            UPDATE event_log_consumers SET lease_holder = NULL, lease_expires_at = NULL
            WHERE name = \(consumer) AND lease_holder = \(holder)
            """)
    }

    struct ConsumerRow: Sendable {
        let name: String
        let cursor: EventPosition
        let holder: String?
    }

    func consumers() async throws -> [ConsumerRow] {
        try await database.query("""
            SELECT name, cursor_xid::text AS cursor_xid, cursor_seq,
                   CASE WHEN lease_expires_at > clock_timestamp() THEN lease_holder END AS holder
            FROM event_log_consumers ORDER BY name
            """).map { ConsumerRow(name: try $0.decode("name"), cursor: try Self.position($0), holder: try $0.decode("holder")) }
    }

    static func position(_ row: Row) throws -> EventPosition {
        guard let writer = UInt64(try row.decode("cursor_xid", as: String.self)) else {
            throw EventReadStore.Undecodable(column: "cursor_xid")
        }
        return EventPosition(writerTransactionId: writer, sequence: try row.decode("cursor_seq"))
    }
}
