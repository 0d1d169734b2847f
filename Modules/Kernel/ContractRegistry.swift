/// The cross-module contracts of one assembled application, keyed by the contract's type.
///
/// WHY a registry instead of a `ModuleServices` field per contract: a new agreement (declared in its own
/// `…Contract` target) must not widen Kernel and recompile every module. Each contract target adds a typed
/// accessor on `ModuleServices` that resolves here, so call sites still read `services.accessGuard`.
/// Implementations are registered by the module that provides them (`FeatureModule.provideContracts`).
public struct ContractRegistry: Sendable {
    /// Values boxed by their exact contract type, so a lookup is a class cast, not a protocol-conformance check.
    private final class Box<Contract: Sendable>: Sendable {
        let value: Contract
        init(_ value: Contract) { self.value = value }
    }

    private var implementations: [ObjectIdentifier: any Sendable] = [:]

    public init() {}

    /// Registers `implementation` as the one provider of `contract`, e.g.
    /// `register(guard, as: (any AccessGuard).self)`. Two providers of one contract are a wiring error.
    public mutating func register<Contract: Sendable>(_ implementation: Contract, as contract: Contract.Type) {
        let key = ObjectIdentifier(contract)
        precondition(implementations[key] == nil, "two modules provide \(contract); wire only one")
        implementations[key] = Box(implementation)
    }

    /// Replaces whatever provides `contract` (tests and fixtures swap in doubles this way).
    public mutating func override<Contract: Sendable>(_ implementation: Contract, as contract: Contract.Type) {
        implementations[ObjectIdentifier(contract)] = Box(implementation)
    }

    /// The provider of `contract`, or nil when no wired module provides it.
    public func resolve<Contract: Sendable>(_ contract: Contract.Type) -> Contract? {
        (implementations[ObjectIdentifier(contract)] as? Box<Contract>)?.value
    }

    /// The provider of `contract`; stops the process when none is wired, since a module that needs a
    /// contract cannot serve without it and the wiring is fixed at start-up.
    public func require<Contract: Sendable>(_ contract: Contract.Type) -> Contract {
        guard let implementation = resolve(contract) else {
            fatalError("no wired module provides \(contract): add the module that implements it to the bootstrap")
        }
        return implementation
    }
}
