public import Auth
public import EventLog
public import Foundation
public import HTTPClient
public import HTTPServer
public import Kernel
import Postgres
public import Transactions
public import Webhooks

/// Every setting the process takes from environment variables (documented in README.md), read here and
/// nowhere else: modules get theirs as typed settings (`AuthSettings`, `TransactionsSettings`), so a
/// variable's name, default and validation live in one place. Every limit has a name and a default; a
/// malformed value stops start-up with a message naming the variable. (`PATH` is only consulted by
/// `LocalCluster` to find PostgreSQL's programs, as a shell would; it configures nothing.)
public struct AtlasConfiguration: Sendable {
    public var databaseURL: String?
    public var host: String = "0.0.0.0"
    public var port: Int = 8080
    public var eventLoopCount: Int = ProcessInfo.processInfo.activeProcessorCount
    public var logLevel: Logger.Level = .info
    public var accessLog: Bool = true
    public var bodyBytesMax: Int = 1 << 20
    public var headerBytesMax: Int = 32 << 10
    public var connectionsMax: Int = 10_000
    public var headerReadTimeoutSeconds: Int = 10
    public var idleTimeoutSeconds: Int = 60
    public var databaseConnectionsMax: Int = 16
    public var databaseAcquireTimeoutSeconds: Int = 5
    /// Server-side prepared statements per pooled connection; 0 turns the cache off (to measure it).
    public var databasePreparedStatementsMax: Int = PostgresConfiguration.preparedStatementsMaxDefault
    public var tlsCertificatePath: String?
    public var tlsPrivateKeyPath: String?
    /// Where the private PostgreSQL cluster lives when DATABASE_URL is unset.
    public var localDatabaseDirectory: String = FileManager.default.currentDirectoryPath + "/.local/postgres"
    public var localDatabasePort: Int = 54329
    /// Events every consumer has passed are deleted once older than this.
    public var eventLogRetentionSeconds: Int = 7 * 24 * 3600
    /// Runs the event log's no-op probe consumer (`event_log.probe`): shows delivery and failover work.
    public var eventLogProbeConsumer: Bool = false
    /// The commit shown by `/version`; nil means "ask git at start-up".
    public var gitCommit: String?
    /// Concurrent idempotency claims and lookups share statements; `ATLAS_IDEMPOTENCY_BATCHING=0` writes
    /// and reads each alone (to measure the batching).
    public var idempotencyBatching: Bool = true
    public var auth = AuthSettings()
    public var transactions = TransactionsSettings()
    /// Address ranges webhook deliveries may reach despite the SSRF guard (`ATLAS_WEBHOOK_ALLOWED_NETWORKS`,
    /// comma-separated CIDRs: local receivers in tests and development) and an extra trusted CA bundle
    /// (`ATLAS_WEBHOOK_EXTRA_CA_FILE`, e.g. a test's self-signed receiver); both unset in production.
    public var webhookClient = HTTPClientConfiguration()
    /// The Webhooks module's settings: `ATLAS_WEBHOOK_SECRET_KEYS` (`id:base64(32 bytes)[,…]`, the first key
    /// encrypts endpoint secrets at rest, every key decrypts; docs/webhooks.md) and
    /// `ATLAS_WEBHOOK_FAILING_DISABLE_DAYS` (an endpoint failing this long is disabled).
    public var webhooks = WebhooksSettings()

    public init() {}

