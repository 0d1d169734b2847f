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
        // One multi-row INSERT per batch via json_to_recordset: one round trip, still bind-only. The rows
        // are serialized by hand (no JSONValue tree, no date formatter) and times travel as integer epoch
        // microseconds, converted exactly by the server.
        let sql: SQL = """
            INSERT INTO auth_audit_log (merchant_id, mode, occurred_at, event, principal_kind, principal_id,
                credential_fingerprint, ip, method, route, status, request_id, detail)
            SELECT merchant_id, mode, timestamptz 'epoch' + occurred_at_us * interval '1 microsecond', event,
                   principal_kind, principal_id, credential_fingerprint, ip, method, route, status, request_id,
                   detail::jsonb
            FROM json_to_recordset(\(Self.rowsJSON(batch))::json)
              AS r(merchant_id text, mode text, occurred_at_us bigint, event text, principal_kind text,
                   principal_id text, credential_fingerprint text, ip text, method text, route text, status integer,
                   request_id text, detail json)
            """
        try await database.execute(sql)
    }

    /// The batch as a JSON array of row objects (the `json_to_recordset` input).
    static func rowsJSON(_ batch: [AuditEntry]) -> String {
        var writer = AuditJSONWriter()
        writer.bytes.reserveCapacity(batch.count * 320)
        writer.raw("[")
        for (index, entry) in batch.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{\"merchant_id\":"); writer.string(entry.merchantId)
            writer.raw(",\"mode\":"); writer.string(entry.mode?.rawValue)
            writer.raw(",\"occurred_at_us\":"); writer.integer(Timestamp.microsecondsSinceEpoch(entry.occurredAt))
            writer.raw(",\"event\":"); writer.string(entry.event)
            writer.raw(",\"principal_kind\":"); writer.string(entry.principalKind)
            writer.raw(",\"principal_id\":"); writer.string(entry.principalId)
            writer.raw(",\"credential_fingerprint\":"); writer.string(entry.credentialFingerprint)
            writer.raw(",\"ip\":"); writer.string(entry.ip)
            writer.raw(",\"method\":"); writer.string(entry.method)
            writer.raw(",\"route\":"); writer.string(entry.route)
            writer.raw(",\"status\":"); if let status = entry.status { writer.integer(Int64(status)) } else { writer.raw("null") }
            writer.raw(",\"request_id\":"); writer.string(entry.requestId)
            writer.raw(",\"detail\":")
            if let detail = entry.detail { writer.bytes += detail.serialized() } else { writer.raw("null") }
            writer.raw("}")
        }
        writer.raw("]")
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}

/// A minimal JSON byte writer for audit rows: strings escaped per RFC 8259, integers in decimal.
struct AuditJSONWriter {
    var bytes: [UInt8] = []

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func integer(_ value: Int64) {
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func string(_ value: String?) {
        guard let value else { return raw("null") }
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0..<0x20:
                raw("\\u00")
                bytes.append(Self.hexDigits[Int(byte >> 4)])
                bytes.append(Self.hexDigits[Int(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
