import Kernel

/// The `/v1` webhook contract of every route in `WebhooksRoutes` (docs/webhooks.md), for the generated
/// Commerce OpenAPI document. Credentials, rate-limit headers and Idempotency-Key come from the middleware.
enum WebhooksRouteSchemas {
    typealias Schema = JSONSchema

    static let dateTime = Schema.string(format: "date-time")
    static let endpointId = Schema.string(pattern: "^wh_[0-9A-HJKMNP-TV-Z]{26}$").example("wh_01JQABC1230000000000000000")
    static let eventId = Schema.string(pattern: "^evt_[0-9A-HJKMNP-TV-Z]{26}$").example("evt_01JQXYZW000100000000000000")
    static let limits = EndpointLimits()
    static let eventTypes = Schema.array(of: .string(pattern: "^(\\*|[a-z0-9_]+(\\.[a-z0-9_]+)*)$", lengthMax: 100),
                                         itemsMax: limits.eventTypesMax)
        .described("Event types to receive, or [\"*\"] for all")
    static let url = Schema.string(lengthMax: OutboundURL.lengthMax)
        .described("http or https (https in live mode); never a loopback, private, link-local or metadata address")
    static let description = Schema.string(lengthMax: 500).nullable()
    static let format = Schema.enumeration(["commerce", "payments"])
        .described("commerce (Atlas-* headers, default) or payments (the /functions/v1 format: x-atlas-signature, 5 attempts)")
    static let idPath = RouteSchema.Parameter.path("id", endpointId)
    static let pageQuery: [RouteSchema.Parameter] = [
        .query("limit", .integer(minimum: 1, maximum: Int64(WebhooksPaging.limitMax)), "Default \(WebhooksPaging.limitDefault)"),
        .query("cursor", .string(), "nextCursor of the previous page; omit on the first"),
    ]
    static let notFound = ResponseSchema.error(404, "No such webhook endpoint for this merchant and mode")

    static func page(of item: String) -> Schema {
        .openObject([.required("data", .array(of: .ref(item))), .required("hasMore", .boolean),
                     .required("nextCursor", Schema.string().nullable())])
    }

