import Foundation
import Kernel

/// Idempotency keys in PostgreSQL. The primary key (scope, key) makes the claim atomic: of 50
/// concurrent identical requests exactly one INSERT wins; the others see its row and wait for it.
/// Keys live 24 hours from first use; an expired key is taken over as new, and a claim whose
/// holder died is taken over after `claimLockSeconds` by a request with the same fingerprint.
struct PostgresIdempotencyStore: IdempotencyStore {
    static let retentionSeconds: TimeInterval = 24 * 3600
    static let claimLockSeconds: TimeInterval = 60
    static let purgeBatchMax = 5_000

    let database: any Database
    let clock: any WallClock
    let crypto: any CryptoService

    func begin(scope: String, key: String, fingerprint: String) async throws -> IdempotencyBeginResult {
        let token = Encoding.hex(crypto.randomBytes(count: 16))
        let now = clock.now()
        let (merchantId, mode) = Self.tenant(of: scope)
        let claim: SQL = """
            INSERT INTO idempotency_keys AS existing (merchant_id, mode, scope, key, fingerprint, claim_token, state,
                created_at, locked_until, expires_at)
            VALUES (\(merchantId), \(mode), \(scope), \(key), \(fingerprint), \(token), 'in_progress', \(now),
                    \(now.addingTimeInterval(Self.claimLockSeconds)), \(now.addingTimeInterval(Self.retentionSeconds)))
            ON CONFLICT (scope, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,
                claim_token = EXCLUDED.claim_token, state = 'in_progress', response_status = NULL,
                response_headers = NULL, response_body = NULL, created_at = EXCLUDED.created_at,
                locked_until = EXCLUDED.locked_until, expires_at = EXCLUDED.expires_at
            WHERE existing.expires_at <= \(now)
               OR (existing.state = 'in_progress' AND existing.locked_until <= \(now)
                   AND existing.fingerprint = EXCLUDED.fingerprint)
            RETURNING claim_token
            """
        if let row = try await database.queryFirst(claim), try row.decode("claim_token", as: String.self) == token {
            return .claimed(IdempotencyClaim(scope: scope, key: key, token: token))
        }
        let read: SQL = """
            SELECT fingerprint, state, response_status, response_headers, response_body
            FROM idempotency_keys WHERE scope = \(scope) AND key = \(key)
            """
        guard let row = try await database.queryFirst(read) else { return .inProgress }
        guard try row.decode("fingerprint", as: String.self) == fingerprint else { return .conflict }
        guard try row.decode("state", as: String.self) == "completed" else { return .inProgress }
        return .replay(try Self.storedResponse(row))
    }

    func complete(_ claim: IdempotencyClaim, response: StoredResponse, executor: (any SQLExecutor)?) async throws {
        let headers = JSONValue.object(response.headers.mapValues { .string($0) })
        let sql: SQL = """
            UPDATE idempotency_keys SET state = 'completed', response_status = \(response.status),
                response_headers = \(SQLValue.json(String(decoding: headers.serialized(), as: UTF8.self))),
                response_body = \(response.body)
            WHERE scope = \(claim.scope) AND key = \(claim.key) AND claim_token = \(claim.token)
            """
        try await (executor ?? database).execute(sql)
    }

    func abandon(_ claim: IdempotencyClaim) async {
        let sql: SQL = """
            DELETE FROM idempotency_keys
            WHERE scope = \(claim.scope) AND key = \(claim.key) AND claim_token = \(claim.token) AND state = 'in_progress'
            """
        _ = try? await database.execute(sql)
    }

    func isCompleted(_ claim: IdempotencyClaim) async throws -> Bool {
        let sql: SQL = """
            SELECT 1 FROM idempotency_keys
            WHERE scope = \(claim.scope) AND key = \(claim.key) AND claim_token = \(claim.token) AND state = 'completed'
            """
        return try await database.queryFirst(sql) != nil
    }

    /// Deletes expired keys in bounded batches; returns how many went.
    func purgeExpired() async throws -> Int {
        var total = 0
        while true {
            let sql: SQL = """
                DELETE FROM idempotency_keys WHERE ctid IN (
                    SELECT ctid FROM idempotency_keys WHERE expires_at <= \(clock.now()) LIMIT \(Self.purgeBatchMax))
                """
            let deleted = try await database.execute(sql)
            total += deleted
            if deleted < Self.purgeBatchMax { return total }
        }
    }

    static func tenant(of scope: String) -> (merchantId: String, mode: String) {
        let parts = scope.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return ("-", "test") }
        return (String(parts[0]), String(parts[1]))
    }

    static func storedResponse(_ row: Row) throws -> StoredResponse {
        let headersText: String? = try row.decode("response_headers")
        var headers: [String: String] = [:]
        if let headersText, case .object(let object)? = try? JSONCoding.decoder().decode(JSONValue.self, from: Data(headersText.utf8)) {
            for (name, value) in object { if let text = value.stringValue { headers[name] = text } }
        }
        let body: [UInt8]? = try row.decode("response_body")
        return StoredResponse(status: try row.decode("response_status"), headers: headers, body: body ?? [])
    }
}
