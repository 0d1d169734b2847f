import Foundation
import Kernel
import Synchronization

/// One audit record: who (principal and credential fingerprint, never the secret), what, result.
struct AuditEntry: Sendable {
    var merchantId: String?
    var mode: Mode?
    var occurredAt: Date
    /// "request", "auth.failed", "key.created", "key.rotated", "key.revoked", "login", "refresh", "token.issued", …
    var event: String
    var principalKind: String?
    var principalId: String?
    var credentialFingerprint: String?
    var ip: String?
    var method: String?
    var route: String?
    var status: Int?
    var requestId: String?
    var detail: JSONValue?
}

/// Buffers audit entries and writes them in batches, off the request path. The buffer is bounded
/// (`bufferedEntriesMax`); when full, `record` waits for a flush instead of dropping entries.
final class AuditTrail: Sendable {
    static let bufferedEntriesMax = 10_000
    static let batchSizeMax = 500
    static let flushIntervalMilliseconds = 100

    private let database: any Database
    private let logger: Logger
    private let buffer = Mutex<[AuditEntry]>([])

    init(database: any Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    func record(_ entry: AuditEntry) async {
        let count = buffer.withLock { buffer in
            buffer.append(entry)
            return buffer.count
        }
        if count >= Self.bufferedEntriesMax { await flush() }
    }

    /// Writes what is buffered now. Called by the background loop, at shutdown, and by tests.
    func flush() async {
        while true {
            let batch: [AuditEntry] = buffer.withLock { buffer in
                let batch = Array(buffer.prefix(Self.batchSizeMax))
                buffer.removeFirst(batch.count)
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                try await write(batch)
            } catch {
                // Put them back in front so nothing is lost; the next flush retries.
                buffer.withLock { $0.insert(contentsOf: batch, at: 0) }
                logger.error("audit write failed; will retry", ["error": .string(String(describing: error))])
                return
            }
        }
    }

    /// Flushes every `flushIntervalMilliseconds` until cancelled. No flush after cancellation: its
    /// queries would be cancelled too; the last flush is the background service's `shutdown()`.
    func runFlushLoop() async {
        while true {
            try? await Task.sleep(for: .milliseconds(Self.flushIntervalMilliseconds))
            if Task.isCancelled { return }
            await flush()
        }
    }

    private func write(_ batch: [AuditEntry]) async throws {
        // One multi-row INSERT per batch: one round trip, still bind-only. Each column is one array parameter
        // (`SQLArrayColumns`), read back with unnest; times travel as integer epoch microseconds, converted exactly by
        // the server. WHY arrays, not one JSON document through json_to_recordset: PostgreSQL's JSON parse and
        // per-row key lookups cost about a third of the insert (2.4 against 3.7 ms per 500 rows, EXPLAIN ANALYZE).
        let columns = Self.columns(batch)
        let sql: SQL = """
            INSERT INTO auth_audit_log (merchant_id, mode, occurred_at, event, principal_kind, principal_id,
                credential_fingerprint, ip, method, route, status, request_id, detail)
            SELECT merchant_id, mode, timestamptz 'epoch' + occurred_at_us * interval '1 microsecond', event,
                   principal_kind, principal_id, credential_fingerprint, ip, method, route, status, request_id,
                   detail::jsonb
            FROM unnest(\(columns[0])::text[], \(columns[1])::text[], \(columns[2])::bigint[], \(columns[3])::text[],
                        \(columns[4])::text[], \(columns[5])::text[], \(columns[6])::text[], \(columns[7])::text[],
                        \(columns[8])::text[], \(columns[9])::text[], \(columns[10])::integer[], \(columns[11])::text[],
                        \(columns[12])::text[])
              AS r(merchant_id, mode, occurred_at_us, event, principal_kind, principal_id, credential_fingerprint, ip,
                   method, route, status, request_id, detail)
            """
        try await database.execute(sql)
    }

    /// The batch's thirteen columns as array literals, in the INSERT's order.
    static func columns(_ batch: [AuditEntry]) -> [String] {
        var columns = SQLArrayColumns(count: 13, rowsExpected: batch.count)
        for entry in batch {
            columns.append([
                entry.merchantId.sqlValue, (entry.mode?.rawValue).sqlValue,
                .int(Timestamp.microsecondsSinceEpoch(entry.occurredAt)), .text(entry.event), entry.principalKind.sqlValue,
                entry.principalId.sqlValue, entry.credentialFingerprint.sqlValue, entry.ip.sqlValue, entry.method.sqlValue,
                entry.route.sqlValue, entry.status.map { .int(Int64($0)) } ?? .null, entry.requestId.sqlValue,
                entry.detail.map { .text(String(decoding: $0.serialized(), as: UTF8.self)) } ?? .null,
            ])
        }
        return columns.literals
    }
}

