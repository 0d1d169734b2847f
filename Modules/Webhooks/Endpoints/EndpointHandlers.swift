import Foundation
import Kernel

/// `/v1/webhook-endpoints`: create, list, get, update, delete, rotate the secret, enable, disable, send a
/// test event. Each acts for the caller's merchant and mode only: another tenant's endpoint is a 404.
struct EndpointHandlers: Sendable {
    let store: EndpointStore
    let deliveries: DeliveryStore
    let client: (any OutboundHTTPClient)?
    let signer: WebhookSigner
    let clock: any WallClock
    let limits: EndpointLimits
    let wake: WakeSignal

    struct Body: Decodable, Sendable {
        var url: String?
        var description: String??
        var eventTypes: [String]?

        private enum CodingKeys: String, CodingKey { case url, description, eventTypes }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            url = try container.decodeIfPresent(String.self, forKey: .url)
            // Absent: unchanged; null: cleared.
            if container.contains(.description) {
                description = .some(try container.decodeNil(forKey: .description)
                    ? nil : try container.decode(String.self, forKey: .description))
            }
            eventTypes = try container.decodeIfPresent([String].self, forKey: .eventTypes)
        }
    }

    func create(_ request: Request, _ context: RequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let body = try request.decodeJSON(Body.self)
        guard let url = body.url else { throw AtlasError.missingField("url") }
        let checkedURL = try await checkURL(url, tenant: tenant)
        let description = try Self.checkDescription(body.description ?? nil)
        let eventTypes = try Self.checkEventTypes(body.eventTypes ?? ["*"], limits: limits)
        guard try await store.count(tenant: tenant) < limits.endpointsPerTenantMax else {
            throw AtlasError.conflict(code: "ENDPOINT_LIMIT_REACHED",
                                      "At most \(limits.endpointsPerTenantMax) webhook endpoints per merchant and mode")
        }
        let secret = signer.newSecret()
        let now = clock.now()
        let record = try await store.create(id: TypedID.generate(prefix: .webhook, clock: clock).rawValue,
                                            url: checkedURL.description, description: description, eventTypes: eventTypes,
                                            secret: secret, tenant: tenant, now: now)
        return .json(record.json(now: now, secret: secret), status: 201)
    }

    func list(_ request: Request, _ context: RequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let query = request.queryParameters
        let limit = try WebhooksPaging.limit(query["limit"])
        let cursor = try WebhooksPaging.idCursor(query["cursor"], prefix: .webhook)
        let records = try await store.list(tenant: tenant, beforeId: cursor, limit: limit)
        let now = clock.now()
        return WebhooksPaging.page(records.map { (id: $0.id, json: $0.json(now: now)) }, limit: limit)
    }

    func get(_ request: Request, _ context: RequestContext) async throws -> Response {
        let record = try await existing(request, try context.requireTenant())
        return .json(record.json(now: clock.now()))
    }

    func update(_ request: Request, _ context: RequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let id = try Self.endpointId(request)
        let body = try request.decodeJSON(Body.self)
        var changes = EndpointChanges()
        if let url = body.url { changes.url = try await checkURL(url, tenant: tenant).description }
        if let description = body.description { changes.description = .some(try Self.checkDescription(description)) }
        if let types = body.eventTypes { changes.eventTypes = try Self.checkEventTypes(types, limits: limits) }
        let now = clock.now()
        guard let record = try await store.update(id, changes, tenant: tenant, now: now) else { throw Self.notFound(id) }
        return .json(record.json(now: now))
    }

    func delete(_ request: Request, _ context: RequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let id = try Self.endpointId(request)
        guard try await store.delete(id, tenant: tenant) else { throw Self.notFound(id) }
        return .json(["id": .string(id), "object": "webhook_endpoint", "deleted": true])
    }

    func rotateSecret(_ request: Request, _ context: RequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let id = try Self.endpointId(request)
        let secret = signer.newSecret()
        let now = clock.now()
        guard let record = try await store.rotate(id, newSecret: secret,
                                                  previousExpiresAt: now.addingTimeInterval(limits.previousSecretSeconds),
                                                  tenant: tenant, now: now) else { throw Self.notFound(id) }
        return .json(record.json(now: now, secret: secret))
    }

    func setEnabled(_ enabled: Bool, _ request: Request, _ context: RequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let id = try Self.endpointId(request)
        let now = clock.now()
        guard let record = try await store.setStatus(id, enabled ? .enabled : .disabled,
                                                     reason: enabled ? nil : "disabled by the merchant",
                                                     tenant: tenant, now: now) else { throw Self.notFound(id) }
        if enabled { wake.signal() }
        return .json(record.json(now: now))
    }

    func sendTest(_ request: Request, _ context: RequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let record = try await existing(request, tenant)
        guard record.status == .enabled else {
            throw AtlasError.conflict(code: "ENDPOINT_DISABLED", "The webhook endpoint is disabled; enable it first")
        }
        guard let sent = try await deliveries.testEvent(endpointId: record.id, tenant: tenant, now: clock.now()) else {
            throw Self.notFound(record.id)
        }
        wake.signal()
        return .json(["eventId": .string(sent.eventId), "deliveryId": .string(sent.deliveryId), "type": "webhook.test"],
                     status: 202)
    }

    // MARK: Validation

    /// A well-formed http(s) URL; https in live mode; not (resolving to) a forbidden address.
    private func checkURL(_ text: String, tenant: TenantContext) async throws -> OutboundURL {
        guard let url = OutboundURL.parse(text) else {
            throw AtlasError.invalidField("url", "url must be an absolute http or https URL of at most \(OutboundURL.lengthMax) characters",
                                          constraint: "format")
        }
        if tenant.mode.isLive && !url.isHTTPS {
            throw AtlasError.invalidField("url", "Live-mode webhook endpoints must use https", constraint: "https")
        }
        guard let client else { throw AtlasError.unavailable("Webhook delivery is not configured on this server") }
        do {
            try await client.checkDestination(url, requireHTTPS: tenant.mode.isLive)
        } catch {
            switch error {
            case .destinationForbidden:
                throw AtlasError.invalidField("url", "url must not point at a loopback, private, link-local, multicast or metadata address",
                                              constraint: "destination")
            case .resolutionFailed:
                throw AtlasError.invalidField("url", "url's host name does not resolve", constraint: "resolvable")
            default:
                throw AtlasError.invalidField("url", "url is not a valid webhook destination", constraint: "format")
            }
        }
        return url
    }

    static func checkDescription(_ description: String?) throws(AtlasError) -> String? {
        guard let description else { return nil }
        guard description.count <= 500, !description.contains("\0") else {
            throw .invalidField("description", "description must be at most 500 characters", constraint: "maxLength")
        }
        return description
    }

    /// `["*"]` (or no filter) means every type, stored as the empty list.
    static func checkEventTypes(_ types: [String], limits: EndpointLimits) throws(AtlasError) -> [String] {
        guard !types.isEmpty, types.count <= limits.eventTypesMax else {
            throw .invalidField("eventTypes", "eventTypes must list 1 to \(limits.eventTypesMax) event types", constraint: "size")
        }
        if types == ["*"] { return [] }
        for type in types {
            let valid = type.utf8.count <= 100 && !type.isEmpty && type.split(separator: ".", omittingEmptySubsequences: false)
                .allSatisfy { part in !part.isEmpty && part.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 95 } }
            guard valid else {
                throw .invalidField("eventTypes", "eventTypes entries are dotted lower-case names such as transaction.settled, or [\"*\"]",
                                    constraint: "format", value: .string(String(type.prefix(100))))
            }
        }
        return Array(Set(types)).sorted()
    }

    private func existing(_ request: Request, _ tenant: TenantContext) async throws -> EndpointRecord {
        let id = try Self.endpointId(request)
        guard let record = try await store.get(id, tenant: tenant) else { throw Self.notFound(id) }
        return record
    }

    static func endpointId(_ request: Request) throws(AtlasError) -> String {
        let id = request.pathParameter("id") ?? ""
        guard TypedID(rawValue: id).matches(.webhook) else { throw notFound(id) }
        return id
    }

    static func notFound(_ id: String) -> AtlasError {
        .notFound("No webhook endpoint \(String(id.prefix(64)))")
    }
}

