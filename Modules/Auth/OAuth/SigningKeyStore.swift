import Foundation
import Kernel
import Synchronization

/// One RS256 signing key. The private key is PEM in the database (see OAuthSchema for the risk).
struct SigningKey: Sendable {
    let kid: String
    let privateKeyPEM: String
    let publicKeyPEM: String
    let createdAt: Date
    let retiredAt: Date?
}

/// Platform-wide RS256 keys: exactly one active key signs new tokens; retired keys stay published in
/// the JWKS until every token they signed has expired (retired_at + longest token lifetime), then
/// are deleted. Keys are created on first use and replaced by `rotate()` (background task or admin).
///
/// Every issuance asks the database which key is active (one indexed query), so an instance never
/// signs with a key another instance has already retired; that keeps "retired_at + 86400 s" exact.
final class SigningKeyStore: Sendable {
    static let keyBits = 2048
    /// Unknown kids are remembered this long, so a flood of made-up kids costs no queries.
    static let unknownKidTTLSeconds: TimeInterval = 10
    static let cachedKidsMax = 1_000
    /// Serializes rotations across instances (arbitrary constant, "OAUTHKEY" in ASCII).
    static let rotationLockId: Int64 = 0x4F41_5554_484B_4559

    private struct PublicEntry {
        let pem: String?
        let storedAt: Date
    }

    private let database: any Database
    private let crypto: any CryptoService
    private let clock: any WallClock
    private let retentionSeconds: TimeInterval
    private let active = Mutex<SigningKey?>(nil)
    private let publicKeys = Mutex<[String: PublicEntry]>([:])

    init(database: any Database, crypto: any CryptoService, clock: any WallClock, retentionSeconds: TimeInterval) {
        self.database = database
        self.crypto = crypto
        self.clock = clock
        self.retentionSeconds = retentionSeconds
    }

    /// The active key, created when there is none yet.
    func signingKey() async throws -> SigningKey {
        let row = try await database.queryFirst("SELECT kid FROM auth_oauth_signing_keys WHERE retired_at IS NULL")
        let activeKid: String? = try row?.decode("kid")
        if let activeKid, let cached = active.withLock({ $0 }), cached.kid == activeKid { return cached }
        if activeKid == nil { try await createFirstKey() }
        guard let row = try await database.queryFirst("SELECT * FROM auth_oauth_signing_keys WHERE retired_at IS NULL")
        else { throw DatabaseError(kind: .query, message: "no active signing key after creating one") }
        let key = try Self.key(row)
        active.withLock { $0 = key }
        return key
    }

    /// Inserts a first key unless another instance got there first (the partial unique index decides).
    private func createFirstKey() async throws {
        let key = try newKey()
        try await database.execute("""
            INSERT INTO auth_oauth_signing_keys (kid, private_key_pem, public_key_pem, created_at)
            VALUES (\(key.kid), \(key.privateKeyPEM), \(key.publicKeyPEM), \(key.createdAt))
            ON CONFLICT DO NOTHING
            """)
    }

    private func newKey() throws -> SigningKey {
        let pair = try crypto.generateRSAKeyPair(bits: Self.keyBits)
        let kid = TypedID.generate(prefix: IDPrefix(rawValue: "kid"), clock: clock).rawValue
        return SigningKey(kid: kid, privateKeyPEM: pair.privateKeyPEM, publicKeyPEM: pair.publicKeyPEM,
                          createdAt: clock.now(), retiredAt: nil)
    }

    /// Retires the active key (it stays in the JWKS) and activates a new one; drops expired keys.
    @discardableResult
    func rotate() async throws -> SigningKey {
        let key = try newKey()
        let now = clock.now()
        try await database.transaction { executor in
            try await executor.execute("SELECT pg_advisory_xact_lock(\(Self.rotationLockId))")
            try await executor.execute("UPDATE auth_oauth_signing_keys SET retired_at = \(now) WHERE retired_at IS NULL")
            try await executor.execute("""
                INSERT INTO auth_oauth_signing_keys (kid, private_key_pem, public_key_pem, created_at)
                VALUES (\(key.kid), \(key.privateKeyPEM), \(key.publicKeyPEM), \(now))
                """)
        }
        active.withLock { $0 = key }
        try await purgeExpired()
        return key
    }

