import AtlasTestSupport
import Auth
import Bootstrap
import EventLog
import Foundation
import HTTPClient
import Kernel
import Postgres
@testable import Webhooks

/// Auth and Webhooks over a fresh database, a manual clock, and an outgoing client that may reach loopback
/// (the receiver) unless told otherwise. The delivery worker is driven step by step (`deliverDue`) or run.
struct WebhooksFixture {
    let application: AtlasApplication
    let module: WebhooksModule
    let http: HTTPClient
    let clock: ManualWallClock
    let client: InProcessClient
    let merchantId: String
    let otherMerchantId: String
    let organizationId: String

    var database: PostgresDatabase { application.database }
    var auth: AuthService { application.auth }

    static let loopback = [CIDR("127.0.0.0/8")!, CIDR("::1")!]

    static func make(allowLoopback: Bool = true, timeoutSeconds: Double = 15,
                     configure: (inout WebhooksSettings) -> Void = { _ in }) async throws -> WebhooksFixture {
        let clock = ManualWallClock(Date())
        var configuration = HTTPClientConfiguration(allowedNetworks: allowLoopback ? loopback : [])
        configuration.limits.requestTimeoutSeconds = timeoutSeconds
        let http = try HTTPClient(configuration: configuration)
        var settings = WebhooksSettings()
        settings.delivery.pollIntervalMilliseconds = 50
        configure(&settings)
        let module = WebhooksModule(settings: settings, client: http)
        var eventLimits = EventLogService.Limits()
        eventLimits.pollIntervalMilliseconds = 100
        eventLimits.leaseAcquireIntervalMilliseconds = 100
        eventLimits.errorBackoffMilliseconds = 100
        let application = AtlasBootstrap.assemble(modules: [AuthModule(), module],
                                                  database: try await TestDatabase.fresh(migrations: []), clock: clock,
                                                  logger: TestLogger.quiet, eventLogLimits: eventLimits)
        try await application.migrate()
        let organization = try await application.auth.createOrganization(name: "Webhooks org")
        let merchant = try await application.auth.createMerchant(organizationId: organization, name: "Hook shop")
        let other = try await application.auth.createMerchant(organizationId: organization, name: "Other shop")
        return WebhooksFixture(application: application, module: module, http: http, clock: clock,
                               client: InProcessClient(application.router()), merchantId: merchant, otherMerchantId: other,
                               organizationId: organization)
    }

    func key(mode: Mode = .test, merchant: String? = nil, scopes: Set<String>? = nil) async throws -> String {
        try await auth.createSecretKey(merchantId: merchant ?? merchantId, mode: mode, scopes: scopes).secret
    }

    /// An accounting user's access token (`POST /api/v1/auth/login`), of `organization` (default the fixture's).
    func userToken(_ role: UserRole, organization: String? = nil, merchant: String? = nil) async throws -> String {
        let email = "\(role.rawValue).\(UUID().uuidString.prefix(8).lowercased())@example.com"
        _ = try await auth.createUser(organizationId: organization ?? organizationId, email: email, password: Self.password,
                                      role: role, merchantId: merchant ?? merchantId)
        let response = await client.send(.post, "/api/v1/auth/login", json: ["email": .string(email), "password": .string(Self.password)])
        guard let token = response.bodyJSON?["tokens"]?["access_token"]?.stringValue else {
            throw HarnessError("login failed: \(response.status) \(response.bodyText)")
        }
        return token
    }

    static let password = "correct horse battery staple 42"

    /// `key` is a Commerce API key (`X-Api-Key`) or, starting with "Bearer ", an Authorization header value.
    func send(_ method: HTTPMethod, _ path: String, key: String?, json: JSONValue? = nil,
              idempotencyKey: String? = nil) async -> Response {
        var headers = HTTPHeaders()
        if let key, key.hasPrefix("Bearer ") { headers.add("Authorization", key) } else if let key { headers.add("X-Api-Key", key) }
        if let idempotencyKey { headers.add("Idempotency-Key", idempotencyKey) }
        if let json { return await client.send(method, path, headers: headers, json: json) }
        return await client.send(method, path, headers: headers)
    }

    /// Creates an endpoint and returns its id and the secret shown once.
    func createEndpoint(url: String, key: String, eventTypes: [String]? = nil) async throws -> (id: String, secret: String) {
        var body: [String: JSONValue] = ["url": .string(url), "description": "test receiver"]
        if let eventTypes { body["eventTypes"] = .array(eventTypes.map(JSONValue.string)) }
        let response = await send(.post, "/v1/webhook-endpoints", key: key, json: .object(body))
        guard response.status == 201, let json = response.bodyJSON, let id = json["id"]?.stringValue,
              let secret = json["secret"]?.stringValue else {
            throw HarnessError("create failed: \(response.status) \(response.bodyText)")
        }
        return (id, secret)
    }

    func event(_ type: String = "transaction.settled", resource: String = "txn_1", mode: Mode = .test,
               merchant: String? = nil, payload: JSONValue = ["amount": 1250, "currency": "NZD"]) -> DomainEvent {
        DomainEvent(type: type, tenant: TenantContext(merchantId: merchant ?? merchantId, mode: mode), resourceId: resource,
                    occurredAt: clock.now(), payload: payload)
    }

    /// Appends to the real event log, in one transaction.
    func append(_ events: [DomainEvent]) async throws {
        let writer = application.services.eventLog
        try await database.transaction { tx in try await writer.append(events, in: tx) }
        writer.appendCommitted()
    }

    /// Runs the fan-out consumer over `events` directly (positions made up; the log is not involved).
    func fanOut(_ events: [DomainEvent]) async throws {
        let consumer = module.eventConsumers(services: application.services)[0]
        try await consumer.handle(events.enumerated().map { index, event in
            LoggedEvent(position: EventPosition(writerTransactionId: 1, sequence: Int64(index + 1)), event: event)
        })
    }

    var worker: DeliveryWorker { module.deliveryWorker(services: application.services, client: http) }

    /// One worker step at the manual clock's now: claims what is due and sends it; returns how many.
    @discardableResult
    func deliverDue(_ worker: DeliveryWorker) async throws -> Int {
        let (claimed, start) = try await worker.claimBatch()
        await worker.sendAndRecord(start)
        return claimed
    }

    func deliveryRow(endpointId: String) async throws -> Row? {
        try await database.queryFirst("""
            SELECT status, attempts, next_attempt_at, last_status_code, last_error FROM webhooks_deliveries
            WHERE endpoint_id = \(endpointId) ORDER BY created_at DESC LIMIT 1
            """)
    }

    /// Runs the background services (event log consumers, delivery worker) while `body` runs, then stops them.
    func running<T>(_ body: () async throws -> T) async throws -> T {
        let services = application.startBackgroundServices()
        do {
            let value = try await body()
            await services.stop()
            return value
        } catch {
            await services.stop()
            throw error
        }
    }

    func close() { application.close() }
}
