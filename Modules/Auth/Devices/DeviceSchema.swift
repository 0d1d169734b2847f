import Kernel

/// Tables of the offline terminal backend (`/api`): devices, their operators, sessions, refresh
/// tokens, session-grant keys and per-tenant policy. Auth versions 30–39 are reserved for this part.
///
/// A tenant is an `auth_merchants` row with a `slug`. Every table carries `merchant_id` and `mode`:
/// a device is live unless it was enrolled in test mode, and it only ever sees operators, keys and
/// policy of its own merchant and mode.
enum DeviceSchema {
    static let migrations: [Migration] = [
        Migration(namespace: AuthSchema.namespace, version: 30, name: "terminal_devices", sql: """
            CREATE TABLE auth_devices (
                id text PRIMARY KEY,
                merchant_id text NOT NULL REFERENCES auth_merchants(id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                role text NOT NULL CHECK (role IN ('terminal', 'gate', 'station', 'scout')),
                terminal_number integer NOT NULL CHECK (terminal_number BETWEEN 1 AND 65535),
                name text,
                status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
                -- scrypt hash of the one-time commissioning secret; NULL once consumed.
                secret_hash text,
                secret_consumed_at timestamptz,
                -- DER SubjectPublicKeyInfo of the device's ECDSA P-256 key, registered at first login.
                public_key bytea,
                created_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (merchant_id, terminal_number)
            );
            CREATE INDEX auth_devices_merchant ON auth_devices (merchant_id, mode, created_at);
            CREATE TABLE auth_device_operators (
                id text PRIMARY KEY,
                merchant_id text NOT NULL REFERENCES auth_merchants(id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                username text NOT NULL CHECK (length(username) BETWEEN 1 AND 100),
                password_hash text NOT NULL,
                display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
                roles text NOT NULL DEFAULT '',
                status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
                -- TOTP seed (RFC 6238, HMAC-SHA-256); NULL when OTP is not required.
                otp_secret bytea,
                otp_last_step bigint NOT NULL DEFAULT 0,
                created_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (merchant_id, mode, username)
            );
            CREATE TABLE auth_device_sessions (
                id text PRIMARY KEY,
                merchant_id text NOT NULL REFERENCES auth_merchants(id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                device_id text NOT NULL REFERENCES auth_devices(id),
                account_id text NOT NULL REFERENCES auth_device_operators(id),
                role text NOT NULL,
                access_hash bytea NOT NULL UNIQUE,
                access_expires_at timestamptz NOT NULL,
                status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
                created_at timestamptz NOT NULL,
                revoked_at timestamptz
            );
            CREATE INDEX auth_device_sessions_device ON auth_device_sessions (device_id, status);
            CREATE INDEX auth_device_sessions_merchant ON auth_device_sessions (merchant_id, mode, status);
            CREATE TABLE auth_device_refresh_tokens (
                token_hash bytea PRIMARY KEY,
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                session_id text NOT NULL REFERENCES auth_device_sessions(id),
                device_id text NOT NULL,
                -- active: usable once; used: rotated away (presenting it again is reuse); revoked.
                status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'used', 'revoked')),
                expires_at timestamptz NOT NULL,
                created_at timestamptz NOT NULL
            );
            CREATE INDEX auth_device_refresh_tokens_session ON auth_device_refresh_tokens (session_id);
            CREATE INDEX auth_device_refresh_tokens_expiry ON auth_device_refresh_tokens (expires_at);
            CREATE TABLE auth_grant_keys (
                merchant_id text NOT NULL REFERENCES auth_merchants(id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                key_version integer NOT NULL CHECK (key_version BETWEEN 1 AND 255),
                -- HMAC-SHA-256 key material; a signing key, so it is kept (not hashed) and never served.
                key_material bytea NOT NULL,
                status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired', 'revoked')),
                created_at timestamptz NOT NULL,
                retired_at timestamptz,
                PRIMARY KEY (merchant_id, mode, key_version)
            );
            CREATE TABLE auth_terminal_policies (
                merchant_id text NOT NULL REFERENCES auth_merchants(id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                max_balance bigint,
                single_tx_limit bigint,
                daily_limit bigint,
                weekly_limit bigint,
                blocked_statuses text,
                clock_drift_allowance_sec integer,
                grant_lifetime_sec integer CHECK (grant_lifetime_sec BETWEEN 3600 AND 86400),
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (merchant_id, mode)
            );
            """),
    ]
}
