import Foundation
import Kernel

/// One endpoint as stored. The secrets (sealed at rest, `SecretSealer`) never leave through `json`; a secret
/// is shown once, on create and on rotation, by the handler that minted it.
struct EndpointRecord: Sendable {
    enum Status: String, Sendable { case enabled, disabled }

    let id: String
    let flavour: WebhookFlavour
    /// Accounting endpoints: the one company whose events they receive (nil: every company they can see).
    let companyId: String?
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
        id, flavour, company_id, url, description, to_jsonb(event_types)::text AS event_types, status, disabled_reason, mode,
        secret, previous_secret, previous_secret_expires_at, created_at, updated_at
        """

    init(row: Row) throws {
        id = try row.decode("id")
        url = try row.decode("url")
        description = try row.decode("description", as: String?.self)
        let typesText: String = try row.decode("event_types")
        guard case .array(let types)? = try? JSONValue(parsing: typesText) else {
            throw DatabaseError(kind: .decoding, message: "event_types is not a JSON array")
        }
        eventTypes = types.compactMap(\.stringValue)
        guard let status = Status(rawValue: try row.decode("status")), let mode = Mode(rawValue: try row.decode("mode")),
              let flavour = WebhookFlavour(rawValue: try row.decode("flavour")) else {
            throw DatabaseError(kind: .decoding, message: "unknown endpoint status, mode or flavour")
        }
        self.flavour = flavour
        companyId = try row.decode("company_id", as: String?.self)
        self.status = status
        self.mode = mode
        disabledReason = try row.decode("disabled_reason", as: String?.self)
        secret = try row.decode("secret")
        previousSecret = try row.decode("previous_secret", as: String?.self)
        previousSecretExpiresAt = try row.decode("previous_secret_expires_at", as: Date?.self)
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
    }

    /// Whether and how an answer carries the secret.
    enum SecretField: Sendable {
        /// Reads, lists, updates: no `secret` key.
        case absent
        /// The create or rotate answer: the secret, this once.
        case shown(String)
        /// The same answer as kept for an Idempotency-Key replay: `"secret": null` (docs/webhooks.md).
        case redacted
    }

    /// The Commerce representation (camelCase, like the rest of `/v1`).
    func json(now: Date, secret field: SecretField = .absent) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "object": "webhook_endpoint", "url": .string(url),
            "description": description.map(JSONValue.string) ?? .null,
            "eventTypes": .array(eventTypes.isEmpty ? ["*"] : eventTypes.map(JSONValue.string)),
            "status": .string(status.rawValue), "disabledReason": disabledReason.map(JSONValue.string) ?? .null,
            "livemode": .bool(mode.isLive), "format": .string(flavour.rawValue),
            "createdAt": .string(Timestamp.iso8601(createdAt)), "updatedAt": .string(Timestamp.iso8601(updatedAt)),
        ]
        addSecret(field, to: &object, now: now, expiresKey: "previousSecretExpiresAt")
        return .object(object)
    }

    /// The secret as `field` says, and when the previous secret stops signing (during a rotation).
    func addSecret(_ field: SecretField, to object: inout [String: JSONValue], now: Date, expiresKey: String) {
        if let expires = previousSecretExpiresAt, expires > now, previousSecret != nil {
            object[expiresKey] = .string(Timestamp.iso8601(expires))
        }
        switch field {
        case .absent: break
        case .shown(let secret): object["secret"] = .string(secret)
        case .redacted: object["secret"] = .null
        }
    }
}

/// Which endpoints a caller sees: its tenant's, of the flavours its API manages.
struct EndpointScope: Sendable {
    let tenant: TenantContext
    let flavours: [WebhookFlavour]

    /// Commerce `/v1` (commerce and payments endpoints).
    static func commerce(_ tenant: TenantContext) -> EndpointScope { EndpointScope(tenant: tenant, flavours: WebhookFlavour.commerceAPI) }

    var flavourList: String { WebhookFlavour.list(flavours) }
}

/// A new endpoint's flavour and, for accounting, whose events it receives.
struct EndpointOwner: Sendable {
    var flavour: WebhookFlavour = .commerce
    var organizationId: String?
    var companyId: String?
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

    /// Endpoints of the tenant, every flavour (the limit is per merchant and mode).
    func count(tenant: TenantContext) async throws -> Int {
        let row = try await database.queryFirst("""
            SELECT count(*) AS n FROM webhooks_endpoints WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            """)
        return try row?.decode("n", as: Int.self) ?? 0
    }

    /// `sealedSecret`: the secret as `SecretSealer` stores it. `executor`: the handler's transaction (the
    /// Idempotency-Key's redacted answer commits with the row).
    func create(id: String, owner: EndpointOwner, url: String, description: String?, eventTypes: [String],
                sealedSecret secret: String, tenant: TenantContext, now: Date,
                in executor: any SQLExecutor) async throws -> EndpointRecord {
        let rows = try await executor.query("""
            INSERT INTO webhooks_endpoints (id, flavour, organization_id, company_id, merchant_id, mode, url, description,
                event_types, status, secret, created_at, updated_at)
            VALUES (\(id), \(owner.flavour.rawValue), \(owner.organizationId)::text, \(owner.companyId)::text, \(tenant.merchantId),
                \(tenant.mode), \(url), \(description),
                ARRAY(SELECT jsonb_array_elements_text(\(Self.eventTypesJSON(eventTypes)))), 'enabled', \(secret), \(now), \(now))
            RETURNING \(literal: EndpointRecord.columns)
            """)
        guard let row = rows.first else { throw DatabaseError(kind: .query, message: "insert returned no row") }
        return try EndpointRecord(row: row)
    }

    func get(_ id: String, scope: EndpointScope) async throws -> EndpointRecord? {
        try await database.queryFirst("""
            SELECT \(literal: EndpointRecord.columns) FROM webhooks_endpoints
            WHERE id = \(id) AND merchant_id = \(scope.tenant.merchantId) AND mode = \(scope.tenant.mode)
              AND flavour = ANY (string_to_array(\(scope.flavourList), ','))
            """).map(EndpointRecord.init(row:))
    }

    /// Newest first; `beforeId` is the cursor (ids sort by creation time).
    func list(scope: EndpointScope, beforeId: String?, limit: Int) async throws -> [EndpointRecord] {
        try await database.query("""
            SELECT \(literal: EndpointRecord.columns) FROM webhooks_endpoints
            WHERE merchant_id = \(scope.tenant.merchantId) AND mode = \(scope.tenant.mode)
              AND flavour = ANY (string_to_array(\(scope.flavourList), ','))\(and: "id < ?", beforeId)
            ORDER BY id DESC LIMIT \(limit + 1)
            """).map(EndpointRecord.init(row:))
    }

    func update(_ id: String, _ changes: EndpointChanges, scope: EndpointScope, now: Date) async throws -> EndpointRecord? {
        let types = changes.eventTypes.map(Self.eventTypesJSON)
        let descriptionGiven = changes.description != nil
        let description = changes.description ?? nil
        return try await database.queryFirst("""
            UPDATE webhooks_endpoints SET url = coalesce(\(changes.url)::text, url),
                description = CASE WHEN \(descriptionGiven) THEN \(description)::text ELSE description END,
                event_types = CASE WHEN \(types)::jsonb IS NULL THEN event_types
                                   ELSE ARRAY(SELECT jsonb_array_elements_text(\(types)::jsonb)) END,
                updated_at = \(now)
            WHERE id = \(id) AND merchant_id = \(scope.tenant.merchantId) AND mode = \(scope.tenant.mode)
              AND flavour = ANY (string_to_array(\(scope.flavourList), ','))
            RETURNING \(literal: EndpointRecord.columns)
            """).map(EndpointRecord.init(row:))
    }

    func setStatus(_ id: String, _ status: EndpointRecord.Status, reason: String?, scope: EndpointScope,
                   now: Date) async throws -> EndpointRecord? {
        try await database.queryFirst("""
            UPDATE webhooks_endpoints SET status = \(status.rawValue), disabled_reason = \(reason)::text, updated_at = \(now),
                failing_since = CASE WHEN \(status == .enabled) THEN NULL ELSE failing_since END
            WHERE id = \(id) AND merchant_id = \(scope.tenant.merchantId) AND mode = \(scope.tenant.mode)
              AND flavour = ANY (string_to_array(\(scope.flavourList), ','))
            RETURNING \(literal: EndpointRecord.columns)
            """).map(EndpointRecord.init(row:))
    }

    /// The new secret signs from now on; the current one keeps signing until `previousExpiresAt`.
    func rotate(_ id: String, newSealedSecret newSecret: String, previousExpiresAt: Date, scope: EndpointScope,
                now: Date, in executor: any SQLExecutor) async throws -> EndpointRecord? {
        try await executor.query("""
            UPDATE webhooks_endpoints SET previous_secret = secret, previous_secret_expires_at = \(previousExpiresAt),
                secret = \(newSecret), updated_at = \(now)
            WHERE id = \(id) AND merchant_id = \(scope.tenant.merchantId) AND mode = \(scope.tenant.mode)
              AND flavour = ANY (string_to_array(\(scope.flavourList), ','))
            RETURNING \(literal: EndpointRecord.columns)
            """).first.map(EndpointRecord.init(row:))
    }

    /// Deletes the endpoint with its deliveries and their attempt log (foreign keys cascade).
    func delete(_ id: String, scope: EndpointScope) async throws -> Bool {
        try await database.execute("""
            DELETE FROM webhooks_endpoints WHERE id = \(id) AND merchant_id = \(scope.tenant.merchantId) AND mode = \(scope.tenant.mode)
              AND flavour = ANY (string_to_array(\(scope.flavourList), ','))
            """) == 1
    }

    /// Re-seals, under the sealer's first key, up to `batchMax` endpoints whose secrets are in clear or under an
    /// older key; returns how many were rewritten (0: done). Each row is compared and set, so a rotation racing
    /// the re-encryption wins and the row is picked up again by the next batch.
    func reencryptSecrets(sealer: SecretSealer, batchMax: Int) async throws -> Int {
        guard let prefix = sealer.sealingPrefix else { return 0 }
        let rows = try await database.query("""
            SELECT id, secret, previous_secret FROM webhooks_endpoints
            WHERE left(secret, \(prefix.count)::integer) <> \(prefix) OR left(previous_secret, \(prefix.count)::integer) <> \(prefix)
            ORDER BY id LIMIT \(batchMax)
            """)
        var rewritten = 0
        for row in rows {
            let id: String = try row.decode("id")
            let secret: String = try row.decode("secret")
            let previous = try row.decode("previous_secret", as: String?.self)
            let newSecret = try sealer.seal(try sealer.open(secret, endpointId: id), endpointId: id)
            let newPrevious = try previous.map { stored throws(SecretSealError) in
                try sealer.seal(try sealer.open(stored, endpointId: id), endpointId: id)
            }
            rewritten += try await database.execute("""
                UPDATE webhooks_endpoints SET secret = \(newSecret), previous_secret = \(newPrevious)::text
                WHERE id = \(id) AND secret = \(secret) AND previous_secret IS NOT DISTINCT FROM \(previous)::text
                """)
        }
        return rewritten
    }
}