    public struct Invalid: Error, CustomStringConvertible {
        public let variable: String
        public let reason: String
        public var description: String { "invalid \(variable): \(reason)" }
    }

    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> AtlasConfiguration {
        var configuration = AtlasConfiguration()
        let reader = EnvironmentReader(environment: environment)
        configuration.databaseURL = reader.string("DATABASE_URL")
        configuration.host = reader.string("HOST") ?? configuration.host
        configuration.port = try reader.integer("PORT", default: configuration.port, range: 0...65535)
        configuration.eventLoopCount = try reader.integer("ATLAS_EVENT_LOOPS", default: configuration.eventLoopCount, range: 1...256)
        if let level = reader.string("LOG_LEVEL") {
            guard let parsed = Logger.Level(name: level) else { throw Invalid(variable: "LOG_LEVEL", reason: "use debug, info, warning or error") }
            configuration.logLevel = parsed
        }
        configuration.accessLog = try reader.boolean("ATLAS_ACCESS_LOG", default: true)
        configuration.bodyBytesMax = try reader.integer("ATLAS_BODY_BYTES_MAX", default: configuration.bodyBytesMax, range: 1024...(64 << 20))
        configuration.headerBytesMax = try reader.integer("ATLAS_HEADER_BYTES_MAX", default: configuration.headerBytesMax, range: 1024...(1 << 20))
        configuration.connectionsMax = try reader.integer("ATLAS_CONNECTIONS_MAX", default: configuration.connectionsMax, range: 1...1_000_000)
        configuration.headerReadTimeoutSeconds = try reader.integer("ATLAS_HEADER_TIMEOUT_SECONDS", default: configuration.headerReadTimeoutSeconds, range: 1...600)
        configuration.idleTimeoutSeconds = try reader.integer("ATLAS_IDLE_TIMEOUT_SECONDS", default: configuration.idleTimeoutSeconds, range: 1...3600)
        configuration.databaseConnectionsMax = try reader.integer("ATLAS_DB_CONNECTIONS_MAX", default: configuration.databaseConnectionsMax, range: 1...1000)
        configuration.databaseAcquireTimeoutSeconds = try reader.integer("ATLAS_DB_ACQUIRE_TIMEOUT_SECONDS", default: configuration.databaseAcquireTimeoutSeconds, range: 1...600)
        configuration.databasePreparedStatementsMax = try reader.integer("ATLAS_DB_PREPARED_STATEMENTS_MAX", default: configuration.databasePreparedStatementsMax, range: 0...100_000)
        configuration.tlsCertificatePath = reader.string("ATLAS_TLS_CERT")
        configuration.tlsPrivateKeyPath = reader.string("ATLAS_TLS_KEY")
        if (configuration.tlsCertificatePath == nil) != (configuration.tlsPrivateKeyPath == nil) {
            throw Invalid(variable: "ATLAS_TLS_CERT/ATLAS_TLS_KEY", reason: "set both or neither")
        }
        configuration.localDatabaseDirectory = reader.string("ATLAS_LOCAL_DB_DIR") ?? configuration.localDatabaseDirectory
        configuration.localDatabasePort = try reader.integer("ATLAS_LOCAL_DB_PORT", default: configuration.localDatabasePort, range: 1024...65535)
        configuration.eventLogRetentionSeconds = try reader.integer("ATLAS_EVENT_LOG_RETENTION_SECONDS",
                                                                     default: configuration.eventLogRetentionSeconds,
                                                                     range: 60...(366 * 24 * 3600))
        configuration.eventLogProbeConsumer = try reader.boolean("ATLAS_EVENT_LOG_PROBE_CONSUMER", default: false)
        configuration.gitCommit = reader.string("ATLAS_GIT_COMMIT")
        configuration.auth.oauthIssuer = reader.string("ATLAS_OAUTH_ISSUER") ?? configuration.auth.oauthIssuer
        // Measurement switches: on unless "0" or "false", as they have always been read.
        configuration.idempotencyBatching = !reader.isSwitchedOff("ATLAS_IDEMPOTENCY_BATCHING")
        configuration.transactions.batching = !reader.isSwitchedOff("ATLAS_TXN_BATCHING")
        configuration.transactions.deferredIdempotencyClaims = !reader.isSwitchedOff("ATLAS_IDEMPOTENCY_DEFERRED")
        configuration.transactions.checkoutPageBaseURL = reader.string("ATLAS_CHECKOUT_PAGE_BASE_URL")
            ?? configuration.transactions.checkoutPageBaseURL
        configuration.transactions.preAuthExpiry.windowSeconds = try reader.integer(
            "ATLAS_PRE_AUTH_EXPIRY_SECONDS", default: PreAuthExpiryLimits.windowSecondsDefault,
            range: PreAuthExpiryLimits.windowSecondsMin...PreAuthExpiryLimits.windowSecondsMax)
        configuration.transactions.paymentAuthorizationWindowSeconds = try reader.integer(
            "ATLAS_PAYMENT_AUTHORIZATION_EXPIRY_SECONDS", default: PreAuthExpiryLimits.windowSecondsDefault,
            range: PreAuthExpiryLimits.windowSecondsMin...PreAuthExpiryLimits.windowSecondsMax)
        if let networks = reader.string("ATLAS_WEBHOOK_ALLOWED_NETWORKS") {
            configuration.webhookClient.allowedNetworks = try networks.split(separator: ",").map { text in
                guard let range = CIDR(String(text).trimmingCharacters(in: .whitespaces)) else {
                    throw Invalid(variable: "ATLAS_WEBHOOK_ALLOWED_NETWORKS", reason: "expected comma-separated CIDRs such as 127.0.0.0/8")
                }
                return range
            }
        }
        configuration.webhookClient.extraTrustedCertificatesPath = reader.string("ATLAS_WEBHOOK_EXTRA_CA_FILE")
        if let keys = reader.string("ATLAS_WEBHOOK_SECRET_KEYS") {
            // The value holds key material: the message never repeats it.
            guard let keyring = WebhookSecretKeyring.parse(keys) else {
                throw Invalid(variable: "ATLAS_WEBHOOK_SECRET_KEYS",
                              reason: "expected id:base64-of-32-bytes[,id:…], ids of 1 to 16 letters, digits, - or _, at most 8 keys")
            }
            configuration.webhooks.secretKeys = keyring
        }
        let failingDays = try reader.integer("ATLAS_WEBHOOK_FAILING_DISABLE_DAYS", default: 5, range: 1...30)
        configuration.webhooks.delivery.failingDisableAfterSeconds = Double(failingDays) * 86_400
        // Above the outgoing client's 15 s timeout, so a live attempt is never taken over.
        let leaseSeconds = try reader.integer("ATLAS_WEBHOOK_LEASE_SECONDS", default: 60, range: 20...3600)
        configuration.webhooks.delivery.leaseSeconds = Double(leaseSeconds)
        return configuration
    }

