import Testing
@testable import Kernel

/// The registry behind `ModuleServices`' contract accessors: one provider per contract type,
/// overridable by tests, and a lookup that tells "not wired" apart.
@Suite struct ContractRegistryTests {
    protocol Greeting: Sendable { func greet() -> String }
    struct Hello: Greeting { func greet() -> String { "hello" } }
    struct Howdy: Greeting { func greet() -> String { "howdy" } }

    @Test func resolvesByTheContractTypeItWasRegisteredAs() {
        var registry = ContractRegistry()
        #expect(registry.resolve((any Greeting).self) == nil)
        registry.register(Hello(), as: (any Greeting).self)
        #expect(registry.resolve((any Greeting).self)?.greet() == "hello")
        #expect(registry.require((any Greeting).self).greet() == "hello")
        // The concrete type is a different key: callers ask for the contract, never the implementer.
        #expect(registry.resolve(Hello.self) == nil)
    }

    @Test func anOverrideReplacesTheProvider() {
        var registry = ContractRegistry()
        registry.register(Hello(), as: (any Greeting).self)
        registry.override(Howdy(), as: (any Greeting).self)
        #expect(registry.require((any Greeting).self).greet() == "howdy")
    }
}
