public import AccessContract
public import CashRoundingContract
public import Kernel

/// The Rounding feature module: the pure cash-rounding engine (`CashRoundingEngine`, provided to
/// Transactions as the `CashRounding` contract) and the `/api/v1` cash-rounding surface with its
/// per-merchant audit hash chain (docs/rounding.md, docs/rounding-audit-chain.md).
public struct RoundingModule: FeatureModule, AccessDeclaring {
    /// The `CashRounding` implementation to hand to Transactions (shared, stateless, Sendable).
    public let engine: CashRoundingEngine

    public init(engine: CashRoundingEngine = CashRoundingEngine()) {
        self.engine = engine
    }

    public var name: String { "rounding" }

    /// The contract, for modules that must not import Rounding.
    public var cashRounding: any CashRounding { engine }

    public var migrations: [Migration] { RoundingSchema.migrations }

    /// The role keys of the cash-rounding surface (rounding spec §7), in the order error messages list them.
    public var accessDeclarations: [AccessDeclaration] {
        [AccessDeclaration(surface: .rounding, roles: ["merchant", "auditor", "admin", "partner"])]
    }

    public func provideContracts(_ platform: PlatformServices, into contracts: inout ContractRegistry) {
        contracts.register(cashRounding, as: (any CashRounding).self)
    }

    public func routeGroups(services: ModuleServices) -> [RouteGroup] {
        [RoundingRoutes(services: services, service: RoundingService(services: services, engine: engine)).group()]
    }
}
