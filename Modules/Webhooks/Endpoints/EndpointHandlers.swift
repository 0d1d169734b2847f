import Foundation
import IdempotencyContract
import Kernel

/// The endpoints API of one surface (Commerce `/v1/webhook-endpoints`, Accounting `/api/v1/webhooks`):
/// create, list, get, update, delete, rotate the secret, enable, disable, send a test event. Each acts for the
/// caller's tenant and the surface's flavours only: another tenant's (or surface's) endpoint is a 404. The
/// surface decides field names, the representation and pages (`EndpointSurface`).
struct EndpointHandlers: Sendable {
    let store: EndpointStore
    let deliveries: DeliveryStore
    let client: (any OutboundHTTPClient)?
    let signer: WebhookSigner
    let sealer: SecretSealer
    let clock: any WallClock
    let limits: EndpointLimits
    let wake: WakeSignal
    let surface: EndpointSurface

    func create(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let body = try surface.decode(request)
        let owner = try surface.owner(context.principal, body)
        guard let url = body.url else { throw AtlasError.missingField("url") }
        let checkedURL = try await checkURL(url, tenant: tenant)
        let description = try Self.checkDescription(body.description ?? nil)
        let eventTypes = try Self.checkEventTypes(body.eventTypes ?? ["*"], field: surface.eventTypesField,
                                                  flavour: owner.flavour, limits: limits)
        guard try await store.count(tenant: tenant) < limits.endpointsPerTenantMax else {
            throw AtlasError.conflict(code: "ENDPOINT_LIMIT_REACHED",
                                      "At most \(limits.endpointsPerTenantMax) webhook endpoints per merchant and mode")
        }
        let secret = signer.newSecret()
        let now = clock.now()
        let id = TypedID.generate(prefix: .webhook, clock: clock).rawValue
        let sealed = try sealer.seal(secret, endpointId: id)
        let record = try await writeShowingSecretOnce(context, status: 201, now: now) { tx in
            try await store.create(id: id, owner: owner, url: checkedURL.description, description: description,
                                   eventTypes: eventTypes, sealedSecret: sealed, tenant: tenant, now: now, in: tx)
        }
        return .json(surface.json(record, now, .shown(secret)), status: 201)
    }

    func list(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        try await surface.page(request, scope(context), store, clock.now())
    }

    func get(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let record = try await existing(request, scope(context))
        return .json(surface.json(record, clock.now(), .absent))
    }

    func update(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let scope = scope(context)
        let id = try Self.endpointId(request)
        let body = try surface.decode(request)
        var changes = EndpointChanges()
        if let url = body.url { changes.url = try await checkURL(url, tenant: scope.tenant).description }
        if let description = body.description { changes.description = .some(try Self.checkDescription(description)) }
        if let types = body.eventTypes {
            // An endpoint keeps its flavour: its types are checked against it.
            let flavour = try await existing(request, scope).flavour
            changes.eventTypes = try Self.checkEventTypes(types, field: surface.eventTypesField, flavour: flavour, limits: limits)
        }
        let now = clock.now()
        guard let record = try await store.update(id, changes, scope: scope, now: now) else { throw Self.notFound(id) }
        return .json(surface.json(record, now, .absent))
    }

    func delete(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let scope = scope(context)
        let id = try Self.endpointId(request)
        guard try await store.delete(id, scope: scope) else { throw Self.notFound(id) }
        return surface.deleted(id)
    }

    func rotateSecret(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let scope = scope(context)
        let id = try Self.endpointId(request)
        let secret = signer.newSecret()
        let sealed = try sealer.seal(secret, endpointId: id)
        let now = clock.now()
        let record = try await writeShowingSecretOnce(context, status: 200, now: now) { tx in
            guard let record = try await store.rotate(id, newSealedSecret: sealed,
                                                      previousExpiresAt: now.addingTimeInterval(limits.previousSecretSeconds),
                                                      scope: scope, now: now, in: tx) else { throw Self.notFound(id) }
            return record
        }
        return .json(surface.json(record, now, .shown(secret)), status: 200)
    }

