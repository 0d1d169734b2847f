import AccessContract
import Kernel

/// `TerminalPolicySource` over Auth's policy overrides and grant keys, for the module that keeps cards.
struct DeviceTerminalPolicies: TerminalPolicySource {
    let grants: DeviceGrants

    func limits(for tenant: TenantContext) async throws -> TerminalLimits {
        let policy = try await grants.policy(merchantId: tenant.merchantId, mode: tenant.mode)
        return TerminalLimits(maxBalance: policy.maxBalance, singleTxLimit: policy.singleTxLimit,
                              dailyLimit: policy.dailyLimit, weeklyLimit: policy.weeklyLimit)
    }

    func currentKeyVersion(for tenant: TenantContext) async throws -> Int {
        try await grants.activeKey(merchantId: tenant.merchantId, mode: tenant.mode).version
    }
}
