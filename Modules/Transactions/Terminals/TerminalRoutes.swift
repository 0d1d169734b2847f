import AccessContract
import IdempotencyContract
import Kernel

/// The `/v1/device` routes (spec §2 rows 1, 8–10) and the device channel. Scopes: health needs `terminal:read`;
/// the commands and the channel `terminal:write` (declared by Auth). The three POSTs take an Idempotency-Key.
struct TerminalRoutes: Sendable {
    let services: ModuleServices
    let terminals: TerminalsService
    let channel: TerminalChannelSession

    func group() -> RouteGroup {
        typealias Schemas = TerminalRouteSchemas
        var group = RouteGroup(prefix: "/v1", surface: .commerce)
        group.schemas = Schemas.components
        let scope = { (name: String) in
            services.accessGuard.require(AccessRequirement(surface: .commerce, scopes: [name]))
        }
        let write: [any Middleware] = [scope("terminal:write"), services.idempotencyMiddleware]
        group.get("/device/health", middleware: [scope("terminal:read")], schema: Schemas.health, terminals.health)
        group.post("/device/display", middleware: write, schema: Schemas.display, terminals.display)
        group.post("/device/input", middleware: write, schema: Schemas.input, terminals.input)
        group.post("/device/print", middleware: write, schema: Schemas.print, terminals.print)
        group.webSocket("/device/channel", middleware: [scope("terminal:write"), TerminalBoundCredential()],
                        schema: Schemas.channel) { request, context, connection in
            await channel.run(request, context, connection)
        }
        return group
    }
}

/// What the module builds once: the channels connected to this instance are shared by the routes, the channel
/// and `/v1/session`.
struct Terminals: Sendable {
    let service: TerminalsService
    let routes: TerminalRoutes

    init(services: ModuleServices, limits: TerminalLimits, channels: TerminalChannels, relay: TerminalRelay) {
        let store = TerminalStore(database: services.database, eventLog: services.eventLog)
        service = TerminalsService(channels: channels, relay: relay, store: store, limits: limits, clock: services.clock,
                                   sandboxBootedAt: services.clock.now())
        routes = TerminalRoutes(services: services, terminals: service,
                                channel: TerminalChannelSession(channels: channels, transitions: TerminalTransitions(),
                                                                store: store, relay: relay, limits: limits, services: services))
    }
}
