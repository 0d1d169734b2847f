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
    /// Shared by every copy of this store: concurrent claims are written together (see `ClaimStatements`).
    let claims: GroupBatcher<ClaimAttempt, Bool>
    /// Shared by every copy: concurrent read-only lookups are answered together (see `KeyLookups`).
    let lookups: GroupBatcher<KeyLookup, Row?>
    /// False writes each claim and reads each key alone (`AuthSettings.idempotencyBatching`, to measure the batching).
    let batching: Bool

    init(database: any Database, clock: any WallClock, crypto: any CryptoService, batching: Bool = true) {
        self.batching = batching
        self.database = database
        self.clock = clock
        self.crypto = crypto
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
        _ = try? await database.execute(sql)
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
        // An expired key counts as unused; `insertCompleted` takes its row over.
        if try row.decode("expires_at", as: Date.self) <= clock.now() { return .absent }
        return .found(try Self.answer(row, fingerprint: fingerprint))
    }

    /// One multi-row INSERT of completed keys in the caller's transaction (see `insertCompletedStatement`).
    func insertCompleted(_ claims: [DeferredIdempotencyClaim], responses: [StoredResponse],
                         executor: any SQLExecutor) async throws -> [Bool] {
        guard let statement = insertCompletedStatement(claims, responses: responses, bindOffset: 0) else { return [] }
        let won = Set(try await executor.query(statement.sql).map { try $0.decode("claim_token", as: String.self) })
        return statement.tokens.map { token in token.map(won.contains) ?? false }
    }

    /// Within `claims` the first of each (scope, key) competes and later ones lose; rows are sorted by
    /// (scope, key) so concurrent statements lock keys in the same order. A key held by another open
    /// transaction makes this statement wait for it: its commit makes ours lose, its rollback lets ours
    /// win. A row of an expired key, or a classic claim whose holder died (lock expired, same
    /// fingerprint), is taken over.
    func insertCompletedStatement(_ claims: [DeferredIdempotencyClaim], responses: [StoredResponse],
                                  bindOffset: Int) -> DeferredKeysStatement? {
        precondition(claims.count == responses.count, "one response per claim")
        if claims.isEmpty { return nil }
        var seen = Set<String>()
        var tokens: [String?] = claims.map { _ in nil }
        for (index, claim) in claims.enumerated() where seen.insert(claim.scope + "\u{0}" + claim.key).inserted {
            tokens[index] = Encoding.hex(crypto.randomBytes(count: 16))
        }
        let now = clock.now()
        let competing = claims.indices.filter { tokens[$0] != nil }
            .sorted { (claims[$0].scope, claims[$0].key) < (claims[$1].scope, claims[$1].key) }
        var text = """
            INSERT INTO idempotency_keys AS existing (merchant_id, mode, scope, key, fingerprint, claim_token, state,
                response_status, response_headers, response_body, created_at, locked_until, expires_at) VALUES
            """
        var binds: [SQLValue] = []
        for (position, index) in competing.enumerated() {
            let claim = claims[index]
            let response = responses[index]
            let (merchantId, mode) = Self.tenant(of: claim.scope)
            let headers = JSONValue.object(response.headers.mapValues { .string($0) })
            let base = bindOffset + binds.count
            binds += [.text(merchantId), .text(mode), .text(claim.scope), .text(claim.key), .text(claim.fingerprint),
                      .text(tokens[index]!), .int(Int64(response.status)),
                      .json(String(decoding: headers.serialized(), as: UTF8.self)), .bytes(response.body),
                      .timestamp(now), .timestamp(now), .timestamp(now.addingTimeInterval(Self.retentionSeconds))]
            text += (position == 0 ? " (" : ", (")
                + (1...12).map { offset in offset == 7 ? "'completed', $\(base + offset)" : "$\(base + offset)" }
                    .joined(separator: ", ") + ")"
        }
        text += """

            ON CONFLICT (scope, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,
                claim_token = EXCLUDED.claim_token, state = 'completed', response_status = EXCLUDED.response_status,
                response_headers = EXCLUDED.response_headers, response_body = EXCLUDED.response_body,
                created_at = EXCLUDED.created_at, locked_until = EXCLUDED.locked_until, expires_at = EXCLUDED.expires_at
            WHERE existing.expires_at <= EXCLUDED.created_at
               OR (existing.state = 'in_progress' AND existing.locked_until <= EXCLUDED.created_at
                   AND existing.fingerprint = EXCLUDED.fingerprint)
            RETURNING claim_token
            """
        return DeferredKeysStatement(sql: SQL(text, binds: binds), tokens: tokens)
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

/// One request's attempt to claim (scope, key) with a fresh token.
struct ClaimAttempt: Sendable {
    let scope: String
    let key: String
    let fingerprint: String
    let token: String
    let now: Date
}

/// Group commit for idempotency claims (the statements behind `PostgresIdempotencyStore.claims`).
///
/// WHY: every POST with an Idempotency-Key must durably claim its key before the handler runs; one
/// autocommitted INSERT per request cost one round trip, one parse/plan and one commit each. Claims
/// arriving while a claim statement is in flight are written by the next statement, one multi-row
/// `INSERT … ON CONFLICT … RETURNING` that commits before any of its callers is answered, so the contract
/// is unchanged: a caller proceeds only once its claim row is committed. A batch never holds the same
/// (scope, key) twice (PostgreSQL refuses to update one row twice in a statement; the batcher's distinct
/// key makes the duplicate wait for the next batch), rows are sorted so concurrent batches lock keys in
/// the same order, and a failed batch is retried one claim at a time so each caller sees only its own error.
enum ClaimStatements {
    static let limits = GroupBatcher<ClaimAttempt, Bool>.Limits(batchItemsMax: 64, flushersMax: 2, queueItemsMax: 4_096)

    /// Per attempt: whether its token won the key.
    static func claimEach(_ attempts: [ClaimAttempt], database: any Database) async -> [Result<Bool, any Error>] {
        do {
            let won: Set<String> = try await write(attempts, database: database)
            return attempts.map { .success(won.contains($0.token)) }
        } catch {
            // No connection (pool timeout, outage): retrying one by one would only wait again per item.
            if attempts.count == 1 || (error as? DatabaseError).map(failsEveryClaim) == true {
                return attempts.map { _ in .failure(error) }
            }
            return await GroupBatcher.eachAlone(attempts) { attempt in
                try await write([attempt], database: database).contains(attempt.token)
            }
        }
    }

    static func failsEveryClaim(_ error: DatabaseError) -> Bool {
        [.poolTimeout, .poolClosed, .connectionFailed].contains(error.kind)
    }

    /// One statement for all attempts (distinct keys); returns the tokens that won their key.
    static func write(_ attempts: [ClaimAttempt], database: any Database) async throws -> Set<String> {
        let sorted = attempts.sorted { ($0.scope, $0.key) < ($1.scope, $1.key) }
        var text = """
            INSERT INTO idempotency_keys AS existing (merchant_id, mode, scope, key, fingerprint, claim_token, state,
                created_at, locked_until, expires_at) VALUES
            """
        var binds: [SQLValue] = []
        for (index, attempt) in sorted.enumerated() {
            let (merchantId, mode) = PostgresIdempotencyStore.tenant(of: attempt.scope)
            let base = binds.count
            binds += [.text(merchantId), .text(mode), .text(attempt.scope), .text(attempt.key), .text(attempt.fingerprint),
                      .text(attempt.token), .timestamp(attempt.now),
                      .timestamp(attempt.now.addingTimeInterval(PostgresIdempotencyStore.claimLockSeconds)),
                      .timestamp(attempt.now.addingTimeInterval(PostgresIdempotencyStore.retentionSeconds))]
            let place = { (offset: Int) in "$\(base + offset)" }
            text += (index == 0 ? " (" : ", (")
                + "\(place(1)), \(place(2)), \(place(3)), \(place(4)), \(place(5)), \(place(6)), 'in_progress', "
                + "\(place(7)), \(place(8)), \(place(9)))"
        }
        // "Now" for the take-over conditions is each row's own created_at (EXCLUDED.created_at).
        text += """

            ON CONFLICT (scope, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,
                claim_token = EXCLUDED.claim_token, state = 'in_progress', response_status = NULL,
                response_headers = NULL, response_body = NULL, created_at = EXCLUDED.created_at,
                locked_until = EXCLUDED.locked_until, expires_at = EXCLUDED.expires_at
            WHERE existing.expires_at <= EXCLUDED.created_at
               OR (existing.state = 'in_progress' AND existing.locked_until <= EXCLUDED.created_at
                   AND existing.fingerprint = EXCLUDED.fingerprint)
            RETURNING claim_token
            """
        let rows = try await database.query(SQL(text, binds: binds))
        return Set(try rows.map { try $0.decode("claim_token", as: String.self) })
    }
}

struct KeyLookup: Sendable, Hashable {
    let scope: String
    let key: String
}

/// Read-only key lookups for `PostgresIdempotencyStore.lookup`, many per statement.
///
/// WHY: with deferred claims every idempotent sale starts with a lookup of its key; one statement per
/// request cost a worker-thread hand-off and a PostgreSQL backend wake-up each, which was most of the
/// remaining per-sale cost (measured in docs/benchmarks.md). The statement text is constant (the keys are
/// two array binds), so each connection prepares it once; the LATERAL … LIMIT 1 keeps it a per-key
/// primary-key probe in every plan, including a generic plan made while the table was still small (a
/// plain `IN (SELECT unnest …)` was planned as a hash join over a sequential scan of the whole table).
enum KeyLookups {
    static let limits = GroupBatcher<KeyLookup, Row?>.Limits(batchItemsMax: 64, flushersMax: 2, queueItemsMax: 4_096)

    /// $1: scopes, $2: keys, as PostgreSQL array literals (`arrayLiteral`), position by position.
    static let text = """
        SELECT wanted.scope, wanted.key, found.*
        FROM unnest($1::text[], $2::text[]) AS wanted(scope, key) CROSS JOIN LATERAL (
            SELECT fingerprint, state, response_status, response_headers, response_body, expires_at
            FROM idempotency_keys WHERE scope = wanted.scope AND key = wanted.key LIMIT 1) AS found
        """

    /// Per wanted key, its row (nil when absent). A failed statement fails every caller: retrying a
    /// read one by one would only repeat it.
    static func read(_ wanted: [KeyLookup], database: any Database) async -> [Result<Row?, any Error>] {
        do {
            let found = try await rows(wanted, database: database)
            return wanted.map { .success(found[$0]) }
        } catch {
            return wanted.map { _ in .failure(error) }
        }
    }

    static func rows(_ lookups: [KeyLookup], database: any Database) async throws -> [KeyLookup: Row] {
        let sql = SQL(text, binds: [.text(arrayLiteral(lookups.map(\.scope))), .text(arrayLiteral(lookups.map(\.key)))])
        var found: [KeyLookup: Row] = [:]
        for row in try await database.query(sql) {
            found[KeyLookup(scope: try row.decode("scope"), key: try row.decode("key"))] = row
        }
        return found
    }

    /// `{"a","b\"c"}`: every element quoted, `"` and `\` escaped, so any text round-trips.
    static func arrayLiteral(_ elements: [String]) -> String {
        var text = "{"
        for (index, element) in elements.enumerated() {
            if index > 0 { text += "," }
            text += "\""
            for character in element.unicodeScalars {
                if character == "\"" || character == "\\" { text += "\\" }
                text.unicodeScalars.append(character)
            }
            text += "\""
        }
        return text + "}"
    }
}