    /// Rotates when the active key is older than `intervalSeconds` (or creates the first one).
    func rotateIfDue(intervalSeconds: TimeInterval) async throws -> Bool {
        let key = try await signingKey()
        guard clock.now().timeIntervalSince(key.createdAt) >= intervalSeconds else { return false }
        try await rotate()
        return true
    }

    /// Deletes retired keys whose every token has expired; returns how many.
    @discardableResult
    func purgeExpired() async throws -> Int {
        let cutoff = clock.now().addingTimeInterval(-retentionSeconds)
        let removed = try await database.execute("""
            DELETE FROM auth_oauth_signing_keys WHERE retired_at IS NOT NULL AND retired_at <= \(cutoff)
            """)
        if removed > 0 { publicKeys.withLock { $0.removeAll() } }
        return removed
    }

    /// The keys the JWKS publishes: the active one and those retired less than the retention ago,
    /// active first, then by retirement, newest first. Creates the first key so a verifier never sees an empty set.
    func publishedKeys() async throws -> [SigningKey] {
        _ = try await signingKey()
        let cutoff = clock.now().addingTimeInterval(-retentionSeconds)
        let rows = try await database.query("""
            SELECT * FROM auth_oauth_signing_keys WHERE retired_at IS NULL OR retired_at > \(cutoff)
            ORDER BY retired_at DESC NULLS FIRST, created_at DESC, kid DESC
            """)
        return try rows.map(Self.key)
    }

    /// The public key PEM for `kid`, from memory after the first lookup; nil when unknown or past retention.
    func publicKeyPEM(kid: String) async throws -> String? {
        let now = clock.now()
        let cached: PublicEntry? = publicKeys.withLock { $0[kid] }
        if let cached, cached.pem != nil || now.timeIntervalSince(cached.storedAt) < Self.unknownKidTTLSeconds {
            return cached.pem
        }
        let cutoff = now.addingTimeInterval(-retentionSeconds)
        let row = try await database.queryFirst("""
            SELECT public_key_pem FROM auth_oauth_signing_keys
            WHERE kid = \(kid) AND (retired_at IS NULL OR retired_at > \(cutoff))
            """)
        let pem: String? = try row?.decode("public_key_pem")
        publicKeys.withLock { table in
            if table.count >= Self.cachedKidsMax { table.removeAll() }
            table[kid] = PublicEntry(pem: pem, storedAt: now)
        }
        return pem
    }

    /// Forgets cached public keys (after a purge elsewhere, and in tests).
    func clearCache() { publicKeys.withLock { $0.removeAll() } }

    static func key(_ row: Row) throws(DatabaseError) -> SigningKey {
        SigningKey(kid: try row.decode("kid"), privateKeyPEM: try row.decode("private_key_pem"),
                   publicKeyPEM: try row.decode("public_key_pem"), createdAt: try row.decode("created_at"),
                   retiredAt: try row.decode("retired_at"))
    }

    /// `{"keys":[{kty, use, alg, kid, n, e}]}` for the given keys (n and e big-endian, no leading zeros).
    func jwks(_ keys: [SigningKey]) throws -> JSONValue {
        let entries: [JSONValue] = try keys.map { key in
            let components = try crypto.rsaPublicComponents(publicKeyPEM: key.publicKeyPEM)
            return ["kty": "RSA", "use": "sig", "alg": "RS256", "kid": .string(key.kid),
                    "n": .string(Encoding.base64URL(Self.strippingLeadingZeros(components.modulus))),
                    "e": .string(Encoding.base64URL(Self.strippingLeadingZeros(components.exponent)))]
        }
        return ["keys": .array(entries)]
    }

    static func strippingLeadingZeros(_ bytes: [UInt8]) -> [UInt8] {
        let stripped = Array(bytes.drop { $0 == 0 })
        return stripped.isEmpty ? [0] : stripped
    }
}
