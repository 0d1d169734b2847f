import Kernel

/// A merchant as other modules may know it: its organization and whether it is active.
public struct MerchantDirectoryEntry: Sendable, Hashable {
    public let merchantId: String
    public let organizationId: String
    public let active: Bool

    public init(merchantId: String, organizationId: String, active: Bool) {
        self.merchantId = merchantId
        self.organizationId = organizationId
        self.active = active
    }
}

/// Read-only tenancy lookups that Auth provides, so a module can check "does this merchant belong
/// to the caller's organization" (a partner acting for its merchants) without reading Auth's tables.
public protocol TenantDirectory: Sendable {
    func merchant(_ merchantId: String) async throws -> MerchantDirectoryEntry?
}

extension TenantDirectory {
    /// True when `merchantId` exists and belongs to `organizationId`.
    public func merchant(_ merchantId: String, belongsTo organizationId: String) async throws -> Bool {
        guard let entry = try await merchant(merchantId) else { return false }
        return entry.organizationId == organizationId
    }
}
