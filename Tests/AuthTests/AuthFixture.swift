import Crypto
import EventLog
import Foundation
import Kernel
import Postgres
import Synchronization
import AtlasTestSupport
@testable import Auth

/// One Auth module over a fresh database, a router with Auth's routes plus probe routes, and a
/// merchant with live and test keys.
struct AuthFixture {
    let database: PostgresDatabase
    let clock: ManualWallClock
    let auth: AuthModule
    let client: InProcessClient
    let merchantId: String
    let liveKey: String
    let testKey: String
    let executions: Counter

    final class Counter: Sendable {
        private let value = Mutex(0)
        func increment() { value.withLock { $0 += 1 } }
        var current: Int { value.withLock { $0 } }
    }

    static func make(database existing: PostgresDatabase? = nil) async throws -> AuthFixture {
        let clock = ManualWallClock(Date())
        let database: PostgresDatabase
        if let existing { database = existing } else { database = try await TestDatabase.fresh(migrations: AuthSchema.migrations) }
        let logger = Logger(label: "test", minimumLevel: .error)
        let auth = AuthModule(database: database, crypto: OpenSSLCryptoService(), clock: clock, logger: logger)
        let organization = try await auth.createOrganization(name: "Org")
        let merchantId = try await auth.createMerchant(organizationId: organization, name: "Shop")
        let live = try await auth.createSecretKey(merchantId: merchantId, mode: .live)
        let test = try await auth.createSecretKey(merchantId: merchantId, mode: .test)
        let executions = Counter()
        let router = Router(groups: auth.routeGroups(services: services(auth, database, clock, logger))
            + [probeGroup(auth, executions: executions)])
        return AuthFixture(database: database, clock: clock, auth: auth, client: InProcessClient(router),
                           merchantId: merchantId, liveKey: live.secret, testKey: test.secret, executions: executions)
    }

    static func services(_ auth: AuthModule, _ database: PostgresDatabase, _ clock: ManualWallClock, _ logger: Logger)
        -> ModuleServices {
        ModuleServices(database: database, clock: clock, crypto: OpenSSLCryptoService(),
                       eventLog: EventLogAppendStore(), logger: logger, accessGuard: auth.accessGuard,
                       idempotency: auth.idempotencyStore)
    }

    /// Routes that echo the principal, on each surface, and a slow idempotent POST that counts executions.
    static func probeGroup(_ auth: AuthModule, executions: Counter) -> RouteGroup {
        var group = RouteGroup(prefix: "/v1/probe", errorRenderer: SurfaceErrors.renderer(for: .commerce))
        let echo: Handler = { _, context in
            let principal = context.principal!
            return .json(["merchantId": .string(principal.tenant.merchantId), "mode": .string(principal.tenant.mode.rawValue),
                          "kind": .string(principal.kind.rawValue), "fingerprint": .string(principal.credentialFingerprint)])
        }
        group.get("/read", middleware: [auth.accessGuard.require(.init(surface: .commerce, scopes: ["transactions:read"]))], echo)
        group.get("/ws", middleware: [auth.accessGuard.require(.init(surface: .commerce, allowsQueryKey: true))], echo)
        group.get("/narrow", middleware: [auth.accessGuard.require(.init(surface: .commerce, scopes: ["webhooks:manage"]))], echo)
        let idempotency = IdempotencyMiddleware(store: auth.idempotencyStore, hash: { OpenSSLCryptoService().sha256($0) })
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
