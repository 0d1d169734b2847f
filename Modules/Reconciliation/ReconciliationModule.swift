import Kernel

/// The Reconciliation feature module. Routes, SQL and migrations arrive with its issue.
public struct ReconciliationModule: FeatureModule {
    public init() {}
    public var name: String { "reconciliation" }
}