    /// The event log's limits (the retention from the environment, the rest `EventLogService.Limits` defaults).
    public var eventLogLimits: EventLogService.Limits {
        var limits = EventLogService.Limits()
        limits.retention.retentionSeconds = Double(eventLogRetentionSeconds)
        return limits
    }

    /// The HTTP server's settings; limits the environment does not name keep `HTTPServerConfiguration`'s defaults.
    public var httpServer: HTTPServerConfiguration {
        var server = HTTPServerConfiguration(host: host, port: port)
        server.eventLoopCount = eventLoopCount
        server.bodyBytesMax = bodyBytesMax
        server.headerSectionBytesMax = headerBytesMax
        server.connectionsMax = connectionsMax
        server.headerReadTimeoutSeconds = Double(headerReadTimeoutSeconds)
        server.idleTimeoutSeconds = Double(idleTimeoutSeconds)
        server.accessLogEnabled = accessLog
        if let certificate = tlsCertificatePath, let key = tlsPrivateKeyPath {
            server.tls = TLSConfiguration(certificatePath: certificate, privateKeyPath: key)
        }
        return server
    }
}

struct EnvironmentReader {
    let environment: [String: String]

    func string(_ name: String) -> String? {
        guard let value = environment[name], !value.isEmpty else { return nil }
        return value
    }

    func integer(_ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = string(name) else { return value }
        guard let parsed = Int(text), range.contains(parsed) else {
            throw AtlasConfiguration.Invalid(variable: name, reason: "expected an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return parsed
    }

    func boolean(_ name: String, default value: Bool) throws -> Bool {
        guard let text = string(name)?.lowercased() else { return value }
        switch text {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw AtlasConfiguration.Invalid(variable: name, reason: "expected true or false")
        }
    }

    /// True only for "0" and "false": the measurement switches never stop start-up.
    func isSwitchedOff(_ name: String) -> Bool {
        let value = environment[name]
        return value == "0" || value == "false"
    }
}
