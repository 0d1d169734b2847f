import Auth
import Kernel

/// Admin subcommands for accounting users. Returns false when the subcommand is not one of its own.
enum AdminUsers {
    static let usage = """
          admin create-user --org ID --email E --password P --role owner|admin|accountant|bookkeeper|employee|auditor [--name N] [--merchant ID]
          admin suspend-user --user ID          revoke every token of the user at once
          admin activate-user --user ID
          admin set-user-role --user ID --role R
          admin set-org-tier --org ID --tier standard|professional|enterprise [--default-merchant ID]

        """

    static func run(_ subcommand: String, _ options: Options, _ application: Application) async throws -> Bool {
        let auth = application.auth
        switch subcommand {
        case "create-user":
            let id = try await auth.createUser(organizationId: try options.required("org"), email: try options.required("email"),
                                               password: try options.required("password"), role: try role(options),
                                               fullName: options.value("name") ?? "", merchantId: options.value("merchant"))
            print("user \(id)")
        case "suspend-user", "activate-user":
            try await auth.setUserStatus(userId: try options.required("user"), suspended: subcommand == "suspend-user")
            print("user \(try options.required("user")) \(subcommand == "suspend-user" ? "suspended" : "active")")
        case "set-user-role":
            try await auth.setUserRole(userId: try options.required("user"), role: try role(options))
            print("user \(try options.required("user")) role \(try role(options).rawValue)")
        case "set-org-tier":
            guard let tier = OrganizationTier(rawValue: try options.required("tier")) else {
                throw UsageError("--tier must be standard, professional or enterprise")
            }
            try await auth.setOrganizationSettings(organizationId: try options.required("org"), tier: tier,
                                                   defaultMerchantId: options.value("default-merchant"))
            print("organization \(try options.required("org")) tier \(tier.rawValue)")
        default:
            return false
        }
        return true
    }

    private static func role(_ options: Options) throws -> UserRole {
        guard let role = UserRole(rawValue: try options.required("role")) else {
            throw UsageError("--role must be one of \(UserRole.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return role
    }
}
