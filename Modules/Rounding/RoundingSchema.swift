import Kernel

/// The Rounding module's tables (namespace "rounding"). Every row carries `merchant_id` and `mode`.
///
/// - `rounding_chain_heads`: one row per merchant and mode: the audit chain's head (last position and
///   hash) plus the running fraud counters and the merchant's Indiana method. Appends lock this row
///   (`SELECT … FOR UPDATE`), which serialises one merchant's appends without blocking other merchants.
/// - `rounding_records`: the audit chain itself. `record_json` is the canonical record that was hashed;
///   the typed columns are copies for indexes and reports, and `verify-hash-chain` checks they still
///   equal the hashed values.
/// - `rounding_tip_pools`, `rounding_tip_pool_members`: derived pool state (open/distributed, one pool
///   per tip); the evidence is the pool's chain records.
/// - `rounding_partner_merchants`: merchant ids a partner registered by first use (the POS vendor's own
///   ids, spec §1 "register each merchant with a merchant_id equal to your internal ID"), owned by the
///   partner's organization so another vendor cannot write into or read that merchant's chain.
enum RoundingSchema {
    static let namespace = "rounding"

    static let migrations: [Migration] = [
        Migration(namespace: namespace, version: 1, name: "audit chain, heads, tip pools", sql: """
            CREATE TABLE rounding_chain_heads (
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                position bigint NOT NULL DEFAULT 0,
                head_hash text NOT NULL,
                sales bigint NOT NULL DEFAULT 0,
                rounded_up bigint NOT NULL DEFAULT 0,
                rounded_down bigint NOT NULL DEFAULT 0,
                net_delta_cents bigint NOT NULL DEFAULT 0,
                overrides bigint NOT NULL DEFAULT 0,
                override_abs_delta_cents bigint NOT NULL DEFAULT 0,
                voids bigint NOT NULL DEFAULT 0,
                voids_near_shift_change bigint NOT NULL DEFAULT 0,
                refunds bigint NOT NULL DEFAULT 0,
                refund_normalization_failures bigint NOT NULL DEFAULT 0,
                indiana_mode text,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (merchant_id, mode)
            );
            CREATE TABLE rounding_records (
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                chain_position bigint NOT NULL CHECK (chain_position >= 1),
                record_id text NOT NULL,
                event_type text NOT NULL,
                occurred_at timestamptz NOT NULL,
                linked_id text,
                employee_id text,
                reason_code text,
                payment_method text,
                compliance_status text,
                ledger_total_cents bigint,
                cash_total_cents bigint,
                rounding_delta_cents bigint,
                record_json text NOT NULL,
                previous_hash text NOT NULL,
                audit_hash text NOT NULL,
                PRIMARY KEY (merchant_id, mode, chain_position)
            );
            CREATE UNIQUE INDEX rounding_records_record_id ON rounding_records (mode, record_id);
            CREATE INDEX rounding_records_linked ON rounding_records (mode, linked_id) WHERE linked_id IS NOT NULL;
            CREATE INDEX rounding_records_time ON rounding_records (merchant_id, mode, occurred_at);
            CREATE TABLE rounding_tip_pools (
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                pool_id text NOT NULL,
                status text NOT NULL CHECK (status IN ('open', 'distributed')),
                PRIMARY KEY (mode, pool_id)
            );
            CREATE TABLE rounding_tip_pool_members (
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                tip_id text NOT NULL,
                pool_id text NOT NULL,
                PRIMARY KEY (mode, tip_id)
            );
            """),
        Migration(namespace: namespace, version: 2, name: "partner-registered merchants", sql: """
            CREATE TABLE rounding_partner_merchants (
                merchant_id text NOT NULL CHECK (length(merchant_id) BETWEEN 1 AND 128),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                organization_id text NOT NULL,
                registered_by_key text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (mode, merchant_id)
            );
            """),
    ]
}
