public import AccessContract
public import Kernel

/// Auth's switches, read from the environment by the bootstrap (the module reads none itself).
public struct AuthSettings: Sendable, Hashable {
    public static let oauthIssuerDefault = "https://auth.atlas.local"

    /// `iss` of OAuth tokens; must equal the public URL verifiers see (`ATLAS_OAUTH_ISSUER`).
    public var oauthIssuer: String

    public init(oauthIssuer: String = AuthSettings.oauthIssuerDefault) {
        self.oauthIssuer = oauthIssuer
    }
}

/// The Auth feature module: tenants, principals and credentials. It builds `AuthService` when the
/// bootstrap asks for its contracts and provides the access guard and tenant directory
/// from it; it accepts on credentials the scopes and roles every wired module declared.
public struct AuthModule: FeatureModule, AccessDeclaring {
    let settings: AuthSettings

    public init(settings: AuthSettings = AuthSettings()) {
        self.settings = settings
    }

    public var name: String { "auth" }
    public var migrations: [Migration] { AuthService.migrations }

    /// API-key and audit-log management, and the terminal registry (`auth_terminals`) Auth keeps.
    public var accessDeclarations: [AccessDeclaration] {
        [AccessDeclaration(surface: .commerce, scopes: ["terminal:read", "terminal:write", "keys:manage", "audit:read"])]
    }

    public func provideContracts(_ platform: PlatformServices, into contracts: inout ContractRegistry) {
        let auth = AuthService(platform: platform, settings: settings, catalog: contracts.require(AccessCatalog.self))
        // Auth's own runtime, for its routes, background services and admin commands (no other module imports it).
        contracts.register(auth, as: AuthService.self)
        contracts.register(auth.accessGuard, as: (any AccessGuard).self)
        contracts.register(auth.tenantDirectory, as: (any TenantDirectory).self)
        contracts.register(DeviceTerminalPolicies(grants: auth.devices.grants), as: (any TerminalPolicySource).self)
    }

    public func routeGroups(services: ModuleServices) -> [RouteGroup] {
        services.auth.routeGroups(companies: services.companyDirectory)
    }

    public func backgroundServices(services: ModuleServices) -> [any BackgroundService] { services.auth.backgroundServices }

    /// Every command writes its buffered audit entries before the process exits.
    public var adminCommands: [AdminCommand] {
        (AuthAdminCommands.all + OAuthAdminCommands.all + UsersAdminCommands.all + DevicesAdminCommands.all).map { command in
            AdminCommand(names: command.names, usage: command.usage) { arguments, services in
                try await command.run(arguments, services)
                await services.auth.flushAudit()
            }
        }
    }
}

extension ModuleServices {
    /// The `AuthService` that `AuthModule.provideContracts` built for this assembly.
    var auth: AuthService { contracts.require(AuthService.self) }
}
