import Foundation
import IdempotencyContract
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
    /// Shared by every copy of this store: concurrent claims are written together (see `ClaimStatements`).
    let claims: GroupBatcher<ClaimAttempt, Bool>
    /// Shared by every copy: concurrent read-only lookups are answered together (see `KeyLookups`).
    let lookups: GroupBatcher<KeyLookup, Row?>
    /// Off: each claim is written and each key read alone (to measure the batching).
    let batching: Bool
    let logger: Logger

    init(database: any Database, clock: any WallClock, crypto: any CryptoService, logger: Logger, batching: Bool) {
        self.database = database
        self.clock = clock
        self.crypto = crypto
        self.logger = logger
        self.batching = batching
        claims = GroupBatcher(limits: ClaimStatements.limits, distinctKey: { $0.scope + "\u{0}" + $0.key }) { attempts in
            await ClaimStatements.claimEach(attempts, database: database)
        }
        lookups = GroupBatcher(limits: KeyLookups.limits) { wanted in
            await KeyLookups.read(wanted, database: database)
        }
    }

    func begin(scope: String, key: String, fingerprint: String) async throws -> IdempotencyBeginResult {
        let attempt = ClaimAttempt(scope: scope, key: key, fingerprint: fingerprint,
                                   token: Encoding.hex(crypto.randomBytes(count: 16)), now: clock.now())
        let won = batching ? try await claims.submit(attempt)
            : try await ClaimStatements.write([attempt], database: database).contains(attempt.token)
        if won {
            return .claimed(IdempotencyClaim(scope: scope, key: key, token: attempt.token))
        }
        guard let row = try await row(scope: scope, key: key) else { return .inProgress }
        return try Self.answer(row, fingerprint: fingerprint)
    }

    /// The key's row; concurrent readers' keys are read in one statement (`KeyLookups`) unless batching is off.
    private func row(scope: String, key: String) async throws -> Row? {
        let lookup = KeyLookup(scope: scope, key: key)
        if batching { return try await lookups.submit(lookup) }
        return try await KeyLookups.read([lookup], database: database)[0].get()
    }

    /// What a live row means for a request with `fingerprint`: another body, still running, or its replay.
    private static func answer(_ row: Row, fingerprint: String) throws -> IdempotencyBeginResult {
        guard try row.decode("fingerprint", as: String.self) == fingerprint else { return .conflict }
        guard try row.decode("state", as: String.self) == "completed" else { return .inProgress }
        return .replay(try storedResponse(row))
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
        do {
            try await database.execute(sql)
        } catch {
            // The claim's lock expires by itself (`claimLockSeconds`); until then a retry waits or gets 409.
            logger.warning("idempotency claim not released", ["error": .string(String(describing: error))])
        }
    }

    func isCompleted(_ claim: IdempotencyClaim) async throws -> Bool {
        let sql: SQL = """
            SELECT 1 FROM idempotency_keys
            WHERE scope = \(claim.scope) AND key = \(claim.key) AND claim_token = \(claim.token) AND state = 'completed'
            """
        return try await database.queryFirst(sql) != nil
    }

    func lookup(scope: String, key: String, fingerprint: String) async throws -> IdempotencyLookupResult {
        guard let row = try await row(scope: scope, key: key) else { return .absent }
        // An expired key counts as unused; the deferred write takes its row over (see `completionStatement`).
        if try row.decode("expires_at", as: Date.self) <= clock.now() { return .absent }
        return .found(try Self.answer(row, fingerprint: fingerprint))
    }

    /// Deferred keys written, completed, by the caller's own statement (a CTE). Within `claims` the first of
    /// each (scope, key) competes and later ones lose; rows are sorted by
    /// (scope, key) so concurrent statements lock keys in the same order. A key held by another open
    /// transaction makes this statement wait for it: its commit makes ours lose, its rollback lets ours
    /// win. A row of an expired key, or a classic claim whose holder died (lock expired, same
    /// fingerprint), is taken over. The keys travel as one array per column, so the text is the same for every
    /// batch size (it is part of the sale batch's statement, prepared once per connection).
    func completionStatement(_ claims: [IdempotencyCompletion], bindOffset: Int) -> IdempotencyKeysStatement? {
        if claims.isEmpty { return nil }
        // Sorted by (scope, key, position): the first of each run of one key competes, the later ones lose.
        let sorted = claims.indices.sorted { (claims[$0].scope, claims[$0].key, $0) < (claims[$1].scope, claims[$1].key, $1) }
        var competing: [Int] = []
        competing.reserveCapacity(claims.count)
        for index in sorted {
            if let last = competing.last, claims[last].scope == claims[index].scope, claims[last].key == claims[index].key { continue }
            competing.append(index)
        }
        var tokens: [String?] = claims.map { _ in nil }
        for index in competing { tokens[index] = Encoding.hex(crypto.randomBytes(count: 16)) }
        let now = clock.now()
        let tenants = competing.map { Self.tenant(of: claims[$0].scope) }
        let columns: [(literal: String, type: String)] = [
            (SQLArrayLiteral.text(tenants.map(\.merchantId)), "text"), (SQLArrayLiteral.text(tenants.map(\.mode)), "text"),
            (SQLArrayLiteral.text(competing.map { claims[$0].scope }), "text"),
            (SQLArrayLiteral.text(competing.map { claims[$0].key }), "text"),
            (SQLArrayLiteral.text(competing.map { claims[$0].fingerprint }), "text"),
            (SQLArrayLiteral.text(competing.map { tokens[$0] }), "text"),
            (SQLArrayLiteral.integers(competing.map { Int64(claims[$0].response.status) }), "integer"),
            (SQLArrayLiteral.text(competing.map { Self.headersJSON(claims[$0].response.headers) }), "jsonb"),
        ]
        let bodies = SQLByteSlices(competing.map { claims[$0].response.body })
        let arrays = (columns + [(bodies.starts, "integer"), (bodies.lengths, "integer")]).enumerated()
            .map { "$\(bindOffset + $0.offset + 1)::\($0.element.type)[]" }
        let binds: [SQLValue] = columns.map { .text($0.literal) } + [.text(bodies.starts), .text(bodies.lengths), .bytes(bodies.blob),
                                                                    .timestamp(now), .timestamp(now.addingTimeInterval(Self.retentionSeconds))]
        let blobParameter = "$\(bindOffset + arrays.count + 1)::bytea"
        let nowParameter = "$\(bindOffset + arrays.count + 2)::timestamptz", expiresParameter = "$\(bindOffset + arrays.count + 3)::timestamptz"
        let text = """
            INSERT INTO idempotency_keys AS existing (merchant_id, mode, scope, key, fingerprint, claim_token, state,
                response_status, response_headers, response_body, created_at, locked_until, expires_at)
            SELECT k.merchant_id, k.mode, k.scope, k.key, k.fingerprint, k.claim_token, 'completed', k.response_status,
                k.response_headers, substring(\(blobParameter) FROM k.body_start FOR k.body_length), \(nowParameter), \(nowParameter),
                \(expiresParameter)
            FROM unnest(\(arrays.joined(separator: ", "))) WITH ORDINALITY
                AS k(merchant_id, mode, scope, key, fingerprint, claim_token, response_status, response_headers, body_start,
                     body_length, ord)
            ORDER BY k.ord
            ON CONFLICT (scope, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,
                claim_token = EXCLUDED.claim_token, state = 'completed', response_status = EXCLUDED.response_status,
                response_headers = EXCLUDED.response_headers, response_body = EXCLUDED.response_body,
                created_at = EXCLUDED.created_at, locked_until = EXCLUDED.locked_until, expires_at = EXCLUDED.expires_at
            WHERE existing.expires_at <= EXCLUDED.created_at
               OR (existing.state = 'in_progress' AND existing.locked_until <= EXCLUDED.created_at
                   AND existing.fingerprint = EXCLUDED.fingerprint)
            RETURNING claim_token
            """
        return IdempotencyKeysStatement(sql: SQL(text, binds: binds), tokens: tokens)
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

    /// The merchant and mode a scope (`merchant|mode|principal|terminal`) starts with; split on its UTF-8 bytes, as
    /// `|` is ASCII (no grapheme breaking per character).
    static func tenant(of scope: String) -> (merchantId: String, mode: String) {
        let utf8 = scope.utf8
        guard let first = utf8.firstIndex(of: UInt8(ascii: "|")) else { return ("-", "test") }
        let modeStart = utf8.index(after: first)
        let modeEnd = utf8[modeStart...].firstIndex(of: UInt8(ascii: "|")) ?? utf8.endIndex
        return (String(scope[..<first]), String(scope[modeStart..<modeEnd]))
    }

    /// A stored response's headers as the jsonb text; the usual set (a JSON body's Content-Type alone) is written once.
    static func headersJSON(_ headers: [String: String]) -> String {
        if headers.count == 1, headers["Content-Type"] == "application/json" { return jsonContentHeadersJSON }
        return String(decoding: JSONValue.object(headers.mapValues { .string($0) }).serialized(), as: UTF8.self)
    }

    static let jsonContentHeadersJSON = String(decoding: JSONValue.object(["Content-Type": .string("application/json")])
        .serialized(), as: UTF8.self)

    static func storedResponse(_ row: Row) throws -> StoredResponse {
        let headersText: String? = try row.decode("response_headers")
        var headers: [String: String] = [:]
        if let headersText, case .object(let object)? = try? JSONValue(parsing: headersText) {
            for (name, value) in object { if let text = value.stringValue { headers[name] = text } }
        }
        let body: [UInt8]? = try row.decode("response_body")
        return StoredResponse(status: try row.decode("response_status"), headers: headers, body: body ?? [])
    }
}

