import Kernel

/// The event log's tables (namespace "event_log"). Events carry their merchant and mode like every
/// tenant row; cursors, leases and applied-ids are per consumer, and parked events keep the tenant of
/// the event they hold.
///
/// `writer_xid` is the id of the database transaction that appended the row (`pg_current_xact_id()`,
/// never wraps). Readers take only rows whose writer is older than the oldest transaction still running
/// in this database (`EventReadStore.horizonSQL`), ordered by (writer_xid, seq): no row can appear later
/// below that horizon, so a cursor never skips a late commit (see `EventPosition`).
enum EventLogSchema {
    static let namespace = "event_log"
    /// NOTIFY channel: "events were appended" (sent by `EventLogWakeUps`, at most once per interval).
    static let channel = "atlas_event_log"

    static let migrations: [Migration] = [
        Migration(namespace: namespace, version: 1, name: "event_log", sql: """
            CREATE TABLE event_log (
                writer_xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
                seq bigint GENERATED ALWAYS AS IDENTITY,
                event_id text NOT NULL UNIQUE,
                event_type text NOT NULL,
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                resource_id text NOT NULL,
                payload jsonb NOT NULL,
                occurred_at timestamptz NOT NULL,
                appended_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                PRIMARY KEY (writer_xid, seq)
            );

            -- One row per consumer: its durable cursor and which instance holds it (a lease).
            CREATE TABLE event_log_consumers (
                name text PRIMARY KEY,
                cursor_xid xid8 NOT NULL DEFAULT '0',
                cursor_seq bigint NOT NULL DEFAULT 0,
                lease_holder text,
                lease_expires_at timestamptz,
                consumed_at timestamptz,
                created_at timestamptz NOT NULL DEFAULT clock_timestamp()
            );

            -- Events a consumer gave up on after its retries; an operator retries or skips them.
            CREATE TABLE event_log_parked (
                consumer text NOT NULL,
                event_id text NOT NULL,
                writer_xid xid8 NOT NULL,
                seq bigint NOT NULL,
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                event_type text NOT NULL,
                state text NOT NULL CHECK (state IN ('parked', 'retry', 'skipped', 'resolved')),
                attempts integer NOT NULL CHECK (attempts > 0),
                error text NOT NULL,
                parked_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                PRIMARY KEY (consumer, event_id)
            );
            CREATE INDEX event_log_parked_open ON event_log_parked (event_id) WHERE state IN ('parked', 'retry');

            -- Idempotent apply: which events a consumer applied (see EventLogWriter.markApplied).
            CREATE TABLE event_log_applied (
                consumer text NOT NULL,
                event_id text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                PRIMARY KEY (consumer, event_id)
            );
            CREATE INDEX event_log_applied_age ON event_log_applied (applied_at);
            """),
        // WHY json, not jsonb: the log only stores a payload and hands its text back, to up to four consumers per
        // event; jsonb parsed every payload on append and printed it again on every read (about 5 and 3.5 µs for a
        // sale's payload), json checks it on append and returns the stored text. The text is the appender's own
        // (a sale's event payload is its response body, byte for byte). Rewrites the table once.
        Migration(namespace: namespace, version: 2, name: "event_log payload as json text", sql: """
            ALTER TABLE event_log ALTER COLUMN payload TYPE json USING payload::json;
            """),
    ]
}
