/// A feature module is a plugin: it declares its migrations, the contracts it provides, its routes,
/// event consumers, background services and admin commands, and the bootstrap wires a list of modules.
/// It depends on Kernel and `…Contract` targets only.
public protocol FeatureModule: Sendable {
    /// The module name; also its migration namespace.
    var name: String { get }
    var migrations: [Migration] { get }
    /// Registers the contracts this module implements (e.g. Auth's `AccessGuard`), built over the platform
    /// services. Called once per assembly, in module order, before any routes are built; `contracts` already
    /// holds what the bootstrap registers first (e.g. AccessContract's catalog of declared scopes and roles).
    func provideContracts(_ platform: PlatformServices, into contracts: inout ContractRegistry)
    func routeGroups(services: ModuleServices) -> [RouteGroup]
    /// The module's reactions to events of other modules (or its own), run by the event log.
    func eventConsumers(services: ModuleServices) -> [EventConsumer]
    /// Loops to run beside the HTTP server while `atlas serve` runs.
    func backgroundServices(services: ModuleServices) -> [any BackgroundService]
    /// `atlas admin` commands, in the order `atlas help` lists them.
    var adminCommands: [AdminCommand] { get }
}

extension FeatureModule {
    public var migrations: [Migration] { [] }
    public func provideContracts(_ platform: PlatformServices, into contracts: inout ContractRegistry) {}
    public func routeGroups(services: ModuleServices) -> [RouteGroup] { [] }
    public func eventConsumers(services: ModuleServices) -> [EventConsumer] { [] }
    public func backgroundServices(services: ModuleServices) -> [any BackgroundService] { [] }
    public var adminCommands: [AdminCommand] { [] }
}
