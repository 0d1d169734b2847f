import AccessContract
import IdempotencyContract
import Kernel

/// The Commerce `/v1` webhook surface, scope `webhooks:manage` on every route; POSTs pass through the
/// idempotency middleware after the access guard. Handlers live in Endpoints/, Delivery/ and Attempts/.
struct WebhooksRoutes: Sendable {
    let services: ModuleServices
    let endpoints: EndpointHandlers
    let deliveries: DeliveryHandlers
    let attempts: AttemptHandlers

    func group() -> RouteGroup {
        var group = RouteGroup(prefix: "/v1", surface: .commerce)
        let manage = [services.accessGuard.require(AccessRequirement(surface: .commerce, scopes: ["webhooks:manage"]))]
        let write = manage + [services.idempotencyMiddleware]

        group.schemas = WebhooksRouteSchemas.components
        typealias Schemas = WebhooksRouteSchemas

        group.post("/webhook-endpoints", middleware: write, schema: Schemas.create, endpoints.create)
        group.get("/webhook-endpoints", middleware: manage, schema: Schemas.list, endpoints.list)
        group.get("/webhook-endpoints/:id", middleware: manage, schema: Schemas.get, endpoints.get)
        group.patch("/webhook-endpoints/:id", middleware: manage, schema: Schemas.update, endpoints.update)
        group.delete("/webhook-endpoints/:id", middleware: manage, schema: Schemas.delete, endpoints.delete)
        group.post("/webhook-endpoints/:id/rotate-secret", middleware: write, schema: Schemas.rotateSecret,
                   endpoints.rotateSecret)
        group.post("/webhook-endpoints/:id/enable", middleware: write, schema: Schemas.enable) {
            try await endpoints.setEnabled(true, $0, $1)
        }
        group.post("/webhook-endpoints/:id/disable", middleware: write, schema: Schemas.disable) {
            try await endpoints.setEnabled(false, $0, $1)
        }
        group.post("/webhook-endpoints/:id/test", middleware: write, schema: Schemas.sendTest, endpoints.sendTest)

        group.post("/webhook-endpoints/:id/replay", middleware: write, schema: Schemas.replay, deliveries.replay)
        group.get("/webhook-endpoints/:id/deliveries", middleware: manage, schema: Schemas.deliveries, deliveries.list)
        group.get("/webhook-endpoints/:id/attempts", middleware: manage, schema: Schemas.endpointAttempts,
                  attempts.forEndpoint)
        group.get("/webhook-events/:id/attempts", middleware: manage, schema: Schemas.eventAttempts, attempts.forEvent)
        return group
    }
}
