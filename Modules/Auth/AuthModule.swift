import Kernel

/// The Auth feature module. Routes, SQL and migrations arrive with its issue.
public struct AuthModule: FeatureModule {
    public init() {}
    public var name: String { "auth" }
}
