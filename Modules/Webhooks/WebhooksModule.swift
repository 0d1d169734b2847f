import Kernel

/// The Webhooks feature module. Routes, SQL and migrations arrive with its issue.
public struct WebhooksModule: FeatureModule {
    public init() {}
    public var name: String { "webhooks" }
}
