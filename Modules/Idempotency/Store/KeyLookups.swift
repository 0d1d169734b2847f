import Foundation
import Kernel

struct KeyLookup: Sendable, Hashable {
    let scope: String
    let key: String
}

/// Read-only key lookups for `PostgresIdempotencyStore.lookup`, many per statement.
///
/// WHY: a claim that lost reads the winner's row, and a deferred key is read when its handler's outcome is not
/// stored (`KeyScope.existingAnswer`); concurrent duplicates and retries come in bursts. Until 2026-12-05 every
/// deferred sale began with a lookup, and one statement per request cost a worker-thread hand-off and a PostgreSQL
/// backend wake-up each (measured in docs/benchmarks.md). The statement text is constant (the keys are
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

    /// `{"a","b\"c"}`: Kernel's `SQLArrayLiteral.text`, every element quoted and escaped.
    static func arrayLiteral(_ elements: [String]) -> String { SQLArrayLiteral.text(elements) }
}
