import AccessContract
import IdempotencyContract
import Kernel

/// The `/functions/v1` payments API (spec §11) on one screen: payment sessions and their confirmation,
/// capture and cancellation, and checkout sessions. Errors use the payments envelope (`PaymentsErrorRenderer`).
struct PaymentsRoutes {
    let services: ModuleServices
    let acquirers: ModeAcquirers
    /// Past it an authorization is no longer captured (`PaymentConfirmation.capture`).
    let authorizationWindowSeconds: Int
    let checkoutPageBaseURL: String

    var group: RouteGroup {
        let access = services.accessGuard.require(AccessRequirement(surface: .payments))
        let keyed: [any Middleware] = [access, services.idempotencyMiddleware]
        let sessions = PaymentSessions(services: services)
        let confirmation = PaymentConfirmation(services: services, acquirers: acquirers,
                                               authorizationWindowSeconds: authorizationWindowSeconds)
        let checkout = CheckoutSessions(services: services, pageBaseURL: checkoutPageBaseURL)
        var group = RouteGroup(prefix: "/functions/v1", surface: .payments)
        group.schemas = PaymentsRouteSchemas.components
        group.post("/create-session", middleware: keyed, schema: PaymentsRouteSchemas.createSession) { (request, context: AuthenticatedContext) in
            try await sessions.create(request, context: context)
        }
        group.get("/sessions/:id", middleware: [access], schema: PaymentsRouteSchemas.getSession) { (request, context: AuthenticatedContext) in
            try await sessions.get(request.pathParameter("id") ?? "", tenant: context.tenant)
        }
        group.patch("/sessions/:id", middleware: [access], schema: PaymentsRouteSchemas.updateSession) { (request, context: AuthenticatedContext) in
            try await sessions.update(request.pathParameter("id") ?? "", request: request, context: context)
        }
        group.post("/sessions/:id/confirm", middleware: keyed, schema: PaymentsRouteSchemas.confirm) { (request, context: AuthenticatedContext) in
            try await confirmation.confirm(request.pathParameter("id") ?? "", request: request, context: context)
        }
        group.post("/sessions/:id/capture", middleware: keyed, schema: PaymentsRouteSchemas.capture) { (request, context: AuthenticatedContext) in
            try await confirmation.capture(request.pathParameter("id") ?? "", request: request, context: context)
        }
        group.post("/sessions/:id/cancel", middleware: keyed, schema: PaymentsRouteSchemas.cancel) { (request, context: AuthenticatedContext) in
            try await confirmation.cancel(request.pathParameter("id") ?? "", context: context)
        }
        group.post("/checkout-sessions", middleware: keyed, schema: PaymentsRouteSchemas.createCheckout) { (request, context: AuthenticatedContext) in
            try await checkout.create(request, context: context)
        }
        group.get("/checkout-sessions/:id", middleware: [access], schema: PaymentsRouteSchemas.getCheckout) { (request, context: AuthenticatedContext) in
            try await checkout.get(request.pathParameter("id") ?? "", tenant: context.tenant)
        }
        return group
    }
}
