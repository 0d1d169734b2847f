import Foundation
import Kernel

/// `atlas admin` commands for OAuth clients, terminals and the signing key. Secrets are printed once
/// and never logged.
enum OAuthAdminCommands {
    static let all: [AdminCommand] = [
        AdminCommand(name: "create-oauth-client",
                     usage: "admin create-oauth-client --merchant ID [--mode test|live] [--scopes a,b] [--terminals TID1,TID2] [--name N]") { arguments, services in
            let client = try await services.auth.createOAuthClient(
                merchantId: try arguments.required("merchant"), mode: try arguments.mode(default: .test),
                scopes: list(arguments.value("scopes")), terminalIds: list(arguments.value("terminals")),
                name: arguments.value("name"))
            print("client_id \(client.id)\nclient_secret (shown once): \(client.secret)")
        },
        AdminCommand(name: "rotate-oauth-client-secret",
                     usage: "admin rotate-oauth-client-secret --merchant ID --client cli_… [--mode test|live]") { arguments, services in
            guard let rotated = try await services.auth.rotateOAuthClientSecret(
                clientId: try arguments.required("client"), merchantId: try arguments.required("merchant"),
                mode: try arguments.mode(default: .test)) else {
                throw CommandUsageError("no such client for that merchant and mode")
            }
            print("client_secret (shown once): \(rotated.secret)\n"
                  + "previous secret works until \(Timestamp.iso8601(rotated.previousSecretExpiresAt))")
        },
        AdminCommand(name: "create-terminal",
                     usage: "admin create-terminal --merchant ID --terminal TID [--mode test|live] [--store ID] [--serial SN]") { arguments, services in
            try await services.auth.createTerminal(merchantId: try arguments.required("merchant"),
                                                   mode: try arguments.mode(default: .test),
                                                   terminalId: try arguments.required("terminal"),
                                                   storeId: arguments.value("store"), serialNumber: arguments.value("serial"))
            print("terminal \(try arguments.required("terminal")) ready")
        },
        AdminCommand(name: "rotate-signing-key", usage: "admin rotate-signing-key") { _, services in
            print("signing key \(try await services.auth.rotateOAuthSigningKey()) active; the previous key stays in the JWKS for 24 hours")
        },
    ]

    /// "a,b" → ["a", "b"]; nil when the option is absent.
    static func list(_ text: String?) -> Set<String>? {
        text.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }) }
    }
}
