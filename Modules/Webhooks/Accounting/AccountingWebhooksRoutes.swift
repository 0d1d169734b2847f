import AccessContract
import IdempotencyContract
import Kernel

/// The Accounting `/api/v1/webhooks` surface (spec B rule 29; the same operations as Commerce's endpoints API),
/// for signed-in users of role admin or owner (rule 27: "company management needs admin or owner"), through the
/// accounting access guard (Auth's user tokens), answering in the accounting error body. A group of its own
/// so unknown paths under it answer in that format too.
struct AccountingWebhooksRoutes: Sendable {
    static let prefix = "/api/v1/webhooks"
    static let roles: Set<String> = ["owner", "admin"]

    static let eventsPrefix = "/api/v1/webhook-events"

    let services: ModuleServices
    let endpoints: EndpointHandlers
    let deliveries: AccountingDeliveryHandlers

    /// The endpoints with their deliveries and attempts, and one event's attempts across endpoints.
    func groups() -> [RouteGroup] {
        let manage = [services.accessGuard.require(AccessRequirement(surface: .accounting, roles: Self.roles))]
        var events = RouteGroup(prefix: Self.eventsPrefix, surface: .accounting)
        events.get("/:id/attempts", middleware: manage, schema: AccountingWebhooksRouteSchemas.eventAttempts,
                   deliveries.eventAttempts)
        return [group(manage: manage), events]
    }

    private func group(manage: [any Middleware]) -> RouteGroup {
        var group = RouteGroup(prefix: Self.prefix, surface: .accounting)
        let write = manage + [services.idempotencyMiddleware]
        group.schemas = AccountingWebhooksRouteSchemas.components
        typealias Schemas = AccountingWebhooksRouteSchemas

        group.post("/", middleware: write, schema: Schemas.create, endpoints.create)
        group.get("/", middleware: manage, schema: Schemas.list, endpoints.list)
        group.get("/:id", middleware: manage, schema: Schemas.get, endpoints.get)
        group.patch("/:id", middleware: manage, schema: Schemas.update, endpoints.update)
        group.delete("/:id", middleware: manage, schema: Schemas.delete, endpoints.delete)
        group.post("/:id/rotate-secret", middleware: write, schema: Schemas.rotateSecret, endpoints.rotateSecret)
        group.post("/:id/enable", middleware: write, schema: Schemas.enable) { try await endpoints.setEnabled(true, $0, $1) }
        group.post("/:id/disable", middleware: write, schema: Schemas.disable) { try await endpoints.setEnabled(false, $0, $1) }
        group.post("/:id/test", middleware: write, schema: Schemas.sendTest, endpoints.sendTest)
        group.post("/:id/replay", middleware: write, schema: Schemas.replay, deliveries.replay)
        group.get("/:id/deliveries", middleware: manage, schema: Schemas.deliveries, deliveries.list)
        group.get("/:id/attempts", middleware: manage, schema: Schemas.endpointAttempts, deliveries.endpointAttempts)
        return group
    }
}

/// The `/api/v1/webhooks` contract (docs/webhooks.md, "Accounting"), for the generated Accounting document.
enum AccountingWebhooksRouteSchemas {
    typealias Schema = JSONSchema
    typealias Shared = WebhooksRouteSchemas

    static let eventTypes = Schema.array(of: .string(pattern: "^(\\*|[a-z0-9_]+(\\.[a-z0-9_]+)*)$", lengthMax: 100),
                                         itemsMax: Shared.limits.eventTypesMax)
        .described("Of " + WebhookFlavour.accountingEventTypes.sorted().joined(separator: ", ") + "; or [\"*\"] for all")
    static let companyId = Schema.string(format: "uuid").nullable()
        .described("Only this company's events; null: every company of the caller's merchant and organization")
    static let idPath = Shared.idPath
    static let notFound = ResponseSchema.error(404, "No such webhook endpoint in this organization")
    static let tags = ["Webhooks"]

