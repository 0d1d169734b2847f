import Kernel

/// The module's tables, all prefixed `webhooks_` and carrying `merchant_id` and `mode`:
/// endpoints (with their signing secrets), the events recorded for delivery (with their per-resource
/// `sequence`), the per-resource sequence counters, one delivery per (endpoint, event), and the attempt log.
enum WebhooksSchema {
    static let namespace = "webhooks"

    static let migrations: [Migration] = [
        Migration(namespace: namespace, version: 1, name: "endpoints_deliveries_attempts", sql: """
            CREATE TABLE webhooks_endpoints (
                id text PRIMARY KEY,
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
                description text CHECK (length(description) <= 500),
                -- Empty: every event type.
                event_types text[] NOT NULL DEFAULT '{}',
                status text NOT NULL CHECK (status IN ('enabled', 'disabled')),
                disabled_reason text,
                -- Signing secrets are needed in clear to sign; the previous one signs too until it expires.
                secret text NOT NULL,
                previous_secret text,
                previous_secret_expires_at timestamptz,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL
            );
            CREATE INDEX webhooks_endpoints_tenant ON webhooks_endpoints (merchant_id, mode, id);

            CREATE TABLE webhooks_resource_sequences (
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                resource_id text NOT NULL,
                last_sequence bigint NOT NULL CHECK (last_sequence > 0),
                PRIMARY KEY (merchant_id, mode, resource_id)
            );

            CREATE TABLE webhooks_events (
                event_id text PRIMARY KEY,
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                event_type text NOT NULL,
                resource_id text NOT NULL,
                sequence bigint NOT NULL CHECK (sequence > 0),
                payload jsonb NOT NULL,
                occurred_at timestamptz NOT NULL
            );

            CREATE TABLE webhooks_deliveries (
                id text PRIMARY KEY,
                endpoint_id text NOT NULL REFERENCES webhooks_endpoints(id) ON DELETE CASCADE,
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                event_id text NOT NULL REFERENCES webhooks_events(event_id),
                status text NOT NULL CHECK (status IN ('pending', 'delivering', 'succeeded', 'dead')),
                -- Attempts of the current run (a replay starts a new run at 0): Atlas-Delivery is attempts + 1.
                attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                next_attempt_at timestamptz NOT NULL,
                -- While delivering: when another instance may take it over (this one died).
                lease_until timestamptz,
                last_status_code integer,
                last_error text,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                UNIQUE (endpoint_id, event_id)
            );
            CREATE INDEX webhooks_deliveries_due ON webhooks_deliveries (endpoint_id, next_attempt_at)
                WHERE status IN ('pending', 'delivering');
            CREATE INDEX webhooks_deliveries_endpoint ON webhooks_deliveries (endpoint_id, status, created_at);

            CREATE TABLE webhooks_attempts (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                delivery_id text NOT NULL REFERENCES webhooks_deliveries(id) ON DELETE CASCADE,
                endpoint_id text NOT NULL,
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                event_id text NOT NULL,
                attempt integer NOT NULL CHECK (attempt >= 1),
                started_at timestamptz NOT NULL,
                latency_ms integer NOT NULL CHECK (latency_ms >= 0),
                status_code integer,
                error text,
                response_body text,
                outcome text NOT NULL CHECK (outcome IN ('succeeded', 'retrying', 'dead', 'endpoint_disabled'))
            );
            CREATE INDEX webhooks_attempts_endpoint ON webhooks_attempts (endpoint_id, id);
            CREATE INDEX webhooks_attempts_event ON webhooks_attempts (merchant_id, mode, event_id, id);
            CREATE INDEX webhooks_attempts_age ON webhooks_attempts (started_at);
            """),
        Migration(namespace: namespace, version: 2, name: "endpoint_failing_since", sql: """
            -- The first failed attempt since the last success; an endpoint failing too long is disabled.
            ALTER TABLE webhooks_endpoints ADD COLUMN failing_since timestamptz;
            """),
        Migration(namespace: namespace, version: 3, name: "endpoint_flavours", sql: """
            -- The API an endpoint belongs to (WebhookFlavour). Accounting endpoints also receive the events their
            -- organization's unlinked companies log under the organization id, optionally of one company only.
            ALTER TABLE webhooks_endpoints
                ADD COLUMN flavour text NOT NULL DEFAULT 'commerce' CHECK (flavour IN ('commerce', 'accounting', 'payments')),
                ADD COLUMN organization_id text,
                ADD COLUMN company_id text,
                ADD CONSTRAINT webhooks_endpoints_accounting_org CHECK (flavour <> 'accounting' OR organization_id IS NOT NULL);
            CREATE INDEX webhooks_endpoints_organization ON webhooks_endpoints (organization_id, mode) WHERE organization_id IS NOT NULL;
            """),
    ]
}
