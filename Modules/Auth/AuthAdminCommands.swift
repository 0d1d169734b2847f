import AccessContract
import Kernel

/// `atlas admin` commands for organizations, merchants and API keys.
enum AuthAdminCommands {
    static let all: [AdminCommand] = [
        AdminCommand(name: "create-organization",
                     usage: "admin create-organization --name NAME [--kind platform|pos_vendor|merchant]") { arguments, services in
            let kind = arguments.value("kind") ?? "merchant"
            guard ["platform", "pos_vendor", "merchant"].contains(kind) else {
                throw CommandUsageError("--kind must be platform, pos_vendor or merchant")
            }
            print("organization \(try await services.auth.createOrganization(name: try arguments.required("name"), kind: kind))")
        },
        AdminCommand(name: "create-merchant",
                     usage: "admin create-merchant --name NAME [--org ID | --org-name NAME] [--slug SLUG]") { arguments, services in
            let auth = services.auth
            let organization: String
            if let existing = arguments.value("org") {
                organization = existing
            } else {
                organization = try await auth.createOrganization(name: arguments.value("org-name") ?? arguments.required("name"))
            }
            let merchant = try await auth.createMerchant(organizationId: organization, name: try arguments.required("name"),
                                                         slug: arguments.value("slug"))
            let key = try await auth.createSecretKey(merchantId: merchant, mode: .test, name: "sandbox")
            print("organization \(organization)\nmerchant \(merchant)\nsandbox API key (shown once): \(key.secret)")
        },
        AdminCommand(name: "create-key",
                     usage: "admin create-key --merchant ID [--mode test|live] [--scopes a,b] [--terminal TID]") { arguments, services in
            let scopes = arguments.value("scopes").map { Set($0.split(separator: ",").map(String.init)) }
            let key = try await services.auth.createSecretKey(merchantId: try arguments.required("merchant"),
                                                              mode: try arguments.mode(default: .test), scopes: scopes,
                                                              terminalId: arguments.value("terminal"))
            print("key \(key.id)\nsecret (shown once): \(key.secret)")
        },
        AdminCommand(name: "create-role-key",
                     usage: "admin create-role-key --merchant ID --role merchant|auditor|admin|partner [--mode test|live]") { arguments, services in
            let key = try await services.auth.createRoleKey(merchantId: try arguments.required("merchant"),
                                                            mode: try arguments.mode(default: .test),
                                                            role: try arguments.required("role"))
            print("key \(key.id)\nsecret (shown once): \(key.secret)")
        },
        AdminCommand(name: "set-api-version",
                     usage: "admin set-api-version --merchant ID --version YYYY-MM-DD|current") { arguments, services in
            let text = try arguments.required("version")
            let version = text == "current" ? nil : CommerceAPIVersions.version(text)
            guard text == "current" || version != nil else {
                throw CommandUsageError("--version must be current or one of "
                    + CommerceAPIVersions.released.map(\.rawValue).joined(separator: ", "))
            }
            let merchant = try arguments.required("merchant")
            guard try await services.auth.setMerchantAPIVersion(merchantId: merchant, version: version) else {
                throw CommandUsageError("no merchant \(merchant)")
            }
            print("merchant \(merchant) api version \(version?.rawValue ?? "current (\(CommerceAPIVersions.current))")")
        },
    ]
}
