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
    case "admin": try await AdminCommand.run(rest)
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
    static let text = """
        usage: atlas <command> [options]

          serve [--no-migrate]           run the HTTP server (migrates first by default)
          migrate                        apply pending migrations and exit
          admin create-organization --name NAME [--kind platform|pos_vendor|merchant]
          admin create-merchant --name NAME [--org ID | --org-name NAME] [--slug SLUG]
          admin create-key --merchant ID [--mode test|live] [--scopes a,b] [--terminal TID]
          admin create-role-key --merchant ID --role merchant|auditor|admin|partner [--mode test|live]
        \(AdminOAuth.usage)\(AdminUsers.usage)\(AdminDevices.usage)\(AdminEvents.usage)  healthcheck                    exit 0 when GET /health on this host answers 200
          version                        print the version

        Configuration comes from environment variables; see README.md.
        """
}

/// Minimal `--flag value` parsing for the admin commands.
struct Options {
    private var values: [String: String] = [:]
    private(set) var flags: Set<String> = []

    init(_ arguments: [String]) throws {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            guard argument.hasPrefix("--") else { throw UsageError("unexpected argument \(argument)") }
            let name = String(argument.dropFirst(2))
            if index + 1 < arguments.count, !arguments[index + 1].hasPrefix("--") {
                values[name] = arguments[index + 1]
                index += 2
            } else {
                flags.insert(name)
                index += 1
            }
        }
    }

    func value(_ name: String) -> String? { values[name] }

    func required(_ name: String) throws -> String {
        guard let value = values[name] else { throw UsageError("--\(name) is required") }
        return value
    }

    func mode() throws -> Mode {
        guard let text = values["mode"] else { return .test }
        guard let mode = Mode(rawValue: text) else { throw UsageError("--mode must be test or live") }
        return mode
    }
}

struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
