import Foundation
import Kernel

/// Raw tokens handed to a client once; only their SHA-256 hashes are stored.
struct IssuedUserTokens: Sendable {
    let accessToken: String
    let refreshToken: String
    let familyId: String
    let accessExpiresAt: Date
    let refreshExpiresAt: Date
}

/// An access token found by its hash, with the user it acts for.
struct ResolvedUserToken: Sendable {
    let familyId: String
    let expiresAt: Date
    let user: UserRecord
}

/// What presenting a refresh token led to.
enum RefreshOutcome: Sendable {
    case rotated(IssuedUserTokens, UserRecord)
    /// Unknown, expired, revoked family, or the user can no longer act.
    case invalid
    /// An already-used token came back: its whole family is now revoked.
    case reused(familyId: String, userId: String, tenant: TenantContext)
}

/// User tokens are RS256 JWTs signed with the OAuth signing key (spec B.4 rule 9: `sub`, `org`, `exp`, `iat`, `jti`,
/// `aud` = `atlas-accounting`, `token_use` access or refresh; the JWKS verifies them), SHA-256 of the whole text at
/// rest, so revocation, rotation and reuse detection stay an exact lookup. Opaque `at_` / `rt_` tokens issued before
/// remain accepted until they expire. Access tokens live 1 hour; refresh tokens 30 days, are single-use, and belong to
/// a family (one per login) so that reuse of a spent refresh token can revoke everything the login produced.
struct UserTokenStore: Sendable {
    static let audience = "atlas-accounting"
    static let accessUse = "access"
    static let refreshUse = "refresh"
    static let accessPrefix = "at_"
    static let refreshPrefix = "rt_"
    static let randomBytesCount = 32
    static let accessLifetimeSeconds: TimeInterval = 3600
    static let refreshLifetimeSeconds: TimeInterval = 30 * 24 * 3600
    /// Expired rows are kept this long after expiry (so late reuse is still recognised), then purged.
    static let purgeGraceSeconds: TimeInterval = 24 * 3600
    static let familyPrefix = IDPrefix(rawValue: "tfam")

    let database: any Database
    let crypto: any CryptoService
    let clock: any WallClock
    let users: UserStore
    let signingKeys: SigningKeyStore
    let issuer: String

    func hash(_ token: String) -> [UInt8] { crypto.sha256(Array(token.utf8)) }

    /// A JWT of ours for `use` (access or refresh), or an opaque token issued before JWTs; anything else is rejected
    /// before any query. The signature needs no check here: only the hash of a token we issued is found.
    static func isWellFormed(_ token: String, use: String) -> Bool {
        if isWellFormed(token, prefix: use == accessUse ? accessPrefix : refreshPrefix) { return true }
        guard let jws = CompactJWS.parse(token), jws.claims["token_use"]?.stringValue == use,
              jws.claims["aud"]?.stringValue == audience, let jti = jws.claims["jti"]?.stringValue else { return false }
        return jti.utf8.count == randomBytesCount * 2
    }

    /// Whether a bearer token is a user token at all (the accounting surface's verifier takes it).
    static func isUserToken(_ token: String) -> Bool {
        token.hasPrefix(accessPrefix) || CompactJWS.parse(token)?.claims["aud"]?.stringValue == audience
    }

