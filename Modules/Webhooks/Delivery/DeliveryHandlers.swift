import Foundation
import Kernel

/// Replay and the delivery list (the dead letter is `?status=dead`) of one endpoint.
struct DeliveryHandlers: Sendable {
    let endpoints: EndpointStore
    let store: DeliveryStore
    let clock: any WallClock
    let wake: WakeSignal

    struct ReplayBody: Decodable, Sendable {
        var eventId: String?
        var deadLettered: Bool?
        var since: String?
        var until: String?
    }

    /// `POST /v1/webhook-endpoints/:id/replay` with exactly one of `{"eventId"}`, `{"deadLettered": true}` or
    /// `{"since"[, "until"]}` (RFC 3339; by when the delivery was created). 202 `{"replayed": n}`.
    func replay(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let scope = EndpointScope.commerce(context.tenant)
        let id = try EndpointHandlers.endpointId(request)
        let body = try request.decodeJSON(ReplayBody.self)
        let selection = try Self.selection(ReplayRequest(eventId: body.eventId, deadLettered: body.deadLettered,
                                                         since: body.since, until: body.until), names: .commerce)
        return try await replay(selection, endpointId: id, scope: scope)
    }

    /// Replays `selection` of one endpoint in `scope` (either surface).
    func replay(_ selection: DeliveryStore.ReplaySelection, endpointId id: String, scope: EndpointScope) async throws -> Response {
        guard try await endpoints.get(id, scope: scope) != nil else { throw EndpointHandlers.notFound(id) }
        let count = try await store.replay(endpointId: id, selection, tenant: scope.tenant, now: clock.now())
        if selection.eventId != nil && count == 0 {
            throw AtlasError.notFound("No replayable delivery of that event to this endpoint")
        }
        wake.signal()
        return .json(["replayed": .int(Int64(count))], status: 202)
    }

    /// A replay body, whatever the surface's field names.
    struct ReplayRequest: Sendable {
        var eventId: String?
        var deadLettered: Bool?
        var since: String?
        var until: String?
    }

    /// The field names a surface's replay body uses (for its 400 answers).
    struct ReplayFieldNames: Sendable {
        let eventId: String, deadLettered: String, since: String, until: String
        static let commerce = ReplayFieldNames(eventId: "eventId", deadLettered: "deadLettered", since: "since", until: "until")
        static let accounting = ReplayFieldNames(eventId: "event_id", deadLettered: "dead_lettered", since: "since",
                                                 until: "until")
    }

    /// Exactly one selection: one event, the dead letter, or a time range.
    static func selection(_ body: ReplayRequest, names: ReplayFieldNames) throws -> DeliveryStore.ReplaySelection {
        var selection = DeliveryStore.ReplaySelection()
        let chosen = [body.eventId != nil, body.deadLettered != nil, body.since != nil || body.until != nil].filter { $0 }.count
        guard chosen == 1 else {
            throw AtlasError.invalidField(names.eventId, "Give exactly one of \(names.eventId), \(names.deadLettered) or since/until",
                                          constraint: "oneOf")
        }
        if let eventId = body.eventId {
            guard TypedID(rawValue: eventId).matches(.event) else {
                throw AtlasError.invalidField(names.eventId, "\(names.eventId) must be an evt_ id", constraint: "format")
            }
            selection.eventId = eventId
        }
        if let dead = body.deadLettered {
            guard dead else {
                throw AtlasError.invalidField(names.deadLettered, "\(names.deadLettered) must be true", constraint: "enum")
            }
            selection.deadOnly = true
        }
        if body.since != nil || body.until != nil {
            guard let sinceText = body.since else { throw AtlasError.missingField(names.since) }
            guard let since = Timestamp.parseISO8601(sinceText) else {
                throw AtlasError.invalidField(names.since, "since must be an RFC 3339 timestamp", constraint: "format")
            }
            selection.since = since
            if let untilText = body.until {
                guard let until = Timestamp.parseISO8601(untilText) else {
                    throw AtlasError.invalidField(names.until, "until must be an RFC 3339 timestamp", constraint: "format")
                }
                guard until > since else { throw AtlasError.invalidField(names.until, "until must be after since", constraint: "range") }
                selection.until = until
            }
        }
        return selection
    }

    /// `GET /v1/webhook-endpoints/:id/deliveries?status=&limit=&cursor=`.
    func list(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let id = try EndpointHandlers.endpointId(request)
        let query = request.queryParameters
        let limit = try WebhooksPaging.limit(query["limit"])
        let status = try Self.status(query["status"])
        let cursor = query["cursor"]
        if let cursor, !(cursor.hasPrefix("whd_") && cursor.count == 36 && cursor.dropFirst(4).allSatisfy(\.isHexDigit)) {
            throw AtlasError.invalidField("cursor", "cursor is not valid", constraint: "format")
        }
        guard try await endpoints.get(id, scope: .commerce(tenant)) != nil else { throw EndpointHandlers.notFound(id) }
        let rows = try await store.deliveries(endpointId: id, status: status, tenant: tenant, beforeId: cursor, limit: limit)
        let items = try rows.map { row in (id: try row.decode("id", as: String.self), json: try Self.json(row, endpointId: id)) }
        return WebhooksPaging.page(items, limit: limit)
    }

    /// The `status` filter of a delivery list.
    static func status(_ text: String?) throws(AtlasError) -> String? {
        guard let text else { return nil }
        guard ["pending", "delivering", "succeeded", "dead"].contains(text) else {
            throw .invalidField("status", "status must be pending, delivering, succeeded or dead", constraint: "enum")
        }
        return text
    }

    /// One delivery as the Commerce API shows it (the Accounting API snake-cases the keys).
    static func json(_ row: Row, endpointId: String) throws -> JSONValue {
        [
            "id": .string(try row.decode("id")), "endpointId": .string(endpointId), "eventId": .string(try row.decode("event_id")),
            "eventType": .string(try row.decode("event_type")), "status": .string(try row.decode("status")),
            "attempts": .int(try row.decode("attempts")),
            "nextAttemptAt": .string(Timestamp.iso8601(try row.decode("next_attempt_at"))),
            "lastStatusCode": try row.decode("last_status_code", as: Int64?.self).map(JSONValue.int) ?? .null,
            "lastError": try row.decode("last_error", as: String?.self).map(JSONValue.string) ?? .null,
            "createdAt": .string(Timestamp.iso8601(try row.decode("created_at"))),
        ]
    }
}
