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

    /// Flushes every `flushIntervalMilliseconds` until cancelled.
    func runFlushLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Self.flushIntervalMilliseconds))
            await flush()
        }
        await flush()
    }

    private func write(_ batch: [AuditEntry]) async throws {
        // One multi-row INSERT per batch via jsonb_to_recordset: one round trip, still bind-only.
        let rows = JSONValue.array(batch.map(Self.json))
        let sql: SQL = """
            INSERT INTO auth_audit_log (merchant_id, mode, occurred_at, event, principal_kind, principal_id,
                credential_fingerprint, ip, method, route, status, request_id, detail)
            SELECT merchant_id, mode, occurred_at, event, principal_kind, principal_id, credential_fingerprint, ip,
                   method, route, status, request_id, detail
            FROM jsonb_to_recordset(\(SQLValue.json(String(decoding: rows.serialized(), as: UTF8.self))))
              AS r(merchant_id text, mode text, occurred_at timestamptz, event text, principal_kind text,
                   principal_id text, credential_fingerprint text, ip text, method text, route text, status integer,
                   request_id text, detail jsonb)
            """
        try await database.execute(sql)
    }

    private static func json(_ entry: AuditEntry) -> JSONValue {
        func text(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
        return [
            "merchant_id": text(entry.merchantId), "mode": text(entry.mode?.rawValue),
            "occurred_at": .string(Timestamp.iso8601(entry.occurredAt, fractionalSeconds: true)),
            "event": .string(entry.event), "principal_kind": text(entry.principalKind),
            "principal_id": text(entry.principalId), "credential_fingerprint": text(entry.credentialFingerprint),
            "ip": text(entry.ip), "method": text(entry.method), "route": text(entry.route),
            "status": entry.status.map { .int(Int64($0)) } ?? .null, "request_id": text(entry.requestId),
            "detail": entry.detail ?? .null,
        ]
    }
}