    static let create = RouteSchema(
        "Create a webhook endpoint", operationId: "createAccountingWebhook",
        description: "The response carries the signing secret (whsec_…) once; an Idempotency-Key replay answers it as null.",
        tags: tags,
        body: .json(.object([.required("url", Shared.url), .optional("event_types", eventTypes),
                             .optional("description", Shared.description), .optional("company_id", companyId)]),
                    example: ["url": "https://books.example.com/atlas/webhooks", "event_types": ["invoice.paid"]]),
        responses: [.created(.ref("AccountingWebhookWithSecret")), .error(409, "Too many endpoints for this merchant")])
    static let list = RouteSchema(
        "Webhook endpoints, newest first", operationId: "listAccountingWebhooks", tags: tags,
        query: [.query("page", .integer(minimum: 1), "Default 1"),
                .query("page_size", .integer(minimum: 1, maximum: 100), "Default 20")],
        responses: [.ok(.openObject([
            .required("items", .array(of: .ref("AccountingWebhook"))), .required("total", .integer(minimum: 0)),
            .required("page", .integer(minimum: 1)), .required("page_size", .integer(minimum: 1)), .required("has_next", .boolean),
        ]))])
    static let get = RouteSchema("One webhook endpoint", operationId: "getAccountingWebhook", tags: tags, path: [idPath],
                                 responses: [.ok(.ref("AccountingWebhook")), notFound])
    static let update = RouteSchema(
        "Change a webhook endpoint's URL, event types or description", operationId: "updateAccountingWebhook", tags: tags,
        path: [idPath],
        body: .json(.object([.optional("url", Shared.url), .optional("event_types", eventTypes),
                             .optional("description", Shared.description)])),
        responses: [.ok(.ref("AccountingWebhook")), notFound])
    static let delete = RouteSchema(
        "Delete a webhook endpoint with its deliveries and attempt log", operationId: "deleteAccountingWebhook", tags: tags,
        path: [idPath], responses: [.noContent(), notFound])
    static let rotateSecret = RouteSchema(
        "Rotate the signing secret", operationId: "rotateAccountingWebhookSecret",
        description: "The previous secret keeps signing (a second comma-separated X-Atlas-Signature value) for 24 hours.",
        tags: tags, path: [idPath], responses: [.ok(.ref("AccountingWebhookWithSecret")), notFound])
    static let enable = RouteSchema("Enable a webhook endpoint", operationId: "enableAccountingWebhook", tags: tags,
                                    path: [idPath], responses: [.ok(.ref("AccountingWebhook")), notFound])
    static let disable = RouteSchema("Disable a webhook endpoint", operationId: "disableAccountingWebhook", tags: tags,
                                     path: [idPath], responses: [.ok(.ref("AccountingWebhook")), notFound])
    static let sendTest = RouteSchema(
        "Send a webhook.test event to this endpoint only", operationId: "sendAccountingWebhookTest", tags: tags,
        path: [idPath],
        responses: [
            ResponseSchema(status: 202, description: "Queued", body: .object([
                .required("event_id", Shared.eventId), .required("delivery_id", .string()),
                .required("type", .enumeration(["webhook.test"])),
            ])),
            notFound, .error(409, "The endpoint is disabled: enable it first"),
        ])

