import Foundation
import Kernel

/// One of a user's organizations, as login, signup, switch-org and `/auth/me` list them (`organizations[]`).
struct Membership: Sendable, Equatable {
    let organizationId: String
    let organizationName: String
    let role: UserRole

    var json: JSONValue { ["id": .string(organizationId), "name": .string(organizationName), "role": .string(role.rawValue)] }
}

/// `auth_memberships`: which organizations a user belongs to, its role and home merchant in each. The home
/// membership (the user row's organization) mirrors the user row's role and merchant, so both are written together.
struct MembershipStore: Sendable {
    /// Memberships `organizations[]` lists (a user belongs to a handful; the list is bounded).
    static let listedMax = 100

    let database: any Database
    let clock: any WallClock

    /// The user's organizations, oldest membership first.
    func memberships(userId: String) async throws -> [Membership] {
        try await database.query("""
            SELECT ms.organization_id, o.name, ms.role
            FROM auth_memberships ms JOIN auth_organizations o ON o.id = ms.organization_id
            WHERE ms.user_id = \(userId) ORDER BY ms.created_at, ms.organization_id LIMIT \(Self.listedMax)
            """).map { row in
            let roleText: String = try row.decode("role")
            guard let role = UserRole(rawValue: roleText) else {
                throw DatabaseError(kind: .decoding, message: "auth_memberships row has an unknown role")
            }
            return Membership(organizationId: try row.decode("organization_id"), organizationName: try row.decode("name"), role: role)
        }
    }

    /// Adds the membership, or gives an existing one the new role and merchant (the user row too for its home
    /// organization). Returns true when the membership is new.
    func upsert(userId: String, organizationId: String, merchantId: String, role: UserRole) async throws -> Bool {
        let now = clock.now()
        let sql: SQL = """
            WITH home AS (
                UPDATE auth_users SET role = \(role.rawValue), merchant_id = \(merchantId), updated_at = \(now)
                WHERE id = \(userId) AND organization_id = \(organizationId)
            )
            INSERT INTO auth_memberships (user_id, organization_id, merchant_id, mode, role, created_at, updated_at)
            VALUES (\(userId), \(organizationId), \(merchantId), \(Mode.live), \(role.rawValue), \(now), \(now))
            ON CONFLICT (user_id, organization_id) DO UPDATE SET role = EXCLUDED.role, merchant_id = EXCLUDED.merchant_id,
                updated_at = EXCLUDED.updated_at
            RETURNING (xmax = 0) AS inserted
            """
        guard let row = try await database.queryFirst(sql) else {
            throw DatabaseError(kind: .decoding, message: "membership upsert returned no row")
        }
        return try row.decode("inserted")
    }

    /// Deletes a membership and revokes the token families acting in it, in one transaction; false when there is none.
    func delete(userId: String, organizationId: String) async throws -> Bool {
        let now = clock.now()
        return try await database.transaction { tx in
            let deleted = try await tx.execute("""
                DELETE FROM auth_memberships WHERE user_id = \(userId) AND organization_id = \(organizationId)
                """)
            guard deleted == 1 else { return false }
            try await tx.execute("""
                WITH families AS (
                    UPDATE auth_user_token_families SET revoked_at = \(now), revoked_reason = 'membership_removed'
                    WHERE user_id = \(userId) AND organization_id = \(organizationId) AND revoked_at IS NULL
                    RETURNING id
                )
                UPDATE auth_user_access_tokens SET revoked_at = \(now)
                WHERE family_id IN (SELECT id FROM families) AND revoked_at IS NULL
                """)
            return true
        }
    }
}
