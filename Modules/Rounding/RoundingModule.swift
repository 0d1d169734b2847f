import Kernel

/// The Rounding feature module. Routes, SQL and migrations arrive with its issue.
public struct RoundingModule: FeatureModule {
    public init() {}
    public var name: String { "rounding" }
}
