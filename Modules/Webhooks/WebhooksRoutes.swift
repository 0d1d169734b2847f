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
        var group = RouteGroup(prefix: "/v1", errorRenderer: SurfaceErrors.renderer(for: .commerce))
        let manage = [services.accessGuard.require(AccessRequirement(surface: .commerce, scopes: ["webhooks:manage"]))]
        let write = manage + [services.idempotencyMiddleware]

        group.post("/webhook-endpoints", middleware: write, endpoints.create)
        group.get("/webhook-endpoints", middleware: manage, endpoints.list)
        group.get("/webhook-endpoints/:id", middleware: manage, endpoints.get)
        group.patch("/webhook-endpoints/:id", middleware: manage, endpoints.update)
        group.delete("/webhook-endpoints/:id", middleware: manage, endpoints.delete)
        group.post("/webhook-endpoints/:id/rotate-secret", middleware: write, endpoints.rotateSecret)
        group.post("/webhook-endpoints/:id/enable", middleware: write) { try await endpoints.setEnabled(true, $0, $1) }
        group.post("/webhook-endpoints/:id/disable", middleware: write) { try await endpoints.setEnabled(false, $0, $1) }
        group.post("/webhook-endpoints/:id/test", middleware: write, endpoints.sendTest)

        group.post("/webhook-endpoints/:id/replay", middleware: write, deliveries.replay)
        group.get("/webhook-endpoints/:id/deliveries", middleware: manage, deliveries.list)
        group.get("/webhook-endpoints/:id/attempts", middleware: manage, attempts.forEndpoint)
        group.get("/webhook-events/:id/attempts", middleware: manage, attempts.forEvent)
        return group
    }
}
