import Kernel

/// Reconciliation's tables (namespace "reconciliation"). Every table carries merchant_id and mode.
///
/// - `reconciliation_items`: one row per approved money-moving transaction, copied from its
///   `transaction.approved` event (the transaction id is the key, so a redelivered event adds nothing).
///   `settlement_id` NULL means the open period; a close sets it, once.
/// - `reconciliation_totals`: the open period's running totals per currency, kept by the same statement
///   that inserts items, and reduced by a close by exactly what it claimed. Invariant (checked by
///   `atlas admin reconciliation-check`): totals = the sums over the open items.
/// - `reconciliation_settlements`: one row per settlement, with the period's totals and the acquirer's answer.
/// - `reconciliation_close_locks`: at most one close per merchant and mode at a time (expires, so a
///   crashed close never blocks the next one forever).
/// - `reconciliation_settled_events_owed`: settlements whose `transaction.settled` events a close has yet to
///   append (`SettledEventsAppender`): written by the claim, deleted by the append, in one transaction each.
enum ReconciliationSchema {
    static let namespace = "reconciliation"

    static var migrations: [Migration] {
        itemsAndSettlements + StoredValueSchema.migrations + [settlementAttempts, settledEventsOwed]
    }

    /// A close appends its `transaction.settled` events after it has answered (issue 12, performance): the claim
    /// records the debt here, the append deletes it. A table of its own rather than a flag on the settlement, so
    /// an append (a second or so at 100,000 events) holds no lock on the settlement row that the acquirer's answer
    /// or a retry updates, and the sweep reads only what is owed. Settlements before this migration owe nothing
    /// (their claim appended their events).
    static let settledEventsOwed = Migration(namespace: namespace, version: 4, name: "settled_events_owed", sql: """
        CREATE TABLE reconciliation_settled_events_owed (
            settlement_id text PRIMARY KEY REFERENCES reconciliation_settlements (id),
            merchant_id text NOT NULL,
            mode text NOT NULL CHECK (mode IN ('live', 'test')),
            owed_since timestamptz NOT NULL
        );
        """)

    /// A FAILED settlement can be submitted again (`POST /v1/settlements/{id}/retry`): `attempt` is the
    /// acquirer's idempotency reference beside the settlement id (1 for the close's submission).
    static let settlementAttempts = Migration(namespace: namespace, version: 3, name: "settlement_attempts", sql: """
        ALTER TABLE reconciliation_settlements ADD COLUMN attempt integer NOT NULL DEFAULT 1 CHECK (attempt >= 1);
        """)

    static let itemsAndSettlements: [Migration] = [
        Migration(namespace: namespace, version: 1, name: "items_totals_settlements", sql: """
            CREATE TABLE reconciliation_items (
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                transaction_id text NOT NULL,
                type text NOT NULL CHECK (type IN ('SALE', 'PRE_AUTH', 'PRE_AUTH_COMPLETE', 'REFUND', 'VOID')),
                status text NOT NULL CHECK (status IN ('APPROVED', 'VOIDED')),
                amount bigint NOT NULL CHECK (amount >= 0),
                currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
                terminal_id text,
                card_scheme text,
                masked_pan text CHECK (masked_pan IS NULL OR masked_pan ~ '^[*]{8,15}[0-9]{4}$'),
                authorization_code text,
                original_transaction_id text,
                occurred_at timestamptz NOT NULL,
                source_event_id text NOT NULL,
                settlement_id text,
                PRIMARY KEY (merchant_id, mode, transaction_id)
            );
            CREATE INDEX reconciliation_items_open ON reconciliation_items (merchant_id, mode, currency)
                WHERE settlement_id IS NULL;
            CREATE INDEX reconciliation_items_settled ON reconciliation_items (settlement_id, transaction_id)
                WHERE settlement_id IS NOT NULL;

            CREATE TABLE reconciliation_totals (
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
                sale_count bigint NOT NULL DEFAULT 0 CHECK (sale_count >= 0),
                sale_amount bigint NOT NULL DEFAULT 0 CHECK (sale_amount >= 0),
                refund_count bigint NOT NULL DEFAULT 0 CHECK (refund_count >= 0),
                refund_amount bigint NOT NULL DEFAULT 0 CHECK (refund_amount >= 0),
                void_count bigint NOT NULL DEFAULT 0 CHECK (void_count >= 0),
                void_amount bigint NOT NULL DEFAULT 0 CHECK (void_amount >= 0),
                pre_auth_count bigint NOT NULL DEFAULT 0 CHECK (pre_auth_count >= 0),
                pre_auth_amount bigint NOT NULL DEFAULT 0 CHECK (pre_auth_amount >= 0),
                last_activity_at timestamptz NOT NULL,
                PRIMARY KEY (merchant_id, mode, currency)
            );

            CREATE TABLE reconciliation_settlements (
                id text PRIMARY KEY,
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                terminal_id text NOT NULL,
                currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
                status text NOT NULL CHECK (status IN ('PENDING', 'SETTLED', 'FAILED', 'PARTIAL')),
                submission text NOT NULL CHECK (submission IN ('CLAIMED', 'SUBMITTED')),
                sale_count bigint NOT NULL CHECK (sale_count >= 0),
                sale_amount bigint NOT NULL CHECK (sale_amount >= 0),
                refund_count bigint NOT NULL CHECK (refund_count >= 0),
                refund_amount bigint NOT NULL CHECK (refund_amount >= 0),
                void_count bigint NOT NULL CHECK (void_count >= 0),
                void_amount bigint NOT NULL CHECK (void_amount >= 0),
                pre_auth_count bigint NOT NULL CHECK (pre_auth_count >= 0),
                pre_auth_amount bigint NOT NULL CHECK (pre_auth_amount >= 0),
                net_amount bigint NOT NULL,
                acquirer_batch_ref text,
                funding_date timestamptz,
                rejected_transaction_ids jsonb,
                closed_at timestamptz NOT NULL,
                CHECK (net_amount = sale_amount - refund_amount - void_amount)
            );
            CREATE INDEX reconciliation_settlements_list ON reconciliation_settlements (merchant_id, mode, id DESC);
            CREATE INDEX reconciliation_settlements_unsubmitted ON reconciliation_settlements (merchant_id, mode)
                WHERE submission = 'CLAIMED';

            CREATE TABLE reconciliation_close_locks (
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                holder text NOT NULL,
                locked_until timestamptz NOT NULL,
                PRIMARY KEY (merchant_id, mode)
            );
            """),
    ]
}