    static let create = RouteSchema(
        "Create a webhook endpoint", operationId: "createWebhookEndpoint",
        description: "The response carries the signing secret (whsec_…); it is never shown again.",
        tags: ["Webhooks"],
        body: .json(.object([.required("url", url), .optional("eventTypes", eventTypes), .optional("description", description),
                             .optional("format", format)]),
                    example: ["url": "https://example.com/atlas/webhooks", "eventTypes": ["transaction.settled"]]),
        responses: [.created(.ref("WebhookEndpointWithSecret")),
                    .error(409, "ENDPOINT_LIMIT_REACHED: too many endpoints for this merchant and mode")])
    static let list = RouteSchema(
        "Webhook endpoints, newest first", operationId: "listWebhookEndpoints", tags: ["Webhooks"], query: pageQuery,
        responses: [.ok(page(of: "WebhookEndpoint"))])
    static let get = RouteSchema(
        "One webhook endpoint", operationId: "getWebhookEndpoint", tags: ["Webhooks"], path: [idPath],
        responses: [.ok(.ref("WebhookEndpoint")), notFound])
    static let update = RouteSchema(
        "Change a webhook endpoint's URL, event types or description", operationId: "updateWebhookEndpoint",
        tags: ["Webhooks"], path: [idPath],
        body: .json(.object([.optional("url", url), .optional("eventTypes", eventTypes), .optional("description", description)])),
        responses: [.ok(.ref("WebhookEndpoint")), notFound])
    static let delete = RouteSchema(
        "Delete a webhook endpoint with its deliveries and attempt log", operationId: "deleteWebhookEndpoint",
        tags: ["Webhooks"], path: [idPath],
        responses: [.ok(.object([.required("id", endpointId), .required("object", .enumeration(["webhook_endpoint"])),
                                 .required("deleted", .boolean)])), notFound])
    static let rotateSecret = RouteSchema(
        "Rotate the signing secret", operationId: "rotateWebhookSecret",
        description: "The previous secret keeps signing (a second v1 signature) for 24 hours.",
        tags: ["Webhooks"], path: [idPath], responses: [.ok(.ref("WebhookEndpointWithSecret")), notFound])
    static let enable = RouteSchema(
        "Enable a webhook endpoint", operationId: "enableWebhookEndpoint", tags: ["Webhooks"], path: [idPath],
        responses: [.ok(.ref("WebhookEndpoint")), notFound])
    static let disable = RouteSchema(
        "Disable a webhook endpoint", operationId: "disableWebhookEndpoint", tags: ["Webhooks"], path: [idPath],
        responses: [.ok(.ref("WebhookEndpoint")), notFound])
    static let sendTest = RouteSchema(
        "Send a webhook.test event to this endpoint only", operationId: "sendWebhookTestEvent", tags: ["Webhooks"],
        path: [idPath],
        responses: [
            ResponseSchema(status: 202, description: "Queued", body: .object([
                .required("eventId", eventId), .required("deliveryId", .string()),
                .required("type", .enumeration(["webhook.test"])),
            ])),
            notFound, .error(409, "ENDPOINT_DISABLED: enable the endpoint first"),
        ])
    static let replay = RouteSchema(
        "Deliver again (same event id, attempts from 1)", operationId: "replayWebhookDeliveries",
        description: "Exactly one of eventId, deadLettered (true) or since (with an optional until, by delivery creation).",
        tags: ["Webhooks"], path: [idPath],
        body: .json(.object([
            .optional("eventId", eventId), .optional("deadLettered", .boolean),
            .optional("since", dateTime), .optional("until", dateTime),
        ]), example: ["deadLettered": true]),
        responses: [ResponseSchema(status: 202, description: "Replayed",
                                   body: .object([.required("replayed", .integer(minimum: 0))])),
                    .error(404, "No such endpoint, or no replayable delivery of that event")])
    static let deliveries = RouteSchema(
        "Deliveries of an endpoint (status=dead is the dead letter)", operationId: "listWebhookDeliveries",
        tags: ["Webhooks"], path: [idPath],
        query: pageQuery + [.query("status", .enumeration(["pending", "delivering", "succeeded", "dead"]))],
        responses: [.ok(page(of: "WebhookDelivery")), notFound])
    static let endpointAttempts = RouteSchema(
        "Attempt log of an endpoint (kept 30 days)", operationId: "listWebhookEndpointAttempts", tags: ["Webhooks"],
        path: [idPath], query: pageQuery + [.query("eventId", eventId)],
        responses: [.ok(page(of: "WebhookAttempt")), notFound])
    static let eventAttempts = RouteSchema(
        "Attempt log of one event across this merchant's endpoints", operationId: "listWebhookEventAttempts",
        tags: ["Webhooks"], path: [.path("id", eventId)], query: pageQuery,
        responses: [.ok(page(of: "WebhookAttempt")), .error(404, "Not an event id")])

    static let endpointProperties: [Schema.Property] = [
        .required("id", endpointId), .required("object", .enumeration(["webhook_endpoint"])), .required("url", .string()),
        .required("description", Schema.string().nullable()), .required("eventTypes", .array(of: .string())),
        .required("status", .enumeration(["enabled", "disabled"])), .required("disabledReason", Schema.string().nullable()),
        .required("livemode", .boolean), .required("format", format), .required("createdAt", dateTime),
        .required("updatedAt", dateTime),
        .optional("previousSecretExpiresAt", dateTime),
    ]

    static let components: [String: Schema] = [
        "WebhookEndpoint": .openObject(endpointProperties),
        "WebhookEndpointWithSecret": .openObject(endpointProperties + [
            .required("secret", Schema.string(pattern: "^whsec_").nullable()
                .described("Shown once; null when the answer is an Idempotency-Key replay (rotate to get a new one)")),
        ]),
        "WebhookDelivery": .openObject([
            .required("id", .string()), .required("endpointId", endpointId), .required("eventId", eventId),
            .required("eventType", .string()), .required("status", .enumeration(["pending", "delivering", "succeeded", "dead"])),
            .required("attempts", .integer(minimum: 0)), .required("nextAttemptAt", dateTime),
            .required("lastStatusCode", Schema.integer().nullable()), .required("lastError", Schema.string().nullable()),
            .required("createdAt", dateTime),
        ]),
        "WebhookAttempt": .openObject([
            .required("id", .string()), .required("deliveryId", .string()), .required("endpointId", endpointId),
            .required("eventId", eventId), .required("attempt", .integer(minimum: 1)), .required("startedAt", dateTime),
            .required("latencyMs", .integer(minimum: 0)), .required("statusCode", Schema.integer().nullable()),
            .required("error", Schema.string().nullable()), .required("responseBody", Schema.string().nullable()),
            .required("outcome", .enumeration(["succeeded", "retrying", "dead", "endpoint_disabled"])),
        ]),
    ]
}
