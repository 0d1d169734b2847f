import Foundation
import Kernel

/// What a request body may set on an endpoint, whatever the surface's field names.
struct EndpointInput: Sendable {
    var url: String?
    /// Absent: unchanged; `.some(nil)`: cleared.
    var description: String??
    var eventTypes: [String]?
    /// Commerce only: `"commerce"` (default) or `"payments"` (the §11 format).
    var format: String?
    /// Accounting only: the one company whose events the endpoint receives.
    var companyId: String?
}

/// How one API presents the endpoints it manages: its flavours, body, field names, representation and pages.
struct EndpointSurface: Sendable {
    let flavours: [WebhookFlavour]
    let eventTypesField: String
    let decode: @Sendable (Request) throws -> EndpointInput
    /// The flavour and owner of a new endpoint (from the caller and the body).
    let owner: @Sendable (Principal, EndpointInput) throws -> EndpointOwner
    let json: @Sendable (EndpointRecord, Date, EndpointRecord.SecretField) -> JSONValue
    let page: @Sendable (Request, EndpointScope, EndpointStore, Date) async throws -> Response
    let deleted: @Sendable (String) -> Response
    let testQueued: @Sendable (_ eventId: String, _ deliveryId: String) -> JSONValue
}

/// `description`: absent, null (cleared) or a string.
private func decodeDescription<Key: CodingKey>(_ container: KeyedDecodingContainer<Key>, _ key: Key) throws -> String?? {
    guard container.contains(key) else { return nil }
    return .some(try container.decodeNil(forKey: key) ? nil : try container.decode(String.self, forKey: key))
}

extension EndpointSurface {
    /// Commerce `/v1/webhook-endpoints`: camelCase, `{data, hasMore, nextCursor}` pages, commerce and payments
    /// endpoints (the §11 payments API has no registration API of its own).
    static let commerce = EndpointSurface(
        flavours: WebhookFlavour.commerceAPI, eventTypesField: "eventTypes",
        decode: { request in try request.decodeJSON(CommerceBody.self).input },
        owner: { _, input in
            switch input.format ?? "commerce" {
            case "commerce": return EndpointOwner(flavour: .commerce)
            case "payments": return EndpointOwner(flavour: .payments)
            default: throw AtlasError.invalidField("format", "format must be commerce or payments", constraint: "enum")
            }
        },
        json: { record, now, secret in record.json(now: now, secret: secret) },
        page: { request, scope, store, now in
            let query = request.queryParameters
            let limit = try WebhooksPaging.limit(query["limit"])
            let cursor = try WebhooksPaging.idCursor(query["cursor"], prefix: .webhook)
            let records = try await store.list(scope: scope, beforeId: cursor, limit: limit)
            return WebhooksPaging.page(records.map { (id: $0.id, json: $0.json(now: now)) }, limit: limit)
        },
        deleted: { id in .json(["id": .string(id), "object": "webhook_endpoint", "deleted": true]) },
        testQueued: { eventId, deliveryId in
            ["eventId": .string(eventId), "deliveryId": .string(deliveryId), "type": "webhook.test"]
        })

    /// Accounting `/api/v1/webhooks`: snake_case, `{items, total, page, page_size, has_next}` pages, 204 on
    /// delete; endpoints of the caller's organization, optionally of one company (`company_id`).
    static let accounting = EndpointSurface(
        flavours: [.accounting], eventTypesField: "event_types",
        decode: { request in try request.decodeJSON(AccountingBody.self).input },
        owner: { principal, input in
            guard let organizationId = principal.organizationId else { throw AtlasError.unauthorized("Not authenticated") }
            var companyId: String?
            if let text = input.companyId {
                guard let uuid = UUID(uuidString: text) else {
                    throw AtlasError.invalidField("company_id", "company_id must be a company id (UUID)", constraint: "format")
                }
                companyId = uuid.uuidString.lowercased()
            }
            return EndpointOwner(flavour: .accounting, organizationId: organizationId, companyId: companyId)
        },
        json: { record, now, secret in record.accountingJSON(now: now, secret: secret) },
        page: { request, scope, store, now in
            let paging = try AccountingPage(request.queryParameters)
            // A tenant has at most `endpointsPerTenantMax` (16) endpoints, far below this read's limit: one read,
            // paged here.
            let all = try await store.list(scope: scope, beforeId: nil, limit: WebhooksPaging.limitMax)
            let items = all.dropFirst(paging.offset).prefix(paging.pageSize).map { $0.accountingJSON(now: now) }
            return paging.response(Array(items), total: Int64(all.count))
        },
        deleted: { _ in Response(status: 204, body: []) },
        testQueued: { eventId, deliveryId in
            ["event_id": .string(eventId), "delivery_id": .string(deliveryId), "type": "webhook.test"]
        })

    private struct CommerceBody: Decodable {
        let input: EndpointInput
        private enum CodingKeys: String, CodingKey { case url, description, eventTypes, format }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            input = EndpointInput(url: try container.decodeIfPresent(String.self, forKey: .url),
                                  description: try decodeDescription(container, .description),
                                  eventTypes: try container.decodeIfPresent([String].self, forKey: .eventTypes),
                                  format: try container.decodeIfPresent(String.self, forKey: .format))
        }
    }

    private struct AccountingBody: Decodable {
        let input: EndpointInput
        private enum CodingKeys: String, CodingKey {
            case url, description
            case eventTypes = "event_types"
            case companyId = "company_id"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            input = EndpointInput(url: try container.decodeIfPresent(String.self, forKey: .url),
                                  description: try decodeDescription(container, .description),
                                  eventTypes: try container.decodeIfPresent([String].self, forKey: .eventTypes),
                                  companyId: try container.decodeIfPresent(String.self, forKey: .companyId))
        }
    }
}

extension EndpointRecord {
    /// The Accounting representation (snake_case, like the rest of `/api/v1`).
    func accountingJSON(now: Date, secret field: SecretField = .absent) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "object": "webhook_endpoint", "url": .string(url),
            "description": description.map(JSONValue.string) ?? .null,
            "event_types": .array(eventTypes.isEmpty ? ["*"] : eventTypes.map(JSONValue.string)),
            "company_id": companyId.map(JSONValue.string) ?? .null,
            "status": .string(status.rawValue), "disabled_reason": disabledReason.map(JSONValue.string) ?? .null,
            "created_at": .string(Timestamp.iso8601(createdAt)), "updated_at": .string(Timestamp.iso8601(updatedAt)),
        ]
        addSecret(field, to: &object, now: now, expiresKey: "previous_secret_expires_at")
        return .object(object)
    }
}
