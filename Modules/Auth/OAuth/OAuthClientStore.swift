import Foundation
import Kernel

/// An OAuth client as stored: never its secret.
struct OAuthClientRecord: Sendable, Equatable {
    let id: String
    let merchantId: String
    let mode: Mode
    let name: String?
    let scopes: Set<String>
    /// nil: any of the merchant's terminals in this mode; otherwise only these.
    let allowedTerminalIds: Set<String>?
    let status: String
    let createdAt: Date

    var tenant: TenantContext { TenantContext(merchantId: merchantId, mode: mode) }
}

/// A client whose id and secret matched, with what the token endpoint still has to check.
struct AuthenticatedClient: Sendable {
    let record: OAuthClientRecord
    let organizationId: String
    let merchantActive: Bool
}

/// Why creating a client was refused; messages are safe to print.
public struct OAuthAdminError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Clients `cli_<ULID>` per merchant and mode, with secrets `cs_live_…`/`cs_test_…` stored as SHA-256.
/// A client has one current secret (expires_at NULL); rotating gives the current one an expiry
/// 24 hours out and adds a new current one, so both work during the overlap.
struct OAuthClientStore: Sendable {
    static let secretLivePrefix = "cs_live_"
    static let secretTestPrefix = "cs_test_"
    /// 32 random bytes = 256 bits, written as 64 hex characters.
    static let secretRandomBytesCount = 32
    /// How long a rotated-out secret keeps working (same rule as API keys, commerce spec §4).
    static let rotationOverlapSeconds: TimeInterval = 24 * 3_600
    static let clientIdLengthMax = 64
    static let secretLengthMax = 128
    static let terminalsPerClientMax = 1_000

    let database: any Database
    let crypto: any CryptoService
    let clock: any WallClock
    /// The Commerce scopes the wired modules declared: a client may be allowed only these.
    let knownScopes: Set<String>

    func hash(_ secret: String) -> [UInt8] { crypto.sha256(Array(secret.utf8)) }

    func newSecret(mode: Mode) -> String {
        (mode.isLive ? Self.secretLivePrefix : Self.secretTestPrefix)
            + Encoding.hex(crypto.randomBytes(count: Self.secretRandomBytesCount))
    }

    func create(merchantId: String, mode: Mode, scopes: Set<String>, allowedTerminalIds: Set<String>?, name: String?)
        async throws -> (record: OAuthClientRecord, secret: String) {
        try Self.validate(scopes: scopes, terminals: allowedTerminalIds, knownScopes: knownScopes)
        let id = TypedID.generate(prefix: .client, clock: clock).rawValue
        let secret = newSecret(mode: mode)
        let now = clock.now()
        let terminalsJSON = allowedTerminalIds.map { ids in
            SQLValue.json(String(decoding: JSONValue.array(ids.sorted().map { .string($0) }).serialized(), as: UTF8.self))
        } ?? .null
        let scopeText = scopes.sorted().joined(separator: " ")
        let secretHash = hash(secret)
        try await database.transaction { executor in
            guard try await executor.queryFirst("SELECT 1 FROM auth_merchants WHERE id = \(merchantId)") != nil else {
                throw OAuthAdminError(description: "merchant \(merchantId.prefix(64)) does not exist")
            }
            if let allowedTerminalIds {
                let rows = try await executor.query("""
                    SELECT id FROM auth_terminals WHERE merchant_id = \(merchantId) AND mode = \(mode)
                    """)
                let known = Set(rows.compactMap { $0.text("id") })
                if let missing = allowedTerminalIds.subtracting(known).sorted().first {
                    throw OAuthAdminError(description: "terminal \(missing.prefix(64)) does not exist for this merchant in \(mode.rawValue) mode")
                }
            }
            try await executor.execute("""
                INSERT INTO auth_oauth_clients (id, merchant_id, mode, name, scopes, allowed_terminal_ids, created_at)
                VALUES (\(id), \(merchantId), \(mode), \(name), \(scopeText), \(terminalsJSON), \(now))
                """)
            try await executor.execute("""
                INSERT INTO auth_oauth_client_secrets (client_id, merchant_id, mode, secret_hash, last4, created_at)
                VALUES (\(id), \(merchantId), \(mode), \(secretHash), \(String(secret.suffix(4))), \(now))
                """)
        }
        let record = OAuthClientRecord(id: id, merchantId: merchantId, mode: mode, name: name, scopes: scopes,
                                       allowedTerminalIds: allowedTerminalIds, status: "active", createdAt: now)
        return (record, secret)
    }

    static func validate(scopes: Set<String>, terminals: Set<String>?, knownScopes: Set<String>) throws {
        guard !scopes.isEmpty else { throw OAuthAdminError(description: "a client needs at least one scope") }
        if let unknown = scopes.subtracting(knownScopes).sorted().first {
            throw OAuthAdminError(description: "unknown scope \(unknown.prefix(64))")
        }
        if let terminals {
            guard !terminals.isEmpty, terminals.count <= terminalsPerClientMax else {
                throw OAuthAdminError(description: "list 1 to \(terminalsPerClientMax) terminals, or none for all")
            }
        }
    }

