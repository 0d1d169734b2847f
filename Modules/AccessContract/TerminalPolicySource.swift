public import Kernel

/// The limits of a tenant's offline terminal policy (`GET /api/policy`, terminal-api rule 13) that the
/// backend enforces again when cards are topped up and offline events are reconciled. Minor units.
public struct TerminalLimits: Sendable, Hashable {
    public var maxBalance: Int64
    public var singleTxLimit: Int64
    public var dailyLimit: Int64
    public var weeklyLimit: Int64

    /// The documented defaults (a tenant without overrides, or no policy provider wired).
    public static let defaults = TerminalLimits(maxBalance: 5_000_000, singleTxLimit: 1_000_000, dailyLimit: 2_000_000,
                                                weeklyLimit: 5_000_000)

    public init(maxBalance: Int64, singleTxLimit: Int64, dailyLimit: Int64, weeklyLimit: Int64) {
        self.maxBalance = maxBalance
        self.singleTxLimit = singleTxLimit
        self.dailyLimit = dailyLimit
        self.weeklyLimit = weeklyLimit
    }
}

/// The tenant's terminal policy and current grant-key version, as Auth (which owns device policy and grant
/// keys) tells the module that keeps cards. WHY a contract: the card module must enforce the same limits the
/// terminals received and stamp reissued cards with the key version terminals derive card keys from,
/// without reading Auth's tables.
public protocol TerminalPolicySource: Sendable {
    func limits(for tenant: TenantContext) async throws -> TerminalLimits
    /// The key version a reissued card is written with: the tenant's newest active grant key.
    func currentKeyVersion(for tenant: TenantContext) async throws -> Int
}

extension ModuleServices {
    /// The terminal policy (provided by Auth); nil when no module provides it.
    public var terminalPolicies: (any TerminalPolicySource)? { contracts.resolve((any TerminalPolicySource).self) }
}
