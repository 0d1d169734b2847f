import Bootstrap
import Foundation
import Kernel

/// `atlas <command>`: serve, migrate, admin …, healthcheck, version. See README.md.
let arguments = Array(CommandLine.arguments.dropFirst())
let command = arguments.first ?? "serve"
let rest = Array(arguments.dropFirst())

do {
    switch command {
    case "serve": try await ServeCommand.run(rest)
    case "migrate": try await MigrateCommand.run(rest)
    case "admin": try await AdminCommandLine.run(rest)
    case "healthcheck": exit(HealthcheckCommand.run(rest))
    case "version", "--version": print("atlas \(SystemRoutes.version)")
    case "help", "--help", "-h": print(Usage.text)
    default:
        FileHandle.standardError.write(Data("atlas: unknown command '\(command)'\n\n\(Usage.text)\n".utf8))
        exit(64)
    }
} catch {
    FileHandle.standardError.write(Data("atlas: \(error)\n".utf8))
    exit(1)
}

enum Usage {
    /// The admin lines come from the modules' declarations (`AtlasModules.adminCommands`).
    static var text: String {
        let admin = AtlasModules.adminCommands.map { "  \($0.usage)\n" }.joined()
        return """
            usage: atlas <command> [options]

              serve [--no-migrate]           run the HTTP server (migrates first by default)
              migrate                        apply pending migrations and exit
            \(admin)  healthcheck                    exit 0 when GET /health on this host answers 200
              version                        print the version

            Configuration comes from environment variables; see README.md.
            """
    }
}
