import Kernel

/// The idempotency module's table (namespace "idempotency"). Keys carry their merchant and mode.
///
/// Databases migrated before this module existed got the same table from Auth's migration 3; there it
/// already exists, and `IF NOT EXISTS` adopts it.
enum IdempotencySchema {
    static let namespace = "idempotency"

    static let migrations: [Migration] = [
        Migration(namespace: namespace, version: 1, name: "idempotency_keys", sql: """
            CREATE TABLE IF NOT EXISTS idempotency_keys (
                merchant_id text NOT NULL,
                mode text NOT NULL,
                scope text NOT NULL,
                key text NOT NULL,
                fingerprint text NOT NULL,
                claim_token text NOT NULL,
                state text NOT NULL CHECK (state IN ('in_progress', 'completed')),
                response_status integer,
                response_headers jsonb,
                response_body bytea,
                created_at timestamptz NOT NULL DEFAULT now(),
                locked_until timestamptz NOT NULL,
                expires_at timestamptz NOT NULL,
                PRIMARY KEY (scope, key)
            );
            CREATE INDEX IF NOT EXISTS idempotency_keys_expiry ON idempotency_keys (expires_at);
            """),
    ]
}
