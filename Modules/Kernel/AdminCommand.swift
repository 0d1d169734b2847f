/// One `atlas admin <name> …` command a module declares. The app lists every wired module's commands
/// in `atlas help` and dispatches by name, so adding a command never touches the app.
public struct AdminCommand: Sendable {
    /// The subcommands it answers to: usually one, or a pair that one line documents (suspend/activate).
    public let names: [String]
    /// Its line in `atlas help`, without the leading indentation, e.g. "admin create-key --merchant ID".
    public let usage: String
    /// Bare words accepted before the options (`admin openapi-write [folder]`); most commands take none.
    public let positionalsMax: Int
    /// Runs against the migrated database with the process's wired modules; prints its own results.
    public let run: @Sendable (CommandArguments, ModuleServices) async throws -> Void

    public init(names: [String], usage: String, positionalsMax: Int = 0,
                run: @escaping @Sendable (CommandArguments, ModuleServices) async throws -> Void) {
        self.names = names
        self.usage = usage
        self.positionalsMax = positionalsMax
        self.run = run
    }

    public init(name: String, usage: String, positionalsMax: Int = 0,
                run: @escaping @Sendable (CommandArguments, ModuleServices) async throws -> Void) {
        self.init(names: [name], usage: usage, positionalsMax: positionalsMax, run: run)
    }
}

/// The words after an `atlas` command (`atlas admin <name>`, `atlas serve`): `--name value` options
/// and bare `--flag`s.
public struct CommandArguments: Sendable {
    /// The name the command was invoked by (for admin commands, one of `AdminCommand.names`).
    public let command: String
    private var values: [String: String] = [:]
    public private(set) var flags: Set<String> = []
    /// The bare words before the first option, at most `positionalsMax` of them.
    public private(set) var positionals: [String] = []

    public init(command: String, options arguments: [String], positionalsMax: Int = 0) throws(CommandUsageError) {
        self.command = command
        positionals = Array(arguments.prefix { !$0.hasPrefix("--") }.prefix(positionalsMax))
        var index = positionals.count
        while index < arguments.count {
            let argument = arguments[index]
            guard argument.hasPrefix("--") else { throw CommandUsageError("unexpected argument \(argument)") }
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

    public func value(_ name: String) -> String? { values[name] }

    public func required(_ name: String) throws(CommandUsageError) -> String {
        guard let value = values[name] else { throw CommandUsageError("--\(name) is required") }
        return value
    }

    /// `--mode live|test`, or `fallback` when absent (API keys default to test, devices to live).
    public func mode(default fallback: Mode) throws(CommandUsageError) -> Mode {
        guard let text = values["mode"] else { return fallback }
        guard let mode = Mode(rawValue: text) else { throw CommandUsageError("--mode must be test or live") }
        return mode
    }
}

/// A command line that cannot run as written; the app prints `atlas: <description>` and exits with status 1.
public struct CommandUsageError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
