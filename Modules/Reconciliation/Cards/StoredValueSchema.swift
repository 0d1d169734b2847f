import Kernel

/// The offline stored-value tables (namespace "reconciliation", version 2). Every table carries
/// merchant_id and mode; money is integer minor units.
///
/// - `reconciliation_card_members`: members (`userId`, uint32) a card may be issued to, with their status.
/// - `reconciliation_cards`: the card registry and its one balance, for NFC cards (`/api`) and `/v1` stored-value
///   cards alike (`pan_hash`: a `/v1` card number's hash; a card known only by it has the id `pan_…`). `counter`, `card_balance`, `chain_hash`,
///   `chain_timestamp` are the card's log as last reconciled (rules 22, 24).
/// - `reconciliation_card_events`: the append-only audit log of reconciled card events,
///   `PRIMARY KEY (merchant_id, mode, card_id, counter)` (rule 22): a counter is logged once.
/// - `reconciliation_batches`: one row per `POST /api/reconcile` (rule 20).
/// - `reconciliation_card_daily_debits` (version 5): reconciled debits per card and UTC day, kept by the batch that
///   logs them, so the daily and weekly review sums read at most a week of rows per card instead of the card's debits.
/// - `reconciliation_card_auth_codes`: one-time reissue auth codes (SHA-256 only).
/// - `reconciliation_terminal_reports`: terminal reports and the tamper reports reconciliation creates.
enum StoredValueSchema {
    static let migrations: [Migration] = [
        Migration(namespace: ReconciliationSchema.namespace, version: 2, name: "stored_value_cards", sql: """
            CREATE TABLE reconciliation_card_members (
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                user_id bigint NOT NULL CHECK (user_id BETWEEN 0 AND 4294967295),
                status text NOT NULL CHECK (status IN ('active', 'suspended', 'closed')),
                updated_at timestamptz NOT NULL,
                PRIMARY KEY (merchant_id, mode, user_id)
            );

            CREATE TABLE reconciliation_cards (
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                card_id text NOT NULL CHECK (card_id ~ '^[0-9a-f]{12}$' OR card_id ~ '^pan_[0-9a-f]{24}$'),
                user_id bigint NOT NULL CHECK (user_id BETWEEN 0 AND 4294967295),
                name text NOT NULL,
                status text NOT NULL CHECK (status IN ('ACTIVE', 'BLOCKED_TAMPER', 'BLOCKED_FRAUD', 'BLOCKED_EXPIRED',
                                                       'BLOCKED_ADMIN')),
                balance bigint NOT NULL CHECK (balance <= 16000000 OR card_id ~ '^pan_'),
                currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
                pan_hash bytea,
                masked_pan text CHECK (masked_pan IS NULL OR masked_pan ~ '^[*]{8,15}[0-9]{4}$'),
                card_balance bigint NOT NULL CHECK (card_balance BETWEEN 0 AND 4294967295),
                counter bigint NOT NULL CHECK (counter >= 0),
                chain_hash bytea NOT NULL CHECK (length(chain_hash) = 6),
                chain_timestamp bigint NOT NULL CHECK (chain_timestamp BETWEEN 0 AND 4294967295),
                key_version integer NOT NULL CHECK (key_version BETWEEN 0 AND 255),
                created_at bigint NOT NULL CHECK (created_at BETWEEN 0 AND 4294967295),
                registered_at timestamptz NOT NULL,
                last_activity_at timestamptz,
                blocked_at timestamptz,
                block_reason text,
                validate_on_next_tap boolean NOT NULL DEFAULT false,
                PRIMARY KEY (merchant_id, mode, card_id)
            );
            CREATE INDEX reconciliation_cards_by_card ON reconciliation_cards (card_id);
            CREATE UNIQUE INDEX reconciliation_cards_by_pan ON reconciliation_cards (merchant_id, mode, pan_hash)
                WHERE pan_hash IS NOT NULL;

            CREATE TABLE reconciliation_card_events (
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                card_id text NOT NULL,
                counter bigint NOT NULL CHECK (counter > 0),
                type text NOT NULL CHECK (type IN ('debit', 'credit', 'checkin', 'checkout', 'admin')),
                amount bigint NOT NULL CHECK (amount BETWEEN 0 AND 4294967295),
                balance_after bigint NOT NULL CHECK (balance_after BETWEEN 0 AND 4294967295),
                event_timestamp bigint NOT NULL CHECK (event_timestamp BETWEEN 0 AND 4294967295),
                hash bytea NOT NULL CHECK (length(hash) = 6),
                batch_id text NOT NULL,
                terminal_id integer NOT NULL,
                review_flag boolean NOT NULL,
                flag_reasons text,
                shortfall bigint NOT NULL DEFAULT 0 CHECK (shortfall >= 0),
                recorded_at timestamptz NOT NULL,
                PRIMARY KEY (merchant_id, mode, card_id, counter)
            );
            CREATE INDEX reconciliation_card_events_by_time
                ON reconciliation_card_events (merchant_id, mode, card_id, event_timestamp) WHERE type = 'debit';

            CREATE TABLE reconciliation_batches (
                batch_id text PRIMARY KEY,
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                terminal_id integer NOT NULL CHECK (terminal_id BETWEEN 0 AND 65535),
                device_id text NOT NULL,
                account_id text,
                submitted_at timestamptz NOT NULL,
                event_count integer NOT NULL CHECK (event_count >= 0),
                accepted integer NOT NULL CHECK (accepted >= 0),
                rejected integer NOT NULL CHECK (rejected >= 0),
                flagged integer NOT NULL CHECK (flagged >= 0),
                CHECK (accepted + rejected = event_count)
            );
            CREATE INDEX reconciliation_batches_by_tenant ON reconciliation_batches (merchant_id, mode, submitted_at);

            CREATE TABLE reconciliation_card_auth_codes (
                code_hash bytea PRIMARY KEY,
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                card_id text NOT NULL,
                issued_at timestamptz NOT NULL,
                expires_at timestamptz NOT NULL,
                used_at timestamptz
            );

            CREATE TABLE reconciliation_terminal_reports (
                id text PRIMARY KEY,
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                terminal_id integer NOT NULL CHECK (terminal_id BETWEEN 0 AND 65535),
                device_id text NOT NULL,
                card_id text,
                event_type text NOT NULL,
                details text NOT NULL,
                counter bigint,
                event_timestamp bigint NOT NULL,
                source text NOT NULL CHECK (source IN ('terminal', 'reconcile')),
                action text NOT NULL,
                received_at timestamptz NOT NULL
            );
            CREATE INDEX reconciliation_terminal_reports_by_card ON reconciliation_terminal_reports (merchant_id, mode, card_id);
            """),
        dailyDebits,
    ]

