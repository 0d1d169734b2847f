import Foundation
import Kernel

/// A user as the API shows it: never the password hash.
struct UserRecord: Sendable, Equatable {
    let id: String
    let organizationId: String
    let organizationName: String
    let merchantId: String
    let mode: Mode
    let email: String
    let fullName: String
    let role: UserRole
    let status: String
    let tier: OrganizationTier
    /// When the organization's trial ends (organizations that signed up themselves); nil without a trial.
    let trialEndsAt: Date?
    let createdAt: Date
    let lastLoginAt: Date?
    /// False when the user's organization or merchant is suspended: its users cannot act.
    let tenantActive: Bool

    var tenant: TenantContext { TenantContext(merchantId: merchantId, mode: mode) }
    var isActive: Bool { status == "active" && tenantActive }

    var json: JSONValue {
        [
            "id": .string(id), "email": .string(email), "full_name": .string(fullName), "role": .string(role.rawValue),
            "status": .string(status), "organization_id": .string(organizationId), "merchant_id": .string(merchantId),
            "is_active": .bool(status == "active"), "created_at": .string(Timestamp.iso8601(createdAt)),
            "last_login_at": lastLoginAt.map { .string(Timestamp.iso8601($0)) } ?? .null,
            "permissions": .array(role.permissions.sorted().map { .string($0) }),
        ]
    }

    /// The organization the user acts in (`/auth/me`, signup, switch-org).
    var organizationJSON: JSONValue {
        ["id": .string(organizationId), "name": .string(organizationName), "role": .string(role.rawValue),
         "tier": .string(tier.rawValue), "trial_ends_at": trialEndsAt.map { .string(Timestamp.iso8601($0)) } ?? .null]
    }
}

/// A user row with its password hash, for login only.
struct UserCredentials: Sendable {
    let record: UserRecord
    let passwordHash: String
}

/// Errors of user administration (CLI and module API); messages carry no secrets.
public struct UserAdministrationError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Users and organization settings in PostgreSQL.
struct UserStore: Sendable {
    static let emailBytesMax = 254
    static let passwordCharactersMin = 8
    static let passwordBytesMax = 1024
    static let fullNameCharactersMax = 200

    let database: any Database
    let clock: any WallClock

