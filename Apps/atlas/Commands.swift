import Auth
import EventLog
import Foundation
import HTTPServer
import Kernel
import Postgres

enum ServeCommand {
    static func run(_ arguments: [String]) async throws {
        let options = try Options(arguments)
        let configuration = try Configuration.fromEnvironment()
        let application = try await Application.open(configuration)
        if !options.flags.contains("no-migrate") { try await application.migrate() }
        if application.localCluster != nil { try await printSandboxKey(application) }

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
        var serverConfiguration = HTTPServerConfiguration(host: configuration.host, port: configuration.port)
        serverConfiguration.eventLoopCount = configuration.eventLoopCount
        serverConfiguration.bodyBytesMax = configuration.bodyBytesMax
        serverConfiguration.headerSectionBytesMax = configuration.headerBytesMax
        serverConfiguration.connectionsMax = configuration.connectionsMax
        serverConfiguration.headerReadTimeoutSeconds = Double(configuration.headerReadTimeoutSeconds)
        serverConfiguration.idleTimeoutSeconds = Double(configuration.idleTimeoutSeconds)
        serverConfiguration.accessLogEnabled = configuration.accessLog
        if let certificate = configuration.tlsCertificatePath, let key = configuration.tlsPrivateKeyPath {
            serverConfiguration.tls = TLSConfiguration(certificatePath: certificate, privateKeyPath: key)
        }
        let server = HTTPServer(configuration: serverConfiguration, responder: application.router(metrics: metrics),
                                logger: application.logger)
        let port = try server.start()
        HTTPServer.installSignalHandlers(for: server)
        application.logger.info("atlas listening", ["host": .string(configuration.host), "port": .int(Int64(port)),
                                                    "tls": .bool(serverConfiguration.tls != nil)])
        let eventLog = application.eventLogService()
        EventLogMetrics.register(eventLog, on: metrics)
        let background = Task { await application.auth.runBackgroundTasks() }
        let consumers = Task { await eventLog.run() }
        await server.run()
        background.cancel()
        consumers.cancel()
        await consumers.value
        await application.auth.flushAudit()
        application.database.close()
        application.logger.info("atlas stopped")
    }

    /// With the private cluster, make sure a sandbox merchant exists and print a fresh test key.
    static func printSandboxKey(_ application: Application) async throws {
        let merchantId = try await AdminCommand.sandboxMerchant(application)
        let key = try await application.auth.createSecretKey(merchantId: merchantId, mode: .test, name: "sandbox")
        let banner = """

            Sandbox ready. Merchant \(merchantId), test mode.
              API key (shown once): \(key.secret)
              try: curl -H 'X-Api-Key: \(key.secret)' http://127.0.0.1:\(application.configuration.port)/v1/api-keys

            """
        // Written unbuffered so it shows at once even when stdout is a file or pipe.
        FileHandle.standardOutput.write(Data((banner + "\n").utf8))
    }
}

enum MigrateCommand {
    static func run(_ arguments: [String]) async throws {
        let application = try await Application.open(try Configuration.fromEnvironment())
        try await application.migrate()
        application.database.close()
    }
}

enum AdminCommand {
    static func run(_ arguments: [String]) async throws {
        guard let subcommand = arguments.first else { throw UsageError(Usage.text) }
        let options = try Options(Array(arguments.dropFirst()))
        let application = try await Application.open(try Configuration.fromEnvironment())
        defer { application.database.close() }
        try await application.migrate()
        let auth = application.auth
        switch subcommand {
        case "create-organization":
            let kind = options.value("kind") ?? "merchant"
            guard ["platform", "pos_vendor", "merchant"].contains(kind) else {
                throw UsageError("--kind must be platform, pos_vendor or merchant")
            }
            print("organization \(try await auth.createOrganization(name: try options.required("name"), kind: kind))")
        case "create-merchant":
            let organization: String
            if let existing = options.value("org") {
                organization = existing
            } else {
                organization = try await auth.createOrganization(name: options.value("org-name") ?? options.required("name"))
            }
            let merchant = try await auth.createMerchant(organizationId: organization, name: try options.required("name"),
                                                         slug: options.value("slug"))
            let key = try await auth.createSecretKey(merchantId: merchant, mode: .test, name: "sandbox")
            print("organization \(organization)\nmerchant \(merchant)\nsandbox API key (shown once): \(key.secret)")
        case "create-key":
            let scopes = options.value("scopes").map { Set($0.split(separator: ",").map(String.init)) }
            let key = try await auth.createSecretKey(merchantId: try options.required("merchant"), mode: try options.mode(),
                                                     scopes: scopes, terminalId: options.value("terminal"))
            print("key \(key.id)\nsecret (shown once): \(key.secret)")
        case "create-role-key":
            let key = try await auth.createRoleKey(merchantId: try options.required("merchant"), mode: try options.mode(),
                                                   role: try options.required("role"))
            print("key \(key.id)\nsecret (shown once): \(key.secret)")
        default:
            var handled = false
            for part in [AdminOAuth.run, AdminUsers.run, AdminDevices.run, AdminEvents.run] where !handled {
                handled = try await part(subcommand, options, application)
            }
            if !handled { throw UsageError("unknown admin command \(subcommand)\n\n\(Usage.text)") }
        }
        await auth.flushAudit()
    }

    /// The merchant with slug "sandbox", created (with its organization) on first use.
    static func sandboxMerchant(_ application: Application) async throws -> String {
        if let row = try await application.database.queryFirst("SELECT id FROM auth_merchants WHERE slug = 'sandbox'") {
            return try row.decode("id")
        }
        let organization = try await application.auth.createOrganization(name: "Sandbox")
        return try await application.auth.createMerchant(organizationId: organization, name: "Sandbox", slug: "sandbox")
    }
}

enum HealthcheckCommand {
    /// Sends GET /health to 127.0.0.1:$PORT over a plain socket; 0 when it answers 200.
    static func run(_ arguments: [String]) -> Int32 {
        let port = Int(ProcessInfo.processInfo.environment["PORT"] ?? "") ?? 8080
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
