import Kernel

/// `atlas admin` commands for accounting users and their organizations' settings.
enum UsersAdminCommands {
    static let all: [AdminCommand] = userCommands + MembershipsAdminCommands.all

    private static let userCommands: [AdminCommand] = [
        AdminCommand(name: "create-user",
                     usage: "admin create-user --org ID --email E --password P --role owner|admin|accountant|bookkeeper|employee|auditor [--name N] [--merchant ID]") { arguments, services in
            let id = try await services.auth.createUser(
                organizationId: try arguments.required("org"), email: try arguments.required("email"),
                password: try arguments.required("password"), role: try role(arguments),
                fullName: arguments.value("name") ?? "", merchantId: arguments.value("merchant"))
            print("user \(id)")
        },
        AdminCommand(name: "suspend-user",
                     usage: "admin suspend-user --user ID          revoke every token of the user at once") { arguments, services in
            try await setStatus(arguments, services, suspended: true)
        },
        AdminCommand(name: "activate-user", usage: "admin activate-user --user ID") { arguments, services in
            try await setStatus(arguments, services, suspended: false)
        },
        AdminCommand(name: "set-user-role", usage: "admin set-user-role --user ID --role R") { arguments, services in
            try await services.auth.setUserRole(userId: try arguments.required("user"), role: try role(arguments))
            print("user \(try arguments.required("user")) role \(try role(arguments).rawValue)")
        },
        AdminCommand(name: "set-org-tier",
                     usage: "admin set-org-tier --org ID --tier standard|professional|enterprise [--default-merchant ID]") { arguments, services in
            guard let tier = OrganizationTier(rawValue: try arguments.required("tier")) else {
                throw CommandUsageError("--tier must be standard, professional or enterprise")
            }
            try await services.auth.setOrganizationSettings(organizationId: try arguments.required("org"), tier: tier,
                                                            defaultMerchantId: arguments.value("default-merchant"))
            print("organization \(try arguments.required("org")) tier \(tier.rawValue)")
        },
    ]

    private static func setStatus(_ arguments: CommandArguments, _ services: ModuleServices, suspended: Bool) async throws {
        try await services.auth.setUserStatus(userId: try arguments.required("user"), suspended: suspended)
        print("user \(try arguments.required("user")) \(suspended ? "suspended" : "active")")
    }

    private static func role(_ arguments: CommandArguments) throws -> UserRole {
        guard let role = UserRole(rawValue: try arguments.required("role")) else {
            throw CommandUsageError("--role must be one of \(UserRole.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return role
    }
}