    static let replay = RouteSchema(
        "Deliver again (same event id, attempts from 1)", operationId: "replayAccountingWebhookDeliveries",
        description: "Exactly one of event_id, dead_lettered (true) or since (with an optional until, by delivery creation).",
        tags: tags, path: [idPath],
        body: .json(.object([
            .optional("event_id", Shared.eventId), .optional("dead_lettered", .boolean),
            .optional("since", Shared.dateTime), .optional("until", Shared.dateTime),
        ]), example: ["dead_lettered": true]),
        responses: [ResponseSchema(status: 202, description: "Replayed",
                                   body: .object([.required("replayed", .integer(minimum: 0))])),
                    .error(404, "No such webhook endpoint, or no replayable delivery of that event")])
    static let pageQuery: [RouteSchema.Parameter] = [
        .query("page", .integer(minimum: 1), "Default 1"),
        .query("page_size", .integer(minimum: 1, maximum: Int64(AccountingPage.pageSizeMax)), "Default 20"),
    ]
    static func page(of component: String) -> Schema {
        .openObject([
            .required("items", .array(of: .ref(component))), .required("total", .integer(minimum: 0)),
            .required("page", .integer(minimum: 1)), .required("page_size", .integer(minimum: 1)), .required("has_next", .boolean),
        ])
    }
    static let deliveries = RouteSchema(
        "Deliveries of an endpoint, newest first (status=dead is the dead letter)",
        operationId: "listAccountingWebhookDeliveries", tags: tags, path: [idPath],
        query: pageQuery + [.query("status", .enumeration(["pending", "delivering", "succeeded", "dead"]))],
        responses: [.ok(page(of: "AccountingWebhookDelivery")), notFound])
    static let endpointAttempts = RouteSchema(
        "Attempt log of an endpoint, newest first (kept 30 days)", operationId: "listAccountingWebhookAttempts",
        tags: tags, path: [idPath], query: pageQuery + [.query("event_id", Shared.eventId)],
        responses: [.ok(page(of: "AccountingWebhookAttempt")), notFound])
    static let eventAttempts = RouteSchema(
        "Attempt log of one event across the caller's accounting endpoints", operationId: "listAccountingWebhookEventAttempts",
        tags: tags, path: [.path("id", Shared.eventId)], query: pageQuery,
        responses: [.ok(page(of: "AccountingWebhookAttempt")), .error(404, "Not an event id")])

    static let properties: [Schema.Property] = [
        .required("id", Shared.endpointId), .required("object", .enumeration(["webhook_endpoint"])), .required("url", .string()),
        .required("description", Schema.string().nullable()), .required("event_types", .array(of: .string())),
        .required("company_id", Schema.string().nullable()),
        .required("status", .enumeration(["enabled", "disabled"])), .required("disabled_reason", Schema.string().nullable()),
        .required("created_at", Shared.dateTime), .required("updated_at", Shared.dateTime),
        .optional("previous_secret_expires_at", Shared.dateTime),
    ]

    static let components: [String: Schema] = [
        "AccountingWebhookDelivery": .openObject([
            .required("id", .string()), .required("endpoint_id", Shared.endpointId), .required("event_id", Shared.eventId),
            .required("event_type", .string()), .required("status", .enumeration(["pending", "delivering", "succeeded", "dead"])),
            .required("attempts", .integer(minimum: 0)), .required("next_attempt_at", Shared.dateTime),
            .required("last_status_code", Schema.integer().nullable()), .required("last_error", Schema.string().nullable()),
            .required("created_at", Shared.dateTime),
        ]),
        "AccountingWebhookAttempt": .openObject([
            .required("id", .string()), .required("delivery_id", .string()), .required("endpoint_id", Shared.endpointId),
            .required("event_id", Shared.eventId), .required("attempt", .integer(minimum: 1)),
            .required("started_at", Shared.dateTime), .required("latency_ms", .integer(minimum: 0)),
            .required("status_code", Schema.integer().nullable()), .required("error", Schema.string().nullable()),
            .required("response_body", Schema.string().nullable()),
            .required("outcome", .enumeration(["succeeded", "retrying", "dead", "endpoint_disabled"])),
        ]),
        "AccountingWebhook": .openObject(properties),
        "AccountingWebhookWithSecret": .openObject(properties + [
            .required("secret", Schema.string(pattern: "^whsec_").nullable()
                .described("Shown once; null when the answer is an Idempotency-Key replay")),
        ]),
    ]
}
