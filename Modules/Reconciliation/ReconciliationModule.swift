public import AccessContract
public import Kernel

/// The Reconciliation feature module. Routes, SQL and migrations arrive with its issue.
public struct ReconciliationModule: FeatureModule, AccessDeclaring {
    public init() {}
    public var name: String { "reconciliation" }

    /// Declared ahead of the routes so Commerce keys can already be granted them.
    public var accessDeclarations: [AccessDeclaration] {
        [AccessDeclaration(surface: .commerce, scopes: ["reconciliation:read", "reconciliation:write", "settlements:read"])]
    }
}
