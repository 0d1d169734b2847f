public import Kernel

extension ModuleServices {
    /// Authentication, authorization, rate limits and audit (provided by Auth): one middleware per route,
    /// `services.accessGuard.require(AccessRequirement(surface:scopes:roles:))`.
    public var accessGuard: any AccessGuard { contracts.require((any AccessGuard).self) }

    /// Merchant → organization lookups (provided by Auth); nil when no module provides them.
    public var tenants: (any TenantDirectory)? { contracts.resolve((any TenantDirectory).self) }
}
