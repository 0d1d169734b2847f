import Foundation
import Kernel

/// Lists the audit trail of the caller's merchant and mode, newest first, with filters.
struct AuditRoutes {
    static let limitDefault = 50
    static let limitMax = 200

    let module: AuthService

    func list(_ request: Request, tenant: TenantContext) async throws -> Response {
        await module.flushAudit()
        let query = request.queryParameters
        let limit = try QueryParameters.limit(query["limit"], fallback: Self.limitDefault, max: Self.limitMax)
        let before = try query["cursor"].map { text throws(AtlasError) -> Int64 in
            guard let value = Int64(text.replacingOccurrences(of: "cursor_aud_", with: "")) else {
                throw .invalidField("cursor", "cursor is not valid", constraint: "format")
            }
            return value
        }
        let since = try query["since"].map { text throws(AtlasError) -> Date in
            guard let date = Timestamp.parseISO8601(text) else { throw .invalidField("since", "since must be ISO 8601") }
            return date
        }
        let sql: SQL = """
            SELECT * FROM auth_audit_log
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)\(and: "id < ?", before)\
            \(and: "event = ?", query["event"])\(and: "principal_id = ?", query["principalId"])\(and: "occurred_at >= ?", since)
            ORDER BY id DESC LIMIT \(limit + 1)
            """
        let rows = try await module.database.query(sql)
        let page = Array(rows.prefix(limit))
        let items: [JSONValue] = try page.map { row in
            func text(_ column: String) -> JSONValue { row.text(column).map { .string($0) } ?? .null }
            return [
                "id": .string("aud_\(row.text("id") ?? "")"), "occurredAt": .string(Timestamp.iso8601(try row.decode("occurred_at"), fractionalSeconds: true)),
                "event": text("event"), "principalKind": text("principal_kind"), "principalId": text("principal_id"),
                "credentialFingerprint": text("credential_fingerprint"), "ip": text("ip"), "method": text("method"),
                "route": text("route"), "status": (try row.decode("status", as: Int64?.self)).map { .int($0) } ?? .null,
                "requestId": text("request_id"),
            ]
        }
        let hasMore = rows.count > limit
        let next: JSONValue = hasMore ? .string("cursor_aud_\(page.last?.text("id") ?? "")") : .null
        return .json(["data": .array(items), "hasMore": .bool(hasMore), "nextCursor": next])
    }
}