    /// Gives the current secret 24 hours to live and issues a new one. nil when the client is unknown
    /// in this merchant and mode.
    func rotateSecret(clientId: String, merchantId: String, mode: Mode) async throws
        -> (secret: String, previousExpiresAt: Date)? {
        let secret = newSecret(mode: mode)
        let now = clock.now()
        let previousExpiresAt = now.addingTimeInterval(Self.rotationOverlapSeconds)
        let secretHash = hash(secret)
        let rotated: Bool = try await database.transaction { executor in
            let owned = try await executor.queryFirst("""
                SELECT 1 FROM auth_oauth_clients
                WHERE id = \(clientId) AND merchant_id = \(merchantId) AND mode = \(mode) FOR UPDATE
                """)
            guard owned != nil else { return false }
            try await executor.execute("""
                UPDATE auth_oauth_client_secrets SET expires_at = \(previousExpiresAt)
                WHERE client_id = \(clientId) AND expires_at IS NULL
                """)
            try await executor.execute("""
                INSERT INTO auth_oauth_client_secrets (client_id, merchant_id, mode, secret_hash, last4, created_at)
                VALUES (\(clientId), \(merchantId), \(mode), \(secretHash), \(String(secret.suffix(4))), \(now))
                """)
            return true
        }
        return rotated ? (secret, previousExpiresAt) : nil
    }

    func setStatus(clientId: String, merchantId: String, mode: Mode, status: String) async throws -> Bool {
        try await database.execute("""
            UPDATE auth_oauth_clients SET status = \(status)
            WHERE id = \(clientId) AND merchant_id = \(merchantId) AND mode = \(mode)
            """) == 1
    }

    /// The client whose id and secret both match and whose secret has not expired; nil otherwise.
    /// Matching is by SHA-256 of the presented secret, so no secret comparison happens in Swift.
    func authenticate(clientId: String, secret: String) async throws(DatabaseError) -> AuthenticatedClient? {
        let expectedPrefix = secret.hasPrefix(Self.secretLivePrefix) || secret.hasPrefix(Self.secretTestPrefix)
        guard expectedPrefix, TypedID(rawValue: clientId).matches(.client) else { return nil }
        let row = try await database.queryFirst("""
            SELECT c.*, s.expires_at AS secret_expires_at, m.organization_id, m.status AS merchant_status
            FROM auth_oauth_client_secrets s
            JOIN auth_oauth_clients c ON c.id = s.client_id
            JOIN auth_merchants m ON m.id = c.merchant_id
            WHERE s.client_id = \(clientId) AND s.secret_hash = \(hash(secret))
            """)
        guard let row else { return nil }
        if let expiresAt = try row.decode("secret_expires_at", as: Date?.self), clock.now() >= expiresAt { return nil }
        let record = try Self.record(row)
        // A cs_test_ secret never opens a live client (and the reverse), even if hashes were mixed up.
        guard secret.hasPrefix(record.mode.isLive ? Self.secretLivePrefix : Self.secretTestPrefix) else { return nil }
        return AuthenticatedClient(record: record, organizationId: try row.decode("organization_id"),
                                   merchantActive: try row.decode("merchant_status", as: String.self) == "active")
    }

    func find(id: String, merchantId: String, mode: Mode) async throws -> OAuthClientRecord? {
        let row = try await database.queryFirst("""
            SELECT * FROM auth_oauth_clients WHERE id = \(id) AND merchant_id = \(merchantId) AND mode = \(mode)
            """)
        return try row.map(Self.record)
    }

    static func record(_ row: Row) throws(DatabaseError) -> OAuthClientRecord {
        guard let mode = Mode(rawValue: try row.decode("mode", as: String.self)) else {
            throw DatabaseError(kind: .decoding, message: "auth_oauth_clients.mode is not live or test")
        }
        let scopeText: String = try row.decode("scopes")
        var terminals: Set<String>?
        if let json = try row.decode("allowed_terminal_ids", as: String?.self) {
            guard let ids = try? JSONDecoder().decode([String].self, from: Data(json.utf8)) else {
                throw DatabaseError(kind: .decoding, message: "auth_oauth_clients.allowed_terminal_ids is not a list")
            }
            terminals = Set(ids)
        }
        return OAuthClientRecord(id: try row.decode("id"), merchantId: try row.decode("merchant_id"), mode: mode,
                                 name: try row.decode("name"), scopes: Set(scopeText.split(separator: " ").map(String.init)),
                                 allowedTerminalIds: terminals, status: try row.decode("status"),
                                 createdAt: try row.decode("created_at"))
    }
}
