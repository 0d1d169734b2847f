import Kernel

/// Auth's tables. Every tenant table carries `merchant_id` and `mode`; platform-wide tables
/// (signing keys) say so. Secrets are stored as SHA-256 (API keys, client secrets, refresh tokens)
/// or scrypt (passwords, device secrets); raw secrets exist only in the response that issues them.
enum AuthSchema {
    static let namespace = "auth"

    static let migrations: [Migration] = [
        Migration(namespace: namespace, version: 1, name: "tenancy", sql: """
            CREATE TABLE auth_organizations (
                id text PRIMARY KEY,
                name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                kind text NOT NULL DEFAULT 'merchant' CHECK (kind IN ('platform', 'pos_vendor', 'merchant')),
                status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
                created_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE auth_merchants (
                id text PRIMARY KEY,
                organization_id text NOT NULL REFERENCES auth_organizations(id),
                name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                slug text UNIQUE,
                status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
                settings jsonb NOT NULL DEFAULT '{}'::jsonb,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE auth_stores (
                merchant_id text NOT NULL REFERENCES auth_merchants(id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                id text NOT NULL,
                name text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (merchant_id, mode, id)
            );
            CREATE TABLE auth_terminals (
                merchant_id text NOT NULL REFERENCES auth_merchants(id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                id text NOT NULL,
                store_id text,
                serial_number text,
                status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (merchant_id, mode, id)
            );
            """),
        Migration(namespace: namespace, version: 2, name: "api_keys", sql: """
            CREATE TABLE auth_api_keys (
                id text PRIMARY KEY,
                merchant_id text NOT NULL REFERENCES auth_merchants(id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                kind text NOT NULL CHECK (kind IN ('secret', 'role')),
                role text,
                scopes text NOT NULL DEFAULT '',
                terminal_id text,
                name text,
                display_prefix text NOT NULL,
                last4 text NOT NULL,
                secret_hash bytea NOT NULL UNIQUE,
                status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'rotated', 'revoked')),
                expires_at timestamptz,
                replaced_by text,
                created_at timestamptz NOT NULL DEFAULT now(),
                revoked_at timestamptz
            );
            CREATE INDEX auth_api_keys_merchant ON auth_api_keys (merchant_id, mode, created_at);
            """),
        // Idempotency keys moved to the idempotency module (its migration 1 adopts the table on databases
        // that ran this migration's earlier text, whose checksum is kept here).
        Migration(namespace: namespace, version: 3, name: "audit_and_idempotency",
                  priorChecksums: ["d73f83f1def5e736e63171c71a690a82e8fe42df6e9331ddf89011c1b34aa0dd"], sql: """
            CREATE TABLE auth_audit_log (
                id bigserial PRIMARY KEY,
                merchant_id text,
                mode text,
                occurred_at timestamptz NOT NULL,
                event text NOT NULL,
                principal_kind text,
                principal_id text,
                credential_fingerprint text,
                ip text,
                method text,
                route text,
                status integer,
                request_id text,
                detail jsonb
            );
            CREATE INDEX auth_audit_log_merchant ON auth_audit_log (merchant_id, mode, id);
            """),
        // Spec §9: the version a merchant's requests run under when they send no Atlas-API-Version (null: current).
        Migration(namespace: namespace, version: 4, name: "merchant_api_version", sql: """
            ALTER TABLE auth_merchants ADD COLUMN api_version text CHECK (api_version ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$');
            """),
    ]
}
