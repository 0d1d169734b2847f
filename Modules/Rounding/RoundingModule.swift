import Kernel

/// The Rounding feature module. The pure engine (`CashRoundingEngine`) is ready; HTTP routes
/// (`/jurisdiction/zip/{zip}`, `/jurisdictions`), audit persistence and auth arrive with the lead.
public struct RoundingModule: FeatureModule {
    /// The `CashRounding` implementation to hand to Transactions (shared, stateless, Sendable).
    public let engine: CashRoundingEngine

    public init(engine: CashRoundingEngine = CashRoundingEngine()) {
        self.engine = engine
    }

    public var name: String { "rounding" }

    /// The Kernel contract, for modules that must not import Rounding.
    public var cashRounding: any CashRounding { engine }
}
