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
    func replay(_ request: Request, _ context: RequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let id = try EndpointHandlers.endpointId(request)
        let body = try request.decodeJSON(ReplayBody.self)
        var selection = DeliveryStore.ReplaySelection()
        let chosen = [body.eventId != nil, body.deadLettered != nil, body.since != nil || body.until != nil].filter { $0 }.count
        guard chosen == 1 else {
            throw AtlasError.invalidField("eventId", "Give exactly one of eventId, deadLettered or since/until",
                                          constraint: "oneOf")
        }
        if let eventId = body.eventId {
            guard TypedID(rawValue: eventId).matches(.event) else {
                throw AtlasError.invalidField("eventId", "eventId must be an evt_ id", constraint: "format")
            }
            selection.eventId = eventId
        }
        if let dead = body.deadLettered {
            guard dead else { throw AtlasError.invalidField("deadLettered", "deadLettered must be true", constraint: "enum") }
            selection.deadOnly = true
        }
        if body.since != nil || body.until != nil {
            guard let sinceText = body.since else { throw AtlasError.missingField("since") }
            guard let since = Timestamp.parseISO8601(sinceText) else {
                throw AtlasError.invalidField("since", "since must be an RFC 3339 timestamp", constraint: "format")
            }
            selection.since = since
            if let untilText = body.until {
                guard let until = Timestamp.parseISO8601(untilText) else {
                    throw AtlasError.invalidField("until", "until must be an RFC 3339 timestamp", constraint: "format")
                }
                guard until > since else { throw AtlasError.invalidField("until", "until must be after since", constraint: "range") }
                selection.until = until
            }
        }
        guard try await endpoints.get(id, tenant: tenant) != nil else { throw EndpointHandlers.notFound(id) }
        let count = try await store.replay(endpointId: id, selection, tenant: tenant, now: clock.now())
        if selection.eventId != nil && count == 0 {
            throw AtlasError.notFound("No replayable delivery of that event to this endpoint")
        }
        wake.signal()
        return .json(["replayed": .int(Int64(count))], status: 202)
    }

    /// `GET /v1/webhook-endpoints/:id/deliveries?status=&limit=&cursor=`.
    func list(_ request: Request, _ context: RequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let id = try EndpointHandlers.endpointId(request)
        let query = request.queryParameters
        let limit = try WebhooksPaging.limit(query["limit"])
        let status = query["status"]
        if let status, !["pending", "delivering", "succeeded", "dead"].contains(status) {
            throw AtlasError.invalidField("status", "status must be pending, delivering, succeeded or dead", constraint: "enum")
        }
        let cursor = query["cursor"]
        if let cursor, !(cursor.hasPrefix("whd_") && cursor.count == 36 && cursor.dropFirst(4).allSatisfy(\.isHexDigit)) {
            throw AtlasError.invalidField("cursor", "cursor is not valid", constraint: "format")
        }
        guard try await endpoints.get(id, tenant: tenant) != nil else { throw EndpointHandlers.notFound(id) }
        let rows = try await store.deliveries(endpointId: id, status: status, tenant: tenant, beforeId: cursor, limit: limit)
        let items = try rows.map { row in
            let deliveryId: String = try row.decode("id")
            let json: JSONValue = [
                "id": .string(deliveryId), "endpointId": .string(id), "eventId": .string(try row.decode("event_id")),
                "eventType": .string(try row.decode("event_type")), "status": .string(try row.decode("status")),
                "attempts": .int(try row.decode("attempts")),
                "nextAttemptAt": .string(Timestamp.iso8601(try row.decode("next_attempt_at"))),
                "lastStatusCode": try row.decode("last_status_code", as: Int64?.self).map(JSONValue.int) ?? .null,
                "lastError": try row.decode("last_error", as: String?.self).map(JSONValue.string) ?? .null,
                "createdAt": .string(Timestamp.iso8601(try row.decode("created_at"))),
            ]
            return (id: deliveryId, json: json)
        }
        return WebhooksPaging.page(items, limit: limit)
    }
}
