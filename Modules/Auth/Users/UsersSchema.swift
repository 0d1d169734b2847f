import Kernel

/// Tables of the Users part (namespace "auth", versions 20–29).
///
/// Tenancy: a user belongs to one organization and acts for one merchant of it (its "home"
/// merchant, by default the organization's default merchant), always in `live` mode. So user
/// rows and every token row carry that `merchant_id` and `mode`, like every other tenant table.
/// `auth_org_settings` is the one exception: it configures an organization (rate-limit tier,
/// default merchant) above any single merchant, so it is keyed by `organization_id` only.
enum UsersSchema {
    static let migrations: [Migration] = [
        Migration(namespace: AuthSchema.namespace, version: 20, name: "users", sql: """
            CREATE TABLE auth_org_settings (
                organization_id text PRIMARY KEY REFERENCES auth_organizations(id),
                tier text NOT NULL DEFAULT 'standard' CHECK (tier IN ('standard', 'professional', 'enterprise')),
                default_merchant_id text REFERENCES auth_merchants(id),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE auth_users (
                id text PRIMARY KEY,
                organization_id text NOT NULL REFERENCES auth_organizations(id),
                merchant_id text NOT NULL REFERENCES auth_merchants(id),
                mode text NOT NULL DEFAULT 'live' CHECK (mode IN ('live', 'test')),
                email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
                full_name text NOT NULL DEFAULT '' CHECK (length(full_name) <= 200),
                password_hash text NOT NULL,
                role text NOT NULL CHECK (role IN ('owner', 'admin', 'accountant', 'bookkeeper', 'employee', 'auditor')),
                status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                last_login_at timestamptz
            );
            CREATE UNIQUE INDEX auth_users_email ON auth_users (lower(email));
            CREATE INDEX auth_users_organization ON auth_users (organization_id, created_at);
            CREATE TABLE auth_user_token_families (
                id text PRIMARY KEY,
                merchant_id text NOT NULL REFERENCES auth_merchants(id),
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                user_id text NOT NULL REFERENCES auth_users(id),
                created_at timestamptz NOT NULL,
                revoked_at timestamptz,
                revoked_reason text
            );
            CREATE INDEX auth_user_token_families_user ON auth_user_token_families (user_id);
            CREATE TABLE auth_user_refresh_tokens (
                token_hash bytea PRIMARY KEY,
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                family_id text NOT NULL REFERENCES auth_user_token_families(id),
                user_id text NOT NULL REFERENCES auth_users(id),
                issued_at timestamptz NOT NULL,
                expires_at timestamptz NOT NULL,
                used_at timestamptz
            );
            CREATE INDEX auth_user_refresh_tokens_family ON auth_user_refresh_tokens (family_id);
            CREATE INDEX auth_user_refresh_tokens_expiry ON auth_user_refresh_tokens (expires_at);
            CREATE TABLE auth_user_access_tokens (
                token_hash bytea PRIMARY KEY,
                merchant_id text NOT NULL,
                mode text NOT NULL CHECK (mode IN ('live', 'test')),
                family_id text NOT NULL REFERENCES auth_user_token_families(id),
                user_id text NOT NULL REFERENCES auth_users(id),
                issued_at timestamptz NOT NULL,
                expires_at timestamptz NOT NULL,
                revoked_at timestamptz
            );
            CREATE INDEX auth_user_access_tokens_family ON auth_user_access_tokens (family_id);
            CREATE INDEX auth_user_access_tokens_expiry ON auth_user_access_tokens (expires_at);
            """),
        // Self-service signup (`POST /api/v1/auth/signup`) starts the new organization on a trial.
        Migration(namespace: AuthSchema.namespace, version: 21, name: "organization trial", sql: """
            ALTER TABLE auth_org_settings ADD COLUMN trial_ends_at timestamptz;
            """),
    ]
}
