import Kernel

/// The terminal registry (migration 4 of the "transactions" namespace, listed in `TransactionSchema.migrations`).
/// One row per terminal that ever said hello on the device channel, per merchant and mode: its last report and
/// whether a channel holds it online (`channel_id` names that channel, so a replaced connection that closes late
/// cannot mark its successor's terminal offline). The index serves `lastTransactionTime` without a scan of the
/// merchant's transactions; it costs terminal-bound sales one more index entry.
enum TerminalSchema {
    static let migration = Migration(namespace: TransactionSchema.namespace, version: 4, name: "terminal_registry", sql: """
        CREATE TABLE transactions_terminals (
            merchant_id text NOT NULL,
            mode text NOT NULL CHECK (mode IN ('live', 'test')),
            terminal_id text NOT NULL CHECK (length(terminal_id) BETWEEN 1 AND 64),
            status text NOT NULL CHECK (status IN ('online', 'offline')),
            serial_number text NOT NULL CHECK (length(serial_number) BETWEEN 1 AND 64),
            firmware_version text NOT NULL CHECK (length(firmware_version) BETWEEN 1 AND 32),
            battery_level integer CHECK (battery_level BETWEEN 0 AND 100),
            connectivity_method text NOT NULL CHECK (connectivity_method IN ('WIFI', 'CELLULAR', 'ETHERNET', 'USB')),
            signal_strength integer,
            network_name text CHECK (length(network_name) <= 64),
            uptime_seconds bigint NOT NULL CHECK (uptime_seconds >= 0),
            reported_at timestamptz NOT NULL,
            channel_id text,
            status_changed_at timestamptz NOT NULL,
            created_at timestamptz NOT NULL,
            PRIMARY KEY (merchant_id, mode, terminal_id),
            CHECK ((status = 'online') = (channel_id IS NOT NULL))
        );
        CREATE INDEX transactions_terminal_recent ON transactions (merchant_id, mode, terminal_id, created_at DESC)
            WHERE terminal_id IS NOT NULL;
        """)
}

extension TerminalSchema {
    /// Part of migration 7: the presence lease. An online row carries `lease_expires_at`, renewed by the instance that
    /// holds its channel; past it, the sweep marks the terminal offline (a crashed instance renews nothing). Rows online
    /// before the migration get one minute, so a terminal of a crashed older instance is swept soon after, and one of a
    /// live instance is renewed by it once it runs this version.
    static let leaseSQL = """
        ALTER TABLE transactions_terminals ADD COLUMN lease_expires_at timestamptz;
        UPDATE transactions_terminals SET lease_expires_at = now() + interval '60 seconds' WHERE status = 'online';
        ALTER TABLE transactions_terminals ADD CHECK ((status = 'online') = (lease_expires_at IS NOT NULL));
        CREATE INDEX transactions_terminals_lease ON transactions_terminals (lease_expires_at) WHERE status = 'online';
        CREATE INDEX transactions_terminals_channel ON transactions_terminals (channel_id) WHERE channel_id IS NOT NULL;
        """
}

extension TerminalSchema {
    /// Migration 8: the cross-instance command relay (TerminalRelay.swift). An online row also names the instance that
    /// holds its channel (`relay_instance`, whose LISTEN channel is `TerminalRelay.channelName`); relay messages too large
    /// for a NOTIFY payload wait in `transactions_terminal_relay_bodies` until their reader takes (deletes) them.
    static let relayMigration = Migration(namespace: TransactionSchema.namespace, version: 8, name: "terminal_relay", sql: """
        ALTER TABLE transactions_terminals ADD COLUMN relay_instance text CHECK (relay_instance ~ '^[0-9a-f]{32}$');
        CREATE TABLE transactions_terminal_relay_bodies (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            mode text NOT NULL CHECK (mode IN ('live', 'test')),
            body text NOT NULL,
            created_at timestamptz NOT NULL
        );
        CREATE INDEX transactions_terminal_relay_bodies_age ON transactions_terminal_relay_bodies (created_at);
        """)
}
