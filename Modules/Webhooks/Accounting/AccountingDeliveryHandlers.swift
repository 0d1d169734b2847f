import Foundation
import Kernel

/// Replay, deliveries and the attempt log on the Accounting surface: Commerce's operations (`DeliveryHandlers`,
/// `AttemptHandlers`, same rules and limits) in the accounting body: snake_case fields and
/// `{items, total, page, page_size, has_next}` pages.
struct AccountingDeliveryHandlers: Sendable {
    let deliveries: DeliveryHandlers
    var endpoints: EndpointStore { deliveries.endpoints }
    var store: DeliveryStore { deliveries.store }

    private struct ReplayBody: Decodable, Sendable {
        var eventId: String?
        var deadLettered: Bool?
        var since: String?
        var until: String?
        enum CodingKeys: String, CodingKey {
            case eventId = "event_id", deadLettered = "dead_lettered", since, until
        }
    }

    /// `POST /api/v1/webhooks/:id/replay` with exactly one of `event_id`, `dead_lettered: true` or `since`
    /// (with an optional `until`). 202 `{"replayed": n}`.
    func replay(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let scope = Self.scope(context)
        let id = try EndpointHandlers.endpointId(request)
        let body = try request.decodeJSON(ReplayBody.self)
        let selection = try DeliveryHandlers.selection(
            .init(eventId: body.eventId, deadLettered: body.deadLettered, since: body.since, until: body.until),
            names: .accounting)
        return try await deliveries.replay(selection, endpointId: id, scope: scope)
    }

    /// `GET /api/v1/webhooks/:id/deliveries?status=&page=&page_size=` (`status=dead`: the dead letter).
    func list(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let scope = Self.scope(context)
        let id = try EndpointHandlers.endpointId(request)
        let query = request.queryParameters
        let status = try DeliveryHandlers.status(query["status"])
        let paging = try AccountingPage(query)
        guard try await endpoints.get(id, scope: scope) != nil else { throw EndpointHandlers.notFound(id) }
        let total = try await store.deliveryCount(endpointId: id, status: status, tenant: scope.tenant)
        let rows = try await store.deliveries(endpointId: id, status: status, tenant: scope.tenant, beforeId: nil,
                                              offset: paging.offset, limit: paging.pageSize)
        return paging.response(try rows.map { try DeliveryHandlers.json($0, endpointId: id).snakeCasedKeys() }, total: total)
    }

    /// `GET /api/v1/webhooks/:id/attempts?event_id=&page=&page_size=`
    func endpointAttempts(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let scope = Self.scope(context)
        let id = try EndpointHandlers.endpointId(request)
        let query = request.queryParameters
        let eventId = query["event_id"]
        if let eventId, !TypedID(rawValue: eventId).matches(.event) {
            throw AtlasError.invalidField("event_id", "event_id must be an evt_ id", constraint: "format")
        }
        let paging = try AccountingPage(query)
        guard try await endpoints.get(id, scope: scope) != nil else { throw EndpointHandlers.notFound(id) }
        return try await attempts(endpointId: id, eventId: eventId, tenant: scope.tenant, paging: paging)
    }

    /// `GET /api/v1/webhook-events/:id/attempts?page=&page_size=`: one event across the caller's endpoints.
    func eventAttempts(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let scope = Self.scope(context)
        let eventId = request.pathParameter("id") ?? ""
        guard TypedID(rawValue: eventId).matches(.event) else {
            throw AtlasError.notFound("No webhook event \(String(eventId.prefix(64)))")
        }
        let paging = try AccountingPage(request.queryParameters)
        return try await attempts(endpointId: nil, eventId: eventId, tenant: scope.tenant, paging: paging)
    }

    private func attempts(endpointId: String?, eventId: String?, tenant: TenantContext,
                          paging: AccountingPage) async throws -> Response {
        let total = try await store.attemptCount(endpointId: endpointId, eventId: eventId, tenant: tenant)
        let rows = try await store.attempts(endpointId: endpointId, eventId: eventId, tenant: tenant, beforeId: nil,
                                            offset: paging.offset, limit: paging.pageSize)
        return paging.response(try rows.map { try AttemptHandlers.json($0).snakeCasedKeys() }, total: total)
    }

    /// Accounting endpoints only, of the caller's merchant and mode.
    private static func scope(_ context: AuthenticatedContext) -> EndpointScope {
        EndpointScope(tenant: context.tenant, flavours: [.accounting])
    }
}

/// `page` (from 1) and `page_size` (1–100, default 20) of an accounting list, and its answer.
struct AccountingPage: Sendable {
    static let pageSizeDefault = 20
    static let pageSizeMax = 100

    let page: Int
    let pageSize: Int
    var offset: Int { (page - 1) * pageSize }

    init(_ query: [String: String]) throws(AtlasError) {
        page = try QueryParameters.limit(query["page"], fallback: 1, max: Int(Int32.max), field: "page")
        pageSize = try QueryParameters.limit(query["page_size"], fallback: Self.pageSizeDefault, max: Self.pageSizeMax,
                                             field: "page_size")
    }

    /// `items` may hold one row more than the page (the stores read one ahead); it is cut here.
    func response(_ items: [JSONValue], total: Int64) -> Response {
        .json(["items": .array(Array(items.prefix(pageSize))), "total": .int(total), "page": .int(Int64(page)),
               "page_size": .int(Int64(pageSize)), "has_next": .bool(Int64(offset + pageSize) < total)])
    }
}

extension JSONValue {
    /// The object with its top-level keys in snake_case (`eventId` → `event_id`): the Accounting spelling of
    /// a Commerce representation.
    func snakeCasedKeys() -> JSONValue {
        guard case .object(let fields) = self else { return self }
        var renamed: [String: JSONValue] = [:]
        for (key, value) in fields {
            var snake = ""
            for character in key {
                if character.isUppercase {
                    snake += "_" + character.lowercased()
                } else {
                    snake.append(character)
                }
            }
            renamed[snake] = value
        }
        return .object(renamed)
    }
}
