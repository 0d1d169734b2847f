import Auth
import Kernel

/// Admin subcommands for OAuth (stub until that part lands). Returns false when the
/// subcommand is not one of its own.
enum AdminOAuth {
    static let usage = ""

    static func run(_ subcommand: String, _ options: Options, _ application: Application) async throws -> Bool {
        false
    }
}