/// Limits of the endpoints API.
public struct EndpointLimits: Sendable {
    public var endpointsPerTenantMax = 16
    public var eventTypesMax = 100
    /// After a rotation the previous secret keeps signing this long (24 h).
    public var previousSecretSeconds: Double = 86_400

    public init() {}
}

/// `?limit=&cursor=` and the `{data, hasMore, nextCursor}` page of the webhook lists.
enum WebhooksPaging {
    static let limitDefault = 25
    static let limitMax = 100

    static func limit(_ text: String?) throws(AtlasError) -> Int {
        try QueryParameters.limit(text, fallback: limitDefault, max: limitMax)
    }

    static func idCursor(_ text: String?, prefix: IDPrefix) throws(AtlasError) -> String? {
        guard let text else { return nil }
        guard TypedID(rawValue: text).matches(prefix) else {
            throw .invalidField("cursor", "cursor is not valid", constraint: "format")
        }
        return text
    }

    static func page(_ items: [(id: String, json: JSONValue)], limit: Int) -> Response {
        let page = Array(items.prefix(limit))
        let hasMore = items.count > limit
        return .json([
            "data": .array(page.map(\.json)), "hasMore": .bool(hasMore),
            "nextCursor": hasMore ? page.last.map { .string($0.id) } ?? .null : .null,
        ])
    }
}
