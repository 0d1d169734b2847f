import Kernel

/// The Rounding feature module: the pure cash-rounding engine (`CashRoundingEngine`, also handed to
/// Transactions through the Kernel `CashRounding` contract) and the `/api/v1` cash-rounding surface
/// with its per-merchant audit hash chain (docs/rounding.md, docs/rounding-audit-chain.md).
public struct RoundingModule: FeatureModule {
    /// The `CashRounding` implementation to hand to Transactions (shared, stateless, Sendable).
    public let engine: CashRoundingEngine

    public init(engine: CashRoundingEngine = CashRoundingEngine()) {
        self.engine = engine
    }

    public var name: String { "rounding" }

    /// The Kernel contract, for modules that must not import Rounding.
    public var cashRounding: any CashRounding { engine }

    public var migrations: [Migration] { RoundingSchema.migrations }

    public func routeGroups(services: ModuleServices) -> [RouteGroup] {
        [RoundingRoutes(services: services, service: RoundingService(services: services, engine: engine)).group()]
    }
}
