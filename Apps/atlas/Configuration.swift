import Foundation
import Kernel

/// Settings read from environment variables (documented in README.md). Every limit has a name
/// and a default; a malformed value stops start-up with a message naming the variable.
struct Configuration: Sendable {
    var databaseURL: String?
    var host: String = "0.0.0.0"
    var port: Int = 8080
    var eventLoopCount: Int = ProcessInfo.processInfo.activeProcessorCount
    var logLevel: Logger.Level = .info
    var accessLog: Bool = true
    var bodyBytesMax: Int = 1 << 20
    var headerBytesMax: Int = 32 << 10
    var connectionsMax: Int = 10_000
    var headerReadTimeoutSeconds: Int = 10
    var idleTimeoutSeconds: Int = 60
    var databaseConnectionsMax: Int = 16
    var databaseAcquireTimeoutSeconds: Int = 5
    var tlsCertificatePath: String?
    var tlsPrivateKeyPath: String?
    /// Where the private PostgreSQL cluster lives when DATABASE_URL is unset.
    var localDatabaseDirectory: String = FileManager.default.currentDirectoryPath + "/.local/postgres"
    var localDatabasePort: Int = 54329
    /// Events every consumer has passed are deleted once older than this.
    var eventLogRetentionSeconds: Int = 7 * 24 * 3600
    /// Runs the event log's no-op probe consumer (`event_log.probe`): shows delivery and failover work.
    var eventLogProbeConsumer: Bool = false

    struct Invalid: Error, CustomStringConvertible {
        let variable: String
        let reason: String
        var description: String { "invalid \(variable): \(reason)" }
    }

    static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Configuration {
        var configuration = Configuration()
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
        return configuration
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
            throw Configuration.Invalid(variable: name, reason: "expected an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return parsed
    }

    func boolean(_ name: String, default value: Bool) throws -> Bool {
        guard let text = string(name)?.lowercased() else { return value }
        switch text {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw Configuration.Invalid(variable: name, reason: "expected true or false")
        }
    }
}