    /// Lower-cased, trimmed: the one spelling stored and compared.
    static func normalizeEmail(_ email: String) -> String {
        email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    /// A deliberately simple shape check: one "@", non-empty local part and a dotted domain, no spaces.
    static func isPlausibleEmail(_ email: String) -> Bool {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
              !parts[1].hasSuffix("."), email.utf8.count <= emailBytesMax else { return false }
        return !email.contains { $0.isWhitespace || $0.isNewline }
    }

    /// The user with one membership: its organization, home merchant, role and tier come from the membership.
    private static let selectUser: StaticString = """
        SELECT u.id, u.email, u.full_name, u.password_hash, u.status, u.created_at, u.last_login_at,
               ms.organization_id, ms.merchant_id, ms.mode, ms.role,
               o.name AS organization_name, o.status AS organization_status, m.status AS merchant_status,
               COALESCE(s.tier, 'standard') AS tier, s.trial_ends_at
        FROM auth_users u
        JOIN auth_memberships ms ON ms.user_id = u.id
        JOIN auth_organizations o ON o.id = ms.organization_id
        JOIN auth_merchants m ON m.id = ms.merchant_id
        LEFT JOIN auth_org_settings s ON s.organization_id = ms.organization_id
        """

    /// The user by email, acting in its home organization (login).
    func find(email: String) async throws -> UserCredentials? {
        let sql: SQL = """
            \(literal: Self.selectUser)
            WHERE lower(u.email) = lower(\(Self.normalizeEmail(email))) AND ms.organization_id = u.organization_id
            """
        guard let row = try await database.queryFirst(sql) else { return nil }
        return UserCredentials(record: try Self.record(row), passwordHash: try row.decode("password_hash"))
    }

    /// The user acting in `organizationId` (nil: its home organization); nil when the user is not a member of it.
    func find(id: String, organizationId: String? = nil, executor: (any SQLExecutor)? = nil) async throws -> UserRecord? {
        let sql: SQL = """
            \(literal: Self.selectUser)
            WHERE u.id = \(id) AND ms.organization_id = COALESCE(\(organizationId)::text, u.organization_id)
            """
        guard let row = try await (executor ?? database).queryFirst(sql) else { return nil }
        return try Self.record(row)
    }

    static func record(_ row: Row) throws -> UserRecord {
        let roleText: String = try row.decode("role")
        let modeText: String = try row.decode("mode")
        let tierText: String = try row.decode("tier")
        guard let role = UserRole(rawValue: roleText), let mode = Mode(rawValue: modeText) else {
            throw DatabaseError(kind: .decoding, message: "auth_users row has an unknown role or mode")
        }
        let organizationStatus: String = try row.decode("organization_status")
        let merchantStatus: String = try row.decode("merchant_status")
        let tenantActive = organizationStatus == "active" && merchantStatus == "active"
        return UserRecord(id: try row.decode("id"), organizationId: try row.decode("organization_id"),
                          organizationName: try row.decode("organization_name"), merchantId: try row.decode("merchant_id"),
                          mode: mode, email: try row.decode("email"), fullName: try row.decode("full_name"), role: role,
                          status: try row.decode("status"), tier: OrganizationTier(rawValue: tierText) ?? .standard,
                          trialEndsAt: try row.decode("trial_ends_at"), createdAt: try row.decode("created_at"), lastLoginAt: try row.decode("last_login_at"),
                          tenantActive: tenantActive)
    }

    /// The merchant users of an organization act for: the configured default, else its oldest merchant.
    func defaultMerchant(organizationId: String) async throws -> String? {
        let sql: SQL = """
            SELECT COALESCE(
                (SELECT default_merchant_id FROM auth_org_settings WHERE organization_id = \(organizationId)),
                (SELECT id FROM auth_merchants WHERE organization_id = \(organizationId) ORDER BY created_at, id LIMIT 1)
            ) AS merchant_id
            """
        return try await database.queryFirst(sql)?.decode("merchant_id", as: String?.self)
    }

    func insert(id: String, organizationId: String, merchantId: String, email: String, fullName: String,
                passwordHash: String, role: UserRole) async throws {
        let now = clock.now()
        // The user and its home membership in one statement.
        let sql: SQL = """
            WITH created AS (
                INSERT INTO auth_users (id, organization_id, merchant_id, mode, email, full_name, password_hash, role,
                                        created_at, updated_at)
                VALUES (\(id), \(organizationId), \(merchantId), \(Mode.live), \(Self.normalizeEmail(email)), \(fullName),
                        \(passwordHash), \(role.rawValue), \(now), \(now))
                RETURNING id
            )
            INSERT INTO auth_memberships (user_id, organization_id, merchant_id, mode, role, created_at, updated_at)
            SELECT id, \(organizationId), \(merchantId), \(Mode.live), \(role.rawValue), \(now), \(now) FROM created
            """
        if try await isEmailTaken(email) { throw UserAdministrationError("a user with that email already exists") }
        // A concurrent insert of the same email still loses on the unique index.
        let result = await Self.attempt { () async throws(DatabaseError) -> Int in try await database.execute(sql) }
        if case .failure(let error) = result {
            if error.kind == .uniqueViolation { throw UserAdministrationError("a user with that email already exists") }
            throw error
        }
    }

    /// Runs a statement and returns its typed failure as a value (a `do/catch … where` on the typed
    /// error here crashes the Swift 6.3.1 compiler in MandatoryAllocBoxToStack).
    private static func attempt(_ body: () async throws(DatabaseError) -> Int) async -> Result<Int, DatabaseError> {
        do { return .success(try await body()) } catch { return .failure(error) }
    }

    func isEmailTaken(_ email: String) async throws -> Bool {
        let sql = SQL("SELECT 1 FROM auth_users WHERE lower(email) = lower($1)", binds: [.text(Self.normalizeEmail(email))])
        return try await database.queryFirst(sql) != nil
    }

    func setStatus(userId: String, status: String) async throws -> Bool {
        let sql: SQL = "UPDATE auth_users SET status = \(status), updated_at = \(clock.now()) WHERE id = \(userId)"
        return try await database.execute(sql) == 1
    }

    /// The role in the user's home organization (the user row and its home membership).
    func setRole(userId: String, role: UserRole) async throws -> Bool {
        let now = clock.now()
        let sql: SQL = """
            WITH home AS (
                UPDATE auth_users SET role = \(role.rawValue), updated_at = \(now) WHERE id = \(userId) RETURNING organization_id
            )
            UPDATE auth_memberships SET role = \(role.rawValue), updated_at = \(now)
            WHERE user_id = \(userId) AND organization_id IN (SELECT organization_id FROM home)
            """
        return try await database.execute(sql) == 1
    }

    func recordLogin(userId: String) async throws {
        try await database.execute("UPDATE auth_users SET last_login_at = \(clock.now()) WHERE id = \(userId)")
    }

    func setSettings(organizationId: String, tier: OrganizationTier?, defaultMerchantId: String?) async throws {
        let sql: SQL = """
            INSERT INTO auth_org_settings (organization_id, tier, default_merchant_id, updated_at)
            VALUES (\(organizationId), COALESCE(\(tier?.rawValue)::text, 'standard'), \(defaultMerchantId), \(clock.now()))
            ON CONFLICT (organization_id) DO UPDATE SET
                tier = COALESCE(\(tier?.rawValue)::text, auth_org_settings.tier),
                default_merchant_id = COALESCE(\(defaultMerchantId)::text, auth_org_settings.default_merchant_id),
                updated_at = EXCLUDED.updated_at
            """
        try await database.execute(sql)
    }

    func organizationExists(_ organizationId: String) async throws -> Bool {
        try await database.queryFirst("SELECT 1 FROM auth_organizations WHERE id = \(organizationId)") != nil
    }

    func merchantBelongs(_ merchantId: String, to organizationId: String) async throws -> Bool {
        let sql: SQL = "SELECT 1 FROM auth_merchants WHERE id = \(merchantId) AND organization_id = \(organizationId)"
        return try await database.queryFirst(sql) != nil
    }
}
