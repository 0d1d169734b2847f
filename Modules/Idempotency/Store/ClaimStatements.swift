import Foundation
import Kernel

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
