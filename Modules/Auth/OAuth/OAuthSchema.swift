import Kernel

/// OAuth tables, in Auth's migration namespace, versions 10–19.
///
/// `auth_oauth_clients` and `auth_oauth_client_secrets` are tenant tables (merchant_id, mode).
/// `auth_oauth_signing_keys` is platform-wide on purpose: one issuer signs every merchant's tokens
/// and publishes one JWKS, so its keys belong to no merchant and no mode (the mode is a claim).
/// Its private key PEM is stored in the clear: anyone who can read this table can mint tokens for
/// every merchant. In production a KMS/HSM would hold the private key and sign on our behalf; the
/// table would then keep only the public key and the KMS key reference (see docs/auth-oauth.md).
enum OAuthSchema {
    static let migrations: [Migration] = [
        Migration(namespace: AuthSchema.namespace, version: 10, name: "oauth_clients", sql: """
            CREATE TABLE auth_oauth_clients (
                id text PRIMARY KEY,
                merchant_id text NOT NULL REFERENCES auth_merchants(id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                name text CHECK (name IS NULL OR length(name) <= 200),
                scopes text NOT NULL,
                allowed_terminal_ids jsonb,
                status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
                created_at timestamptz NOT NULL
            );
            CREATE INDEX auth_oauth_clients_merchant ON auth_oauth_clients (merchant_id, mode, created_at);
            CREATE TABLE auth_oauth_client_secrets (
                id bigserial PRIMARY KEY,
                client_id text NOT NULL REFERENCES auth_oauth_clients(id),
                merchant_id text NOT NULL REFERENCES auth_merchants(id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                secret_hash bytea NOT NULL UNIQUE,
                last4 text NOT NULL,
                created_at timestamptz NOT NULL,
                expires_at timestamptz
            );
            CREATE INDEX auth_oauth_client_secrets_client ON auth_oauth_client_secrets (client_id);
            CREATE TABLE auth_oauth_signing_keys (
                kid text PRIMARY KEY,
                algorithm text NOT NULL DEFAULT 'RS256' CHECK (algorithm = 'RS256'),
                private_key_pem text NOT NULL,
                public_key_pem text NOT NULL,
                created_at timestamptz NOT NULL,
                retired_at timestamptz
            );
            CREATE UNIQUE INDEX auth_oauth_signing_keys_one_active
                ON auth_oauth_signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;
            """),
    ]
}