    /// Runs a write that mints a secret, and completes the request's Idempotency-Key in the same transaction
    /// with the answer REDACTED (`"secret": null`). WHY: the key's stored answer is kept 24 h and replayed to
    /// whoever repeats the request; the secret must be shown once, not stored in clear beside the key. A replay
    /// therefore answers the same status and endpoint with `secret: null` (rotate again to get a new one).
    private func writeShowingSecretOnce(_ context: AuthenticatedContext, status: Int, now: Date,
                                        _ write: @escaping @Sendable (any SQLExecutor) async throws -> EndpointRecord)
        async throws -> EndpointRecord {
        let scope = context.idempotency
        let surface = surface
        let record = try await store.database.transaction { tx in
            let record = try await write(tx)
            if let scope {
                let redacted = StoredResponse(Response.json(surface.json(record, now, .redacted), status: status))
                guard try await scope.complete(redacted, in: tx) else {
                    // Only a deferred key can lose; these routes claim first. Roll back rather than answer twice.
                    throw AtlasError.conflict(code: "REQUEST_IN_PROGRESS", "A request with this Idempotency-Key is still in progress")
                }
            }
            return record
        }
        scope?.committed()
        return record
    }

    func setEnabled(_ enabled: Bool, _ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let scope = scope(context)
        let id = try Self.endpointId(request)
        let now = clock.now()
        guard let record = try await store.setStatus(id, enabled ? .enabled : .disabled,
                                                     reason: enabled ? nil : "disabled by the merchant",
                                                     scope: scope, now: now) else { throw Self.notFound(id) }
        if enabled { wake.signal() }
        return .json(surface.json(record, now, .absent))
    }

    func sendTest(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let scope = scope(context)
        let record = try await existing(request, scope)
        guard record.status == .enabled else {
            throw AtlasError.conflict(code: "ENDPOINT_DISABLED", "The webhook endpoint is disabled; enable it first")
        }
        guard let sent = try await deliveries.testEvent(endpointId: record.id, tenant: scope.tenant, now: clock.now()) else {
            throw Self.notFound(record.id)
        }
        wake.signal()
        return .json(surface.testQueued(sent.eventId, sent.deliveryId), status: 202)
    }

    private func scope(_ context: AuthenticatedContext) -> EndpointScope {
        EndpointScope(tenant: context.tenant, flavours: surface.flavours)
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

    /// `["*"]` (or no filter) means every type of the flavour, stored as the empty list. A type the flavour
    /// never receives (an accounting type on a Commerce endpoint) is refused rather than silently never sent.
    static func checkEventTypes(_ types: [String], field: String = "eventTypes", flavour: WebhookFlavour = .commerce,
                                limits: EndpointLimits) throws(AtlasError) -> [String] {
        guard !types.isEmpty, types.count <= limits.eventTypesMax else {
            throw .invalidField(field, "\(field) must list 1 to \(limits.eventTypesMax) event types", constraint: "size")
        }
        if types == ["*"] { return [] }
        if let foreign = types.first(where: { !flavour.accepts($0) && $0 != "*" }) {
            throw .invalidField(field, "\(foreign.prefix(100)) is not an event of \(flavour.rawValue) webhooks", constraint: "enum",
                                value: .string(String(foreign.prefix(100))))
        }
        for type in types {
            let valid = type.utf8.count <= 100 && !type.isEmpty && type.split(separator: ".", omittingEmptySubsequences: false)
                .allSatisfy { part in !part.isEmpty && part.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 95 } }
            guard valid else {
                throw .invalidField(field, "\(field) entries are dotted lower-case names such as transaction.settled, or [\"*\"]",
                                    constraint: "format", value: .string(String(type.prefix(100))))
            }
        }
        return Array(Set(types)).sorted()
    }

    private func existing(_ request: Request, _ scope: EndpointScope) async throws -> EndpointRecord {
        let id = try Self.endpointId(request)
        guard let record = try await store.get(id, scope: scope) else { throw Self.notFound(id) }
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
