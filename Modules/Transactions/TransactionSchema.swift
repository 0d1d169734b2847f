import Kernel

/// Transactions' tables (namespace "transactions"). Every table carries merchant_id and mode.
/// A transaction row is written once, in the same commit as its event in the event log and its
/// idempotency record; in-flight state lives in `transactions_terminal_locks`, so a crash never leaves
/// a half-written payment behind (a stale lock simply expires).
enum TransactionSchema {
    static let namespace = "transactions"

    static let migrations: [Migration] = [
        Migration(namespace: namespace, version: 1, name: "transactions", sql: """
            CREATE TABLE transactions (
                id text PRIMARY KEY,
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                type text NOT NULL CHECK (type IN ('SALE', 'PRE_AUTH', 'PRE_AUTH_COMPLETE', 'REFUND', 'VOID',
                    'CARD_READ', 'BALANCE_INQUIRY')),
                status text NOT NULL CHECK (status IN ('APPROVED', 'DECLINED', 'ABORTED', 'ERROR', 'VOIDED')),
                amount bigint NOT NULL CHECK (amount >= 0),
                tip_amount bigint NOT NULL DEFAULT 0 CHECK (tip_amount >= 0),
                cashback_amount bigint NOT NULL DEFAULT 0 CHECK (cashback_amount >= 0),
                currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
                tender text NOT NULL CHECK (tender IN ('CARD', 'CASH', 'STORED_VALUE')),
                entry_mode text,
                reference_id text CHECK (length(reference_id) <= 64),
                original_transaction_id text,
                terminal_id text,
                card_scheme text,
                -- Never a full PAN: only stars and the last four digits fit this check.
                masked_pan text CHECK (masked_pan IS NULL OR masked_pan ~ '^[*]{8,15}[0-9]{4}$'),
                authorization_code text,
                response_code text,
                decline_code text,
                error_code text,
                balance bigint,
                stored_value_card_hash bytea,
                refunded_amount bigint NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0),
                completion_transaction_id text,
                void_transaction_id text,
                ledger_total bigint,
                cash_total bigint,
                rounding_delta bigint,
                rounding jsonb,
                metadata jsonb,
                settlement_id text,
                business_date date NOT NULL,
                request_id text,
                created_at timestamptz NOT NULL
            );
            CREATE INDEX transactions_list ON transactions (merchant_id, mode, id DESC);
            CREATE INDEX transactions_original ON transactions (original_transaction_id)
                WHERE original_transaction_id IS NOT NULL;

            CREATE TABLE transactions_outbox (
                seq bigserial PRIMARY KEY,
                event_id text NOT NULL UNIQUE,
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                event_type text NOT NULL,
                transaction_id text NOT NULL,
                payload jsonb NOT NULL,
                occurred_at timestamptz NOT NULL,
                published_at timestamptz
            );
            CREATE INDEX transactions_outbox_unpublished ON transactions_outbox (seq) WHERE published_at IS NULL;

            CREATE TABLE transactions_terminal_locks (
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                terminal_id text NOT NULL,
                transaction_id text NOT NULL UNIQUE,
                type text NOT NULL,
                amount bigint NOT NULL,
                currency text NOT NULL,
                started_at timestamptz NOT NULL,
                locked_until timestamptz NOT NULL,
                abort_requested boolean NOT NULL DEFAULT false,
                PRIMARY KEY (merchant_id, mode, terminal_id)
            );

            CREATE TABLE transactions_stored_value_cards (
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                card_hash bytea NOT NULL,
                masked_pan text NOT NULL CHECK (masked_pan ~ '^[*]{8,15}[0-9]{4}$'),
                currency text NOT NULL,
                balance bigint NOT NULL CHECK (balance >= 0),
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                PRIMARY KEY (merchant_id, mode, card_hash)
            );

            CREATE TABLE transactions_merchant_settings (
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                currencies text NOT NULL DEFAULT '',
                amount_ceiling bigint,
                time_zone text NOT NULL DEFAULT 'UTC',
                location jsonb,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (merchant_id, mode)
            );

            CREATE TABLE transactions_payment_sessions (
                id text PRIMARY KEY,
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                status text NOT NULL,
                amount bigint NOT NULL CHECK (amount > 0),
                currency text NOT NULL,
                capture_method text NOT NULL,
                payment_method_types text NOT NULL,
                external_id text,
                description text,
                customer_email text,
                customer_name text,
                success_url text,
                cancel_url text,
                merchant_reference text,
                callback_urls jsonb,
                metadata jsonb,
                client_secret_hash bytea NOT NULL,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL
            );
            CREATE UNIQUE INDEX transactions_payment_sessions_external
                ON transactions_payment_sessions (merchant_id, mode, external_id) WHERE external_id IS NOT NULL;
            """),
        // The event log (a platform module) replaced the outbox, which nothing ever read.
        Migration(namespace: namespace, version: 2, name: "outbox_replaced_by_event_log", sql: """
            DROP TABLE transactions_outbox;
            """),
        // `/functions/v1`: one row per confirmation attempt of a payment session (the card is never stored:
        // brand and last four only), and checkout sessions, each paid through a payment session of its own.
        Migration(namespace: namespace, version: 3, name: "payments_and_checkout_sessions", sql: """
            CREATE TABLE transactions_payments (
                id text PRIMARY KEY,
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                session_id text NOT NULL REFERENCES transactions_payment_sessions (id),
                status text NOT NULL CHECK (status IN ('authorized', 'succeeded', 'failed', 'canceled')),
                amount bigint NOT NULL CHECK (amount > 0),
                amount_captured bigint NOT NULL DEFAULT 0 CHECK (amount_captured >= 0 AND amount_captured <= amount),
                currency text NOT NULL,
                payment_method_type text NOT NULL,
                card_brand text,
                card_last4 text,
                authorization_code text,
                failure_code text,
                decline_code text,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL
            );
            CREATE INDEX transactions_payments_session ON transactions_payments (session_id, created_at);
            CREATE TABLE transactions_checkout_sessions (
                id text PRIMARY KEY,
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                payment_session_id text NOT NULL REFERENCES transactions_payment_sessions (id),
                line_items jsonb NOT NULL,
                amount_total bigint NOT NULL CHECK (amount_total > 0),
                currency text NOT NULL,
                customer text,
                customer_email text,
                allow_promotion_codes boolean NOT NULL,
                expires_at timestamptz NOT NULL,
                created_at timestamptz NOT NULL
            );
            """),
        // The terminal registry (Terminals/TerminalSchema.swift).
        TerminalSchema.migration,
        // Granular mode (`/v1/transaction/initiate` → `/complete`): a card read whose issuer answer the POS is
        // still getting. The row has the final row's columns (`TransactionRecord.insertColumns`, hence LIKE) plus
        // the EMV data and the completion deadline; completion, abort or expiry deletes it in the same database
        // transaction that writes the final `transactions` row. A column added to `transactions` and to
        // `insertColumns` must be added here too.
        Migration(namespace: namespace, version: 5, name: "granular_pending", sql: """
            CREATE TABLE transactions_granular_pending (
                LIKE transactions INCLUDING DEFAULTS,
                emv jsonb NOT NULL,
                expires_at timestamptz NOT NULL,
                PRIMARY KEY (id),
                CHECK (mode IN ('live', 'test')),
                CHECK (status = 'AWAITING_COMPLETION'),
                CHECK (masked_pan IS NULL OR masked_pan ~ '^[*]{8,15}[0-9]{4}$')
            );
            CREATE INDEX transactions_granular_pending_expiry ON transactions_granular_pending (expires_at);
            """),
        // Pre-authorization expiry (PreAuthExpiry/).
        PreAuthExpirySchema.migration,
        // `/functions/v1` session expiry and ACH payments, and the
        // terminal registry's presence lease (Terminals/TerminalPresence.swift).
        Migration(namespace: namespace, version: 7, name: "session_expiry_ach_terminal_lease", sql: """
            ALTER TABLE transactions_payment_sessions ADD COLUMN expires_at timestamptz,
                ADD COLUMN cancellation_reason text CHECK (cancellation_reason IN ('requested', 'expired'));
            UPDATE transactions_payment_sessions s SET expires_at = c.expires_at
                FROM transactions_checkout_sessions c WHERE c.payment_session_id = s.id;
            CREATE INDEX transactions_payment_sessions_expiry ON transactions_payment_sessions (expires_at)
                WHERE status = 'requires_payment_method' AND expires_at IS NOT NULL;
            CREATE INDEX transactions_checkout_sessions_payment ON transactions_checkout_sessions (payment_session_id);
            ALTER TABLE transactions_payments
                ADD COLUMN bank_routing_number text CHECK (bank_routing_number ~ '^[0-9]{9}$'),
                ADD COLUMN bank_last4 text CHECK (bank_last4 ~ '^[0-9]{4}$'),
                ADD CHECK (payment_method_type IN ('card', 'bank_account'));
            \(TerminalSchema.leaseSQL)
            """),
        // The terminal command relay between instances (Terminals/TerminalRelay.swift).
        TerminalSchema.relayMigration,
        // `/functions/v1` authorizations past their window (PaymentSessions/PaymentSessionExpiry.swift): the sweep reads
        // the uncaptured ones by age; they are few, so a partial index keeps it off the paid history.
        Migration(namespace: namespace, version: 9, name: "payment_authorization_expiry", sql: """
            CREATE INDEX transactions_payments_authorized ON transactions_payments (created_at) WHERE status = 'authorized';
            """),
    ]
}
