import Foundation
import Kernel

/// An API key as listed: never the secret, only its display prefix and last four characters.
struct APIKeyRecord: Sendable, Equatable {
    let id: String
    let merchantId: String
    let mode: Mode
    let kind: APIKeyKind
    let role: String?
    let scopes: Set<String>
    let terminalId: String?
    let name: String?
    let displayPrefix: String
    let last4: String
    let status: String
    let expiresAt: Date?
    let createdAt: Date

    var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "object": "api_key", "livemode": .bool(mode.isLive), "kind": .string(kind.rawValue),
            "scopes": .array(scopes.sorted().map { .string($0) }), "prefix": .string(displayPrefix),
            "last4": .string(last4), "status": .string(status),
            "createdAt": .string(Timestamp.iso8601(createdAt)),
        ]
        object["role"] = role.map { .string($0) } ?? .null
        object["terminalId"] = terminalId.map { .string($0) } ?? .null
        object["name"] = name.map { .string($0) } ?? .null
        object["expiresAt"] = expiresAt.map { .string(Timestamp.iso8601($0)) } ?? .null
        return .object(object)
    }
}

/// What a successful lookup yields; cached in memory by secret hash.
struct ResolvedAPIKey: Sendable {
    let record: APIKeyRecord
    let organizationId: String
    let merchantActive: Bool
}

struct NewAPIKey: Sendable {
    let record: APIKeyRecord
    /// Shown once, in the response that created it; only its hash is stored.
    let secret: String
}

/// Stores API keys hashed with SHA-256; a key is found by the hash of what the client presents.
struct APIKeyStore: Sendable {
    /// How long a rotated key keeps working (commerce spec §4: "24 hours after rotation").
    static let rotationOverlapSeconds: TimeInterval = 24 * 3600

    let database: any Database
    let crypto: any CryptoService
    let clock: any WallClock

    func hash(_ secret: String) -> [UInt8] { crypto.sha256(Array(secret.utf8)) }

    func create(merchantId: String, mode: Mode, kind: APIKeyKind, role: String?, scopes: Set<String>,
                terminalId: String?, name: String?, executor: (any SQLExecutor)? = nil) async throws -> NewAPIKey {
        let secret = APIKeyFlavor.prefix(kind: kind, mode: mode, role: role)
            + Encoding.hex(crypto.randomBytes(count: APIKeyFlavor.randomBytesCount))
        let id = TypedID.generate(prefix: .apiKey, clock: clock).rawValue
        let displayPrefix = String(secret.prefix(APIKeyFlavor.prefix(kind: kind, mode: mode, role: role).count + 4))
        let last4 = String(secret.suffix(4))
        let now = clock.now()
        let sql: SQL = """
            INSERT INTO auth_api_keys (id, merchant_id, mode, kind, role, scopes, terminal_id, name, display_prefix,
                                       last4, secret_hash, created_at)
            VALUES (\(id), \(merchantId), \(mode), \(kind.rawValue), \(role), \(scopes.sorted().joined(separator: " ")),
                    \(terminalId), \(name), \(displayPrefix), \(last4), \(hash(secret)), \(now))
            """
        try await (executor ?? database).execute(sql)
        let record = APIKeyRecord(id: id, merchantId: merchantId, mode: mode, kind: kind, role: role, scopes: scopes,
                                  terminalId: terminalId, name: name, displayPrefix: displayPrefix, last4: last4,
                                  status: "active", expiresAt: nil, createdAt: now)
        return NewAPIKey(record: record, secret: secret)
    }

    /// Finds the key whose hash matches, with its merchant's state; nil when unknown.
    func lookup(secretHash: [UInt8]) async throws -> ResolvedAPIKey? {
        let sql: SQL = """
            SELECT k.*, m.organization_id, m.status AS merchant_status
            FROM auth_api_keys k JOIN auth_merchants m ON m.id = k.merchant_id
            WHERE k.secret_hash = \(secretHash)
            """
        guard let row = try await database.queryFirst(sql) else { return nil }
        return ResolvedAPIKey(record: try Self.record(row), organizationId: try row.decode("organization_id"),
                              merchantActive: try row.decode("merchant_status", as: String.self) == "active")
    }

    func list(merchantId: String, mode: Mode, limit: Int, afterId: String?) async throws -> [APIKeyRecord] {
        let sql: SQL = """
            SELECT * FROM auth_api_keys
            WHERE merchant_id = \(merchantId) AND mode = \(mode)\(and: "id > ?", afterId)
            ORDER BY id LIMIT \(limit)
            """
        return try await database.query(sql).map(Self.record)
    }

    func find(id: String, merchantId: String, mode: Mode) async throws -> APIKeyRecord? {
        let sql: SQL = "SELECT * FROM auth_api_keys WHERE id = \(id) AND merchant_id = \(merchantId) AND mode = \(mode)"
        return try await database.queryFirst(sql).map(Self.record)
    }

    /// Issues a replacement with the same grants; the old key expires `rotationOverlapSeconds` from now.
    func rotate(id: String, merchantId: String, mode: Mode) async throws -> NewAPIKey? {
        let store = self
        return try await database.transaction { transaction in
            let lock: SQL = """
                SELECT * FROM auth_api_keys WHERE id = \(id) AND merchant_id = \(merchantId) AND mode = \(mode)
                AND status = 'active' FOR UPDATE
                """
            guard let row = try await transaction.queryFirst(lock) else { return nil }
            let old = try Self.record(row)
            let replacement = try await store.create(merchantId: merchantId, mode: mode, kind: old.kind, role: old.role,
                                                     scopes: old.scopes, terminalId: old.terminalId, name: old.name,
                                                     executor: transaction)
            let expiresAt = store.clock.now().addingTimeInterval(Self.rotationOverlapSeconds)
            let update: SQL = """
                UPDATE auth_api_keys SET status = 'rotated', expires_at = \(expiresAt), replaced_by = \(replacement.record.id)
                WHERE id = \(id)
                """
            try await transaction.execute(update)
            return replacement
        }
    }

    /// Revokes at once; returns false when no such active or rotated key exists.
    func revoke(id: String, merchantId: String, mode: Mode) async throws -> Bool {
        let sql: SQL = """
            UPDATE auth_api_keys SET status = 'revoked', revoked_at = \(clock.now())
            WHERE id = \(id) AND merchant_id = \(merchantId) AND mode = \(mode) AND status <> 'revoked'
            """
        return try await database.execute(sql) == 1
    }

    static func record(_ row: Row) throws -> APIKeyRecord {
        let scopesText: String = try row.decode("scopes")
        return APIKeyRecord(
            id: try row.decode("id"), merchantId: try row.decode("merchant_id"),
            mode: Mode(rawValue: try row.decode("mode")) ?? .test,
            kind: APIKeyKind(rawValue: try row.decode("kind")) ?? .secret, role: try row.decode("role"),
            scopes: Set(scopesText.split(separator: " ").map(String.init)), terminalId: try row.decode("terminal_id"),
            name: try row.decode("name"), displayPrefix: try row.decode("display_prefix"),
            last4: try row.decode("last4"), status: try row.decode("status"), expiresAt: try row.decode("expires_at"),
            createdAt: try row.decode("created_at"))
    }
}
