import Auth
import Kernel

/// Admin subcommands for Users (stub until that part lands). Returns false when the
/// subcommand is not one of its own.
enum AdminUsers {
    static let usage = ""

    static func run(_ subcommand: String, _ options: Options, _ application: Application) async throws -> Bool {
        false
    }
}
