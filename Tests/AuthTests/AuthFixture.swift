import AccessContract
import AtlasTestSupport
import Bootstrap
import Crypto
import Foundation
import Idempotency
import IdempotencyContract
import Kernel
import Postgres
import Synchronization
@testable import Auth

/// One Auth module over a fresh database, a router with Auth's routes plus probe routes, and a
/// merchant with live and test keys.
struct AuthFixture {
    let database: PostgresDatabase
    let clock: ManualWallClock
    let auth: AuthService
    let client: InProcessClient
    let merchantId: String
    let liveKey: String
    let testKey: String
    let executions: Counter
    let idempotency: IdempotencyService

    final class Counter: Sendable {
        private let value = Mutex(0)
        func increment() { value.withLock { $0 += 1 } }
        var current: Int { value.withLock { $0 } }
    }

    static func make(database existing: PostgresDatabase? = nil) async throws -> AuthFixture {
        let clock = ManualWallClock(Date())
        let database: PostgresDatabase
        if let existing { database = existing } else { database = try await TestDatabase.fresh(migrations: AtlasApplication.platformMigrations + AuthSchema.migrations)
        }
        let application = assemble(database: database, clock: clock)
        let auth = application.auth
        let organization = try await auth.createOrganization(name: "Org")
        let merchantId = try await auth.createMerchant(organizationId: organization, name: "Shop")
        let live = try await auth.createSecretKey(merchantId: merchantId, mode: .live)
        let test = try await auth.createSecretKey(merchantId: merchantId, mode: .test)
        let executions = Counter()
        let router = application.router(adding: [probeGroup(auth, services: application.services, executions: executions)])
        return AuthFixture(database: database, clock: clock, auth: auth, client: InProcessClient(router),
                           merchantId: merchantId, liveKey: live.secret, testKey: test.secret, executions: executions,
                           idempotency: application.idempotency)
    }

    /// Every product module, as the app wires them, so Auth accepts the product's scopes and roles. The
    /// Auth fixtures migrate only the Auth tables they use, so other modules' routes are there but unused.
    static func assemble(database: PostgresDatabase, clock: ManualWallClock, crypto: any CryptoService = OpenSSLCryptoService(),
                         overrides: (inout ContractRegistry) -> Void = { _ in }) -> AtlasApplication {
        AtlasBootstrap.assemble(modules: AtlasModules.all(), database: database, clock: clock, crypto: crypto,
                                logger: TestLogger.quiet, overrides: overrides)
    }

    /// Routes that echo the principal, on each surface, and a slow idempotent POST that counts executions.
    static func probeGroup(_ auth: AuthService, services: ModuleServices, executions: Counter) -> RouteGroup {
        var group = RouteGroup(prefix: "/v1/probe", errorRenderer: SurfaceErrors.renderer(for: .commerce))
        let echo: Handler = { _, context in
            let principal = context.principal!
            return .json(["merchantId": .string(principal.tenant.merchantId), "mode": .string(principal.tenant.mode.rawValue),
                          "kind": .string(principal.kind.rawValue), "fingerprint": .string(principal.credentialFingerprint)])
        }
        group.get("/read", middleware: [auth.accessGuard.require(.init(surface: .commerce, scopes: ["transactions:read"]))], echo)
        group.webSocket("/ws", middleware: [auth.accessGuard.require(.init(surface: .commerce))]) { request, context, connection in
            let principal = context.principal!
            try? connection.send(json: ["merchantId": .string(principal.tenant.merchantId), "target": .string(request.target)])
            connection.close(code: .normal, reason: "")
        }
        group.get("/narrow", middleware: [auth.accessGuard.require(.init(surface: .commerce, scopes: ["webhooks:manage"]))], echo)
        let idempotency = services.idempotencyMiddleware
        group.post("/charge", middleware: [auth.accessGuard.require(.init(surface: .commerce, scopes: ["transactions:write"])),
                                           idempotency]) { request, _ in
            executions.increment()
            try await Task.sleep(for: .milliseconds(100))
            let token = Encoding.hex(OpenSSLCryptoService().randomBytes(count: 8))
            return .json(["charge": .string(token), "body": .string(String(decoding: request.body, as: UTF8.self))], status: 201)
        }
        return group
    }

    func get(_ path: String, key: String?, extra: HTTPHeaders = HTTPHeaders()) async -> Response {
        var headers = extra
        if let key { headers.add("X-Api-Key", key) }
        return await client.send(.get, path, headers: headers)
    }
}
