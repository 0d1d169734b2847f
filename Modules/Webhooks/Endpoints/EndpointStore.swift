import Foundation
import Kernel

/// One endpoint as stored. The secrets never leave through `json`; a secret is shown once, on create and
/// on rotation, by the handler that minted it.
struct EndpointRecord: Sendable {
    enum Status: String, Sendable { case enabled, disabled }

    let id: String
    let url: String
    let description: String?
    /// Empty: every event type.
    let eventTypes: [String]
    let status: Status
    let disabledReason: String?
    let mode: Mode
    let secret: String
    let previousSecret: String?
    let previousSecretExpiresAt: Date?
    let createdAt: Date
    let updatedAt: Date

    static let columns: StaticString = """
        id, url, description, to_jsonb(event_types)::text AS event_types, status, disabled_reason, mode, secret,
        previous_secret, previous_secret_expires_at, created_at, updated_at
        """

    init(row: Row) throws {
        id = try row.decode("id")
        url = try row.decode("url")
        description = try row.decode("description", as: String?.self)
        let typesText: String = try row.decode("event_types")
        guard case .array(let types)? = try? JSONDecoder().decode(JSONValue.self, from: Data(typesText.utf8)) else {
            throw DatabaseError(kind: .decoding, message: "event_types is not a JSON array")
        }
        eventTypes = types.compactMap(\.stringValue)
        guard let status = Status(rawValue: try row.decode("status")), let mode = Mode(rawValue: try row.decode("mode")) else {
            throw DatabaseError(kind: .decoding, message: "unknown endpoint status or mode")
        }
        self.status = status
        self.mode = mode
        disabledReason = try row.decode("disabled_reason", as: String?.self)
        secret = try row.decode("secret")
        previousSecret = try row.decode("previous_secret", as: String?.self)
        previousSecretExpiresAt = try row.decode("previous_secret_expires_at", as: Date?.self)
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
    }

    /// The Commerce representation (camelCase, like the rest of `/v1`).
    func json(now: Date, secret shown: String? = nil) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "object": "webhook_endpoint", "url": .string(url),
            "description": description.map(JSONValue.string) ?? .null,
            "eventTypes": .array(eventTypes.isEmpty ? ["*"] : eventTypes.map(JSONValue.string)),
            "status": .string(status.rawValue), "disabledReason": disabledReason.map(JSONValue.string) ?? .null,
            "livemode": .bool(mode.isLive),
            "createdAt": .string(Timestamp.iso8601(createdAt)), "updatedAt": .string(Timestamp.iso8601(updatedAt)),
        ]
        if let expires = previousSecretExpiresAt, expires > now, previousSecret != nil {
            object["previousSecretExpiresAt"] = .string(Timestamp.iso8601(expires))
        }
        if let shown { object["secret"] = .string(shown) }
        return .object(object)
    }
}

/// What a create or update sets (nil: unchanged on update).
struct EndpointChanges: Sendable {
    var url: String?
    var description: String??
    var eventTypes: [String]?
}

/// SQL of `webhooks_endpoints`; every statement is scoped by merchant and mode.
struct EndpointStore: Sendable {
    let database: any Database

    static func eventTypesJSON(_ types: [String]) -> SQLValue {
        .json(String(decoding: JSONValue.array(types.map(JSONValue.string)).serialized(), as: UTF8.self))
    }

    func count(tenant: TenantContext) async throws -> Int {
        let row = try await database.queryFirst("""
            SELECT count(*) AS n FROM webhooks_endpoints WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            """)
        return try row?.decode("n", as: Int.self) ?? 0
    }

    func create(id: String, url: String, description: String?, eventTypes: [String], secret: String,
                tenant: TenantContext, now: Date) async throws -> EndpointRecord {
        let rows = try await database.query("""
            INSERT INTO webhooks_endpoints (id, merchant_id, mode, url, description, event_types, status, secret,
                created_at, updated_at)
            VALUES (\(id), \(tenant.merchantId), \(tenant.mode), \(url), \(description),
                ARRAY(SELECT jsonb_array_elements_text(\(Self.eventTypesJSON(eventTypes)))), 'enabled', \(secret), \(now), \(now))
            RETURNING \(literal: EndpointRecord.columns)
            """)
        guard let row = rows.first else { throw DatabaseError(kind: .query, message: "insert returned no row") }
        return try EndpointRecord(row: row)
    }

    func get(_ id: String, tenant: TenantContext) async throws -> EndpointRecord? {
        try await database.queryFirst("""
            SELECT \(literal: EndpointRecord.columns) FROM webhooks_endpoints
            WHERE id = \(id) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            """).map(EndpointRecord.init(row:))
    }

    /// Newest first; `beforeId` is the cursor (ids sort by creation time).
    func list(tenant: TenantContext, beforeId: String?, limit: Int) async throws -> [EndpointRecord] {
        try await database.query("""
            SELECT \(literal: EndpointRecord.columns) FROM webhooks_endpoints
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)\(and: "id < ?", beforeId)
            ORDER BY id DESC LIMIT \(limit + 1)
            """).map(EndpointRecord.init(row:))
    }

    func update(_ id: String, _ changes: EndpointChanges, tenant: TenantContext, now: Date) async throws -> EndpointRecord? {
        let types = changes.eventTypes.map(Self.eventTypesJSON)
        let descriptionGiven = changes.description != nil
        let description = changes.description ?? nil
        return try await database.queryFirst("""
            UPDATE webhooks_endpoints SET url = coalesce(\(changes.url)::text, url),
                description = CASE WHEN \(descriptionGiven) THEN \(description)::text ELSE description END,
                event_types = CASE WHEN \(types)::jsonb IS NULL THEN event_types
                                   ELSE ARRAY(SELECT jsonb_array_elements_text(\(types)::jsonb)) END,
                updated_at = \(now)
            WHERE id = \(id) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            RETURNING \(literal: EndpointRecord.columns)
            """).map(EndpointRecord.init(row:))
    }

    func setStatus(_ id: String, _ status: EndpointRecord.Status, reason: String?, tenant: TenantContext,
                   now: Date) async throws -> EndpointRecord? {
        try await database.queryFirst("""
            UPDATE webhooks_endpoints SET status = \(status.rawValue), disabled_reason = \(reason)::text, updated_at = \(now)
            WHERE id = \(id) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            RETURNING \(literal: EndpointRecord.columns)
            """).map(EndpointRecord.init(row:))
    }

    /// The new secret signs from now on; the current one keeps signing until `previousExpiresAt`.
    func rotate(_ id: String, newSecret: String, previousExpiresAt: Date, tenant: TenantContext,
                now: Date) async throws -> EndpointRecord? {
        try await database.queryFirst("""
            UPDATE webhooks_endpoints SET previous_secret = secret, previous_secret_expires_at = \(previousExpiresAt),
                secret = \(newSecret), updated_at = \(now)
            WHERE id = \(id) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            RETURNING \(literal: EndpointRecord.columns)
            """).map(EndpointRecord.init(row:))
    }

    /// Deletes the endpoint with its deliveries and their attempt log (foreign keys cascade).
    func delete(_ id: String, tenant: TenantContext) async throws -> Bool {
        try await database.execute("""
            DELETE FROM webhooks_endpoints WHERE id = \(id) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            """) == 1
    }
}
