import Foundation
import Kernel

/// User administration for the admin CLI and tests.
extension AuthService {
    /// Creates an accounting user in `organizationId`, acting for `merchantId` or, when nil, the
    /// organization's default merchant (its configured default, else its oldest merchant), in live mode.
    /// The password is hashed with scrypt; only the hash is stored. Returns the new user id.
    public func createUser(organizationId: String, email: String, password: String, role: UserRole,
                           fullName: String = "", merchantId: String? = nil) async throws -> String {
        let store = users.store
        let normalized = UserStore.normalizeEmail(email)
        guard UserStore.isPlausibleEmail(normalized) else { throw UserAdministrationError("email is not a valid address") }
        guard password.count >= UserStore.passwordCharactersMin, password.utf8.count <= UserStore.passwordBytesMax else {
            throw UserAdministrationError("password must be \(UserStore.passwordCharactersMin) to \(UserStore.passwordBytesMax) long")
        }
        guard fullName.count <= UserStore.fullNameCharactersMax else {
            throw UserAdministrationError("name must be at most \(UserStore.fullNameCharactersMax) characters")
        }
        let merchant = try await homeMerchant(organizationId: organizationId, requested: merchantId)
        let id = TypedID.generate(prefix: .user, clock: clock).rawValue
        try await store.insert(id: id, organizationId: organizationId, merchantId: merchant, email: normalized,
                               fullName: fullName, passwordHash: try crypto.hashPassword(password), role: role)
        await audit.record(AuditEntry(merchantId: merchant, mode: .live, occurredAt: clock.now(), event: "user.created",
                                      principalKind: Principal.Kind.user.rawValue, principalId: id,
                                      detail: ["role": .string(role.rawValue)]))
        return id
    }

    /// The merchant a user acts for in `organizationId`: `requested` when it belongs to the organization, else the
    /// organization's default merchant (its configured default, else its oldest).
    func homeMerchant(organizationId: String, requested merchantId: String?) async throws -> String {
        let store = users.store
        guard try await store.organizationExists(organizationId) else { throw UserAdministrationError("organization not found") }
        if let merchantId {
            guard try await store.merchantBelongs(merchantId, to: organizationId) else {
                throw UserAdministrationError("merchant does not belong to the organization")
            }
            return merchantId
        }
        guard let fallback = try await store.defaultMerchant(organizationId: organizationId) else {
            throw UserAdministrationError("organization has no merchant; create one first")
        }
        return fallback
    }

    /// Suspends (revoking every token at once, on every instance) or reactivates a user.
    public func setUserStatus(userId: String, suspended: Bool) async throws {
        guard try await users.store.setStatus(userId: userId, status: suspended ? "suspended" : "active") else {
            throw UserAdministrationError("user not found")
        }
        if suspended { try await users.revokeUser(userId, reason: "suspended") } else { await users.broadcast("user:" + userId) }
    }

    /// Changes a user's role; cached tokens are dropped so the new permissions apply at once.
    public func setUserRole(userId: String, role: UserRole) async throws {
        guard try await users.store.setRole(userId: userId, role: role) else { throw UserAdministrationError("user not found") }
        await users.broadcast("user:" + userId)
    }

    /// Sets an organization's rate-limit tier and/or the merchant new users act for by default.
    public func setOrganizationSettings(organizationId: String, tier: OrganizationTier? = nil,
                                        defaultMerchantId: String? = nil) async throws {
        guard try await users.store.organizationExists(organizationId) else { throw UserAdministrationError("organization not found") }
        if let defaultMerchantId {
            guard try await users.store.merchantBelongs(defaultMerchantId, to: organizationId) else {
                throw UserAdministrationError("merchant does not belong to the organization")
            }
        }
        try await users.store.setSettings(organizationId: organizationId, tier: tier, defaultMerchantId: defaultMerchantId)
        await users.broadcast("*")
    }
}
