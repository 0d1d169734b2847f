public import AccessContract
public import Kernel

/// The Webhooks feature module. Routes, SQL and migrations arrive with its issue.
public struct WebhooksModule: FeatureModule, AccessDeclaring {
    public init() {}
    public var name: String { "webhooks" }

    /// Declared ahead of the routes so Commerce keys can already be granted it.
    public var accessDeclarations: [AccessDeclaration] {
        [AccessDeclaration(surface: .commerce, scopes: ["webhooks:manage"])]
    }
}
