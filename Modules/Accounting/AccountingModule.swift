public import Kernel

/// The Accounting feature module. Routes, SQL and migrations arrive with its issue.
public struct AccountingModule: FeatureModule {
    public init() {}
    public var name: String { "accounting" }
}
