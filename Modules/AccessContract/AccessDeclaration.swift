public import Kernel

/// The scopes and roles one module defines on one surface. A module declares the ones its routes
/// require; Auth accepts on new credentials only what the wired modules declared.
public struct AccessDeclaration: Sendable, Hashable {
    public var surface: APISurface
    /// Scopes a credential on `surface` may hold (API keys and OAuth clients get all of them by default).
    public var scopes: [String]
    /// Roles a credential on `surface` may hold, in the order error messages list them.
    public var roles: [String]

    public init(surface: APISurface, scopes: [String] = [], roles: [String] = []) {
        self.surface = surface
        self.scopes = scopes
        self.roles = roles
    }
}

/// A feature module that defines scopes or roles. The bootstrap collects the declarations of every wired
/// module into the `AccessCatalog` before any module provides its contracts.
public protocol AccessDeclaring: FeatureModule {
    var accessDeclarations: [AccessDeclaration] { get }
}

/// Every scope and role the wired modules declared, by surface: what Auth lets a credential hold.
public struct AccessCatalog: Sendable, Hashable {
    private var scopesBySurface: [APISurface: [String]] = [:]
    private var rolesBySurface: [APISurface: [String]] = [:]

    /// Merges `declarations` in order; a name declared twice on one surface is kept once, where it came first.
    public init(_ declarations: [AccessDeclaration]) {
        for declaration in declarations {
            scopesBySurface[declaration.surface, default: []].appendNew(declaration.scopes)
            rolesBySurface[declaration.surface, default: []].appendNew(declaration.roles)
        }
    }

    /// The declarations of those `modules` that declare any.
    public init(modules: [any FeatureModule]) {
        self.init(modules.compactMap { $0 as? any AccessDeclaring }.flatMap(\.accessDeclarations))
    }

    public func scopes(on surface: APISurface) -> [String] { scopesBySurface[surface] ?? [] }
    public func roles(on surface: APISurface) -> [String] { rolesBySurface[surface] ?? [] }
}

extension Array where Element == String {
    fileprivate mutating func appendNew(_ names: [String]) {
        for name in names where !contains(name) { append(name) }
    }
}
