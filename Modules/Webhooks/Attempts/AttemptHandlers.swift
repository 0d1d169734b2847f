import Foundation
import Kernel

/// The attempt log (kept 30 days): per endpoint, `GET /v1/webhook-endpoints/:id/attempts[?eventId=]`, and
/// per event across the caller's endpoints, `GET /v1/webhook-events/:id/attempts`.
struct AttemptHandlers: Sendable {
    let endpoints: EndpointStore
    let store: DeliveryStore

    func forEndpoint(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let id = try EndpointHandlers.endpointId(request)
        let query = request.queryParameters
        let eventId = query["eventId"]
        if let eventId, !TypedID(rawValue: eventId).matches(.event) {
            throw AtlasError.invalidField("eventId", "eventId must be an evt_ id", constraint: "format")
        }
        guard try await endpoints.get(id, scope: .commerce(tenant)) != nil else { throw EndpointHandlers.notFound(id) }
        return try await page(endpointId: id, eventId: eventId, tenant: tenant, query: query)
    }

    func forEvent(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let eventId = request.pathParameter("id") ?? ""
        guard TypedID(rawValue: eventId).matches(.event) else { throw AtlasError.notFound("No webhook event \(String(eventId.prefix(64)))") }
        return try await page(endpointId: nil, eventId: eventId, tenant: tenant, query: request.queryParameters)
    }

    private func page(endpointId: String?, eventId: String?, tenant: TenantContext,
                      query: [String: String]) async throws -> Response {
        let limit = try WebhooksPaging.limit(query["limit"])
        var before: Int64?
        if let cursor = query["cursor"] {
            guard let value = Int64(cursor), value > 0 else {
                throw AtlasError.invalidField("cursor", "cursor is not valid", constraint: "format")
            }
            before = value
        }
        let rows = try await store.attempts(endpointId: endpointId, eventId: eventId, tenant: tenant, beforeId: before,
                                            limit: limit)
        let items = try rows.map { row in
            let id: Int64 = try row.decode("id")
            return (id: String(id), json: try Self.json(row))
        }
        return WebhooksPaging.page(items, limit: limit)
    }

    /// One attempt log row as the API and `atlas admin webhooks attempts` show it.
    static func json(_ row: Row) throws -> JSONValue {
        let id: Int64 = try row.decode("id")
        return [
            "id": .string(String(id)), "deliveryId": .string(try row.decode("delivery_id")),
            "endpointId": .string(try row.decode("endpoint_id")), "eventId": .string(try row.decode("event_id")),
            "attempt": .int(try row.decode("attempt")),
            "startedAt": .string(Timestamp.iso8601(try row.decode("started_at"), fractionalSeconds: true)),
            "latencyMs": .int(try row.decode("latency_ms")),
            "statusCode": try row.decode("status_code", as: Int64?.self).map(JSONValue.int) ?? .null,
            "error": try row.decode("error", as: String?.self).map(JSONValue.string) ?? .null,
            "responseBody": try row.decode("response_body", as: String?.self).map(JSONValue.string) ?? .null,
            "outcome": .string(try row.decode("outcome")),
        ]
    }
}
