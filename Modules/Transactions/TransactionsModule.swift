import Kernel

/// The Transactions feature module. Routes, SQL and migrations arrive with its issue.
public struct TransactionsModule: FeatureModule {
    public init() {}
    public var name: String { "transactions" }
}