    /// WHY: a reconcile batch summed every debit of its cards since the Monday of its first event (one range of
    /// `reconciliation_card_events_by_time` per card), a cost that grew with how often a card pays in a week, and
    /// every logged debit paid for that index. The batch now adds its accepted debits to one row per card and UTC
    /// day (in the transaction that logs them, under the card locks) and reads those rows; the audit log keeps only
    /// its primary key. Existing debits are summed once here, so the review flags see the same totals as before.
    static let dailyDebits = Migration(namespace: ReconciliationSchema.namespace, version: 5, name: "card_daily_debits", sql: """
        CREATE TABLE reconciliation_card_daily_debits (
            merchant_id text NOT NULL,
            mode text NOT NULL CHECK (mode IN ('live', 'test')),
            card_id text NOT NULL,
            day integer NOT NULL CHECK (day >= 0),
            total bigint NOT NULL CHECK (total > 0),
            PRIMARY KEY (merchant_id, mode, card_id, day)
        );
        \(dailyDebitsBackfill);
        DROP INDEX reconciliation_card_events_by_time;
        """)

    /// Sums the logged debits per card and UTC day (`day` = `event_timestamp / 86400`, as `BatchRules` counts days).
    static let dailyDebitsBackfill = """
        INSERT INTO reconciliation_card_daily_debits (merchant_id, mode, card_id, day, total)
        SELECT merchant_id, mode, card_id, (event_timestamp / 86400)::integer, sum(amount)
        FROM reconciliation_card_events WHERE type = 'debit' AND amount > 0
        GROUP BY merchant_id, mode, card_id, event_timestamp / 86400
        """
}
