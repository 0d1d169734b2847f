import Kernel

/// Memberships (namespace "auth", version 22): a user belongs to one or more organizations, with a role and a home
/// merchant in each. The user row keeps its home organization (the one login acts in) and its first membership;
/// `auth_memberships` holds every membership, the home one included, and is what a token resolves through. A token
/// family records the organization it acts in, so `switch-org` starts a family scoped to the chosen membership.
/// Existing users are migrated into one membership each, and their families into their home organization.
enum MembershipsSchema {
    static let migrations: [Migration] = [
        Migration(namespace: AuthSchema.namespace, version: 22, name: "memberships", sql: """
            CREATE TABLE auth_memberships (
                user_id text NOT NULL REFERENCES auth_users(id),
                organization_id text NOT NULL REFERENCES auth_organizations(id),
                merchant_id text NOT NULL REFERENCES auth_merchants(id),
                mode text NOT NULL DEFAULT 'live' CHECK (mode IN ('live', 'test')),
                role text NOT NULL CHECK (role IN ('owner', 'admin', 'accountant', 'bookkeeper', 'employee', 'auditor')),
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                PRIMARY KEY (user_id, organization_id)
            );
            CREATE INDEX auth_memberships_organization ON auth_memberships (organization_id, created_at);
            INSERT INTO auth_memberships (user_id, organization_id, merchant_id, mode, role, created_at, updated_at)
            SELECT id, organization_id, merchant_id, mode, role, created_at, updated_at FROM auth_users;
            ALTER TABLE auth_user_token_families ADD COLUMN organization_id text REFERENCES auth_organizations(id);
            UPDATE auth_user_token_families f SET organization_id = u.organization_id FROM auth_users u WHERE u.id = f.user_id;
            ALTER TABLE auth_user_token_families ALTER COLUMN organization_id SET NOT NULL;
            """),
    ]
}
