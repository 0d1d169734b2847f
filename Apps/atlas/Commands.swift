import Bootstrap
import EventLog
import Foundation
import HTTPServer
import Kernel
import Postgres

enum ServeCommand {
    static func run(_ arguments: [String]) async throws {
        let options = try CommandArguments(command: "serve", options: arguments)
        let configuration = try AtlasConfiguration.fromEnvironment()
        let application = try await AtlasBootstrap.open(configuration)
        if !options.flags.contains("no-migrate") { try await application.migrate() }
        if application.localCluster != nil { try await printSandboxKey(application, port: configuration.port) }

        let metrics = Metrics()
        let database = application.database
        metrics.registerGauge(name: "atlas_db_pool_connections", help: "PostgreSQL pool connections by state.") {
            let stats = database.poolStats
            return [("state=\"in_use\"", Double(stats.inUse)), ("state=\"idle\"", Double(stats.idle)),
                    ("state=\"max\"", Double(stats.connectionsMax))]
        }
        metrics.registerGauge(name: "atlas_db_pool_waiters", help: "Tasks waiting for a pooled connection.") {
            [("", Double(database.poolStats.waiters))]
        }
        EventLogMetrics.register(application.eventLog, on: metrics)
        let system = SystemRoutes.group(database: database, metrics: metrics,
                                        gitCommit: SystemRoutes.detectGitCommit(configured: configuration.gitCommit))
        let serverConfiguration = configuration.httpServer
        let server = HTTPServer(configuration: serverConfiguration,
                                responder: application.router(adding: [system], observer: metrics),
                                logger: application.logger)
        let port = try server.start()
        HTTPServer.installSignalHandlers(for: server)
        application.logger.info("atlas listening", ["host": .string(configuration.host), "port": .int(Int64(port)),
                                                    "tls": .bool(serverConfiguration.tls != nil)])
        // Every module's background services and the event log's consumers.
        let background = application.startBackgroundServices()
        // Returns on SIGTERM/SIGINT once in-flight requests are answered; then the background services stop.
        await server.run()
        await background.stop()
        application.close()
        application.logger.info("atlas stopped")
    }

    /// With the private cluster, make sure a sandbox merchant exists and print a fresh test key.
    static func printSandboxKey(_ application: AtlasApplication, port: Int) async throws {
        let sandbox = try await application.createSandboxKey()
        let banner = """

            Sandbox ready. Merchant \(sandbox.merchantId), test mode.
              API key (shown once): \(sandbox.secret)
              try: curl -H 'X-Api-Key: \(sandbox.secret)' http://127.0.0.1:\(port)/v1/api-keys

            """
        // Written unbuffered so it shows at once even when stdout is a file or pipe.
        FileHandle.standardOutput.write(Data((banner + "\n").utf8))
    }
}

enum MigrateCommand {
    static func run(_ arguments: [String]) async throws {
        let application = try await AtlasBootstrap.open(try AtlasConfiguration.fromEnvironment())
        defer { application.close() }
        try await application.migrate()
    }
}

/// `atlas admin <command> …`: dispatched to the wired module that declares the command.
enum AdminCommandLine {
    static func run(_ arguments: [String]) async throws {
        guard let name = arguments.first else { throw CommandUsageError(Usage.text) }
        guard let command = AtlasModules.adminCommands.first(where: { $0.names.contains(name) }) else {
            throw CommandUsageError("unknown admin command \(name)\n\n\(Usage.text)")
        }
        let parsed = try CommandArguments(command: name, options: Array(arguments.dropFirst()),
                                          positionalsMax: command.positionalsMax)
        let application = try await AtlasBootstrap.open(try AtlasConfiguration.fromEnvironment())
        defer { application.close() }
        try await application.migrate()
        try await command.run(parsed, application.services)
    }
}

enum HealthcheckCommand {
    /// Sends GET /health to 127.0.0.1:$PORT over a plain socket; 0 when it answers 200.
    static func run(_ arguments: [String]) -> Int32 {
        let port: Int
        do {
            port = try AtlasConfiguration.fromEnvironment().port
        } catch {
            FileHandle.standardError.write(Data("atlas: \(error)\n".utf8))
            return 1
        }
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return 1 }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return 1 }
        let request = Array("GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8)
        guard write(descriptor, request, request.count) == request.count else { return 1 }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(descriptor, &buffer, buffer.count)
        guard count > 12 else { return 1 }
        return String(decoding: buffer[0..<count], as: UTF8.self).hasPrefix("HTTP/1.1 200") ? 0 : 1
    }
}
