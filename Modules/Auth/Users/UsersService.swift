import Kernel

/// Users credentials. (Stub: filled in by its own change; keeps AuthModule's wiring stable.)
final class UsersService: Sendable {
    let database: any Database
    let crypto: any CryptoService
    let clock: any WallClock
    let logger: Logger

    init(database: any Database, crypto: any CryptoService, clock: any WallClock, logger: Logger) {
        self.database = database
        self.crypto = crypto
        self.clock = clock
        self.logger = logger
    }

    /// Migrations in namespace "auth" (versions reserved per part: OAuth 10–19, Users 20–29, Devices 30–39).
    static var migrations: [Migration] { [] }

    /// Bearer-token verifiers this part contributes, with the surfaces they serve.
    func verifiers() -> [(any BearerTokenVerifier, [APISurface])] { [] }

    func routeGroups(module: AuthModule) -> [RouteGroup] { [] }

    /// Background work (key rotation, purges) until cancelled.
    func runBackgroundTasks() async {}
}
