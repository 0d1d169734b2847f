import Auth
import Foundation
import Kernel

/// Admin subcommands for OAuth clients, terminals and the signing key. Returns false when the
/// subcommand is not one of its own. Secrets are printed once and never logged.
enum AdminOAuth {
    static let usage = """
          admin create-oauth-client --merchant ID [--mode test|live] [--scopes a,b] [--terminals TID1,TID2] [--name N]
          admin rotate-oauth-client-secret --merchant ID --client cli_… [--mode test|live]
          admin create-terminal --merchant ID --terminal TID [--mode test|live] [--store ID] [--serial SN]
          admin rotate-signing-key

        """

    static func run(_ subcommand: String, _ options: Options, _ application: Application) async throws -> Bool {
        let auth = application.auth
        switch subcommand {
        case "create-oauth-client":
            let client = try await auth.createOAuthClient(merchantId: try options.required("merchant"), mode: try options.mode(),
                                                          scopes: list(options.value("scopes")),
                                                          terminalIds: list(options.value("terminals")),
                                                          name: options.value("name"))
            print("client_id \(client.id)\nclient_secret (shown once): \(client.secret)")
        case "rotate-oauth-client-secret":
            guard let rotated = try await auth.rotateOAuthClientSecret(clientId: try options.required("client"),
                                                                       merchantId: try options.required("merchant"),
                                                                       mode: try options.mode()) else {
                throw UsageError("no such client for that merchant and mode")
            }
            print("client_secret (shown once): \(rotated.secret)\n"
                  + "previous secret works until \(Timestamp.iso8601(rotated.previousSecretExpiresAt))")
        case "create-terminal":
            try await auth.createTerminal(merchantId: try options.required("merchant"), mode: try options.mode(),
                                          terminalId: try options.required("terminal"), storeId: options.value("store"),
                                          serialNumber: options.value("serial"))
            print("terminal \(try options.required("terminal")) ready")
        case "rotate-signing-key":
            print("signing key \(try await auth.rotateOAuthSigningKey()) active; the previous key stays in the JWKS for 24 hours")
        default:
            return false
        }
        return true
    }

    /// "a,b" → ["a", "b"]; nil when the option is absent.
    static func list(_ text: String?) -> Set<String>? {
        text.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }) }
    }
}