    /// "at_" followed by exactly 64 lower-case hex digits.
    static func isWellFormed(_ token: String, prefix: String) -> Bool {
        guard token.hasPrefix(prefix) else { return false }
        let body = token.utf8.dropFirst(prefix.utf8.count)
        return body.count == randomBytesCount * 2 && body.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    private func newToken(use: String, user: UserRecord, issuedAt: Date, expiresAt: Date, key: SigningKey) throws -> String {
        let claims: JSONValue = [
            "iss": .string(issuer), "aud": .string(Self.audience), "sub": .string(user.id), "org": .string(user.organizationId),
            "iat": .int(Int64(issuedAt.timeIntervalSince1970)), "exp": .int(Int64(expiresAt.timeIntervalSince1970)),
            "jti": .string(Encoding.hex(crypto.randomBytes(count: Self.randomBytesCount))), "token_use": .string(use),
        ]
        let header: JSONValue = ["alg": "RS256", "typ": "JWT", "kid": .string(key.kid)]
        return try CompactJWS.sign(header: header, claims: claims) { input in
            try crypto.signRS256(message: input, privateKeyPEM: key.privateKeyPEM)
        }
    }

    /// Starts a family for a fresh login (or a switch of organization) and issues its first token pair. The family acts
    /// in `user.organizationId`, the membership the record was read through.
    func issueForLogin(user: UserRecord) async throws -> IssuedUserTokens {
        let familyId = TypedID.generate(prefix: Self.familyPrefix, clock: clock).rawValue
        let now = clock.now()
        let key = try await signingKeys.signingKey()
        return try await database.transaction { executor in
            let sql: SQL = """
                INSERT INTO auth_user_token_families (id, merchant_id, mode, user_id, organization_id, created_at)
                VALUES (\(familyId), \(user.merchantId), \(user.mode), \(user.id), \(user.organizationId), \(now))
                """
            try await executor.execute(sql)
            return try await issue(user: user, familyId: familyId, key: key, executor: executor)
        }
    }

    private func issue(user: UserRecord, familyId: String, key: SigningKey, executor: any SQLExecutor) async throws
        -> IssuedUserTokens {
        let now = clock.now()
        let accessExpiresAt = now.addingTimeInterval(Self.accessLifetimeSeconds)
        let refreshExpiresAt = now.addingTimeInterval(Self.refreshLifetimeSeconds)
        let access = try newToken(use: Self.accessUse, user: user, issuedAt: now, expiresAt: accessExpiresAt, key: key)
        let refresh = try newToken(use: Self.refreshUse, user: user, issuedAt: now, expiresAt: refreshExpiresAt, key: key)
        let sql: SQL = """
            WITH access AS (
                INSERT INTO auth_user_access_tokens (token_hash, merchant_id, mode, family_id, user_id, issued_at, expires_at)
                VALUES (\(hash(access)), \(user.merchantId), \(user.mode), \(familyId), \(user.id), \(now), \(accessExpiresAt))
            )
            INSERT INTO auth_user_refresh_tokens (token_hash, merchant_id, mode, family_id, user_id, issued_at, expires_at)
            VALUES (\(hash(refresh)), \(user.merchantId), \(user.mode), \(familyId), \(user.id), \(now), \(refreshExpiresAt))
            """
        try await executor.execute(sql)
        return IssuedUserTokens(accessToken: access, refreshToken: refresh, familyId: familyId,
                                accessExpiresAt: accessExpiresAt, refreshExpiresAt: refreshExpiresAt)
    }

    /// Spends a refresh token. Rows of the token and its family are locked, so two concurrent
    /// uses of one token serialize: the second sees it spent and is treated as reuse.
    func refresh(_ token: String) async throws -> RefreshOutcome {
        guard Self.isWellFormed(token, use: Self.refreshUse) else { return .invalid }
        let tokenHash = hash(token)
        let now = clock.now()
        let key = try await signingKeys.signingKey()
        return try await database.transaction { executor in
            try await spend(tokenHash: tokenHash, now: now, key: key, executor: executor)
        }
    }

    private func spend(tokenHash: [UInt8], now: Date, key: SigningKey, executor: any SQLExecutor) async throws -> RefreshOutcome {
        let sql: SQL = """
            SELECT r.family_id, r.user_id, r.merchant_id, r.mode, r.expires_at, r.used_at,
                   f.revoked_at AS family_revoked_at, f.organization_id
            FROM auth_user_refresh_tokens r JOIN auth_user_token_families f ON f.id = r.family_id
            WHERE r.token_hash = \(tokenHash)
            FOR UPDATE OF r, f
            """
        guard let row = try await executor.queryFirst(sql) else { return .invalid }
        let familyId: String = try row.decode("family_id")
        let userId: String = try row.decode("user_id")
        let familyRevokedAt: Date? = try row.decode("family_revoked_at")
        let usedAt: Date? = try row.decode("used_at")
        let expiresAt: Date = try row.decode("expires_at")
        if familyRevokedAt != nil { return .invalid }
        if usedAt != nil {
            try await revokeFamily(familyId, reason: "refresh_token_reuse", executor: executor)
            let modeText: String = try row.decode("mode")
            let tenant = TenantContext(merchantId: try row.decode("merchant_id"), mode: Mode(rawValue: modeText) ?? .live)
            return .reused(familyId: familyId, userId: userId, tenant: tenant)
        }
        if expiresAt <= now { return .invalid }
        let organizationId: String = try row.decode("organization_id")
        let user = try await users.find(id: userId, organizationId: organizationId, executor: executor)
        guard let user, user.isActive else { return .invalid }
        try await executor.execute("UPDATE auth_user_refresh_tokens SET used_at = \(now) WHERE token_hash = \(tokenHash)")
        let issued = try await issue(user: user, familyId: familyId, key: key, executor: executor)
        return .rotated(issued, user)
    }

    /// Finds an access token that is neither revoked nor in a revoked family (expiry is checked by the caller).
    func resolveAccess(hash tokenHash: [UInt8]) async throws -> ResolvedUserToken? {
        let sql: SQL = """
            SELECT a.family_id, a.user_id, a.expires_at, f.organization_id
            FROM auth_user_access_tokens a JOIN auth_user_token_families f ON f.id = a.family_id
            WHERE a.token_hash = \(tokenHash) AND a.revoked_at IS NULL AND f.revoked_at IS NULL
            """
        // The user as a member of the family's organization: a removed membership resolves to nothing (401).
        guard let row = try await database.queryFirst(sql),
              let user = try await users.find(id: try row.decode("user_id"), organizationId: try row.decode("organization_id"))
        else { return nil }
        return ResolvedUserToken(familyId: try row.decode("family_id"), expiresAt: try row.decode("expires_at"), user: user)
    }

    /// Revokes a family: its refresh tokens (through the family flag) and every access token it issued.
    func revokeFamily(_ familyId: String, reason: String, executor: (any SQLExecutor)? = nil) async throws {
        let now = clock.now()
        let sql: SQL = """
            WITH family AS (
                UPDATE auth_user_token_families SET revoked_at = COALESCE(revoked_at, \(now)),
                       revoked_reason = COALESCE(revoked_reason, \(reason))
                WHERE id = \(familyId)
            )
            UPDATE auth_user_access_tokens SET revoked_at = \(now) WHERE family_id = \(familyId) AND revoked_at IS NULL
            """
        try await (executor ?? database).execute(sql)
    }

    /// Revokes every family of a user (suspension, role change).
    func revokeUser(_ userId: String, reason: String) async throws {
        let now = clock.now()
        let sql: SQL = """
            WITH families AS (
                UPDATE auth_user_token_families SET revoked_at = \(now), revoked_reason = \(reason)
                WHERE user_id = \(userId) AND revoked_at IS NULL
            )
            UPDATE auth_user_access_tokens SET revoked_at = \(now) WHERE user_id = \(userId) AND revoked_at IS NULL
            """
        try await database.execute(sql)
    }

    /// The family an access token belongs to, if the token is known.
    func family(ofAccessHash tokenHash: [UInt8]) async throws -> String? {
        let sql: SQL = "SELECT family_id FROM auth_user_access_tokens WHERE token_hash = \(tokenHash)"
        return try await database.queryFirst(sql)?.decode("family_id")
    }

    /// Deletes token rows expired for longer than `purgeGraceSeconds`; returns how many.
    func purgeExpired() async throws -> Int {
        let cutoff = clock.now().addingTimeInterval(-Self.purgeGraceSeconds)
        let access = try await database.execute("DELETE FROM auth_user_access_tokens WHERE expires_at < \(cutoff)")
        let refresh = try await database.execute("DELETE FROM auth_user_refresh_tokens WHERE expires_at < \(cutoff)")
        return access + refresh
    }
}
