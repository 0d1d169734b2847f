import Foundation
import Kernel

/// Memberships in several organizations, for the admin CLI and tests (the contract lists no API to invite members:
/// docs/auth-users.md).
extension AuthService {
    var memberships: MembershipStore { MembershipStore(database: database, clock: clock) }

    /// Adds the user (`userId`, or the user with `email`) to `organizationId` with `role`, acting for `merchantId` or the
    /// organization's default merchant; an existing membership takes the new role and merchant, and tokens already
    /// issued in that organization carry the new role at once. Returns the user id and whether the membership is new.
    public func addMember(organizationId: String, userId: String? = nil, email: String? = nil, role: UserRole,
                          merchantId: String? = nil) async throws -> (userId: String, added: Bool) {
        let store = users.store
        let user: UserRecord?
        if let userId {
            user = try await store.find(id: userId)
        } else if let email {
            user = try await store.find(email: email)?.record
        } else {
            throw UserAdministrationError("name the user by id or email")
        }
        guard let user else { throw UserAdministrationError("user not found") }
        let merchant = try await homeMerchant(organizationId: organizationId, requested: merchantId)
        let added = try await memberships.upsert(userId: user.id, organizationId: organizationId, merchantId: merchant, role: role)
        await users.broadcast("user:" + user.id)
        await audit.record(AuditEntry(merchantId: merchant, mode: .live, occurredAt: clock.now(),
                                      event: added ? "membership.added" : "membership.updated",
                                      principalKind: Principal.Kind.user.rawValue, principalId: user.id,
                                      detail: ["organization_id": .string(organizationId), "role": .string(role.rawValue)]))
        return (user.id, added)
    }

    /// Removes the user from `organizationId` (never its home organization) and revokes its tokens acting there.
    public func removeMember(organizationId: String, userId: String) async throws {
        guard let user = try await users.store.find(id: userId) else { throw UserAdministrationError("user not found") }
        guard user.organizationId != organizationId else {
            throw UserAdministrationError("the user's home organization cannot be removed; suspend the user instead")
        }
        guard try await memberships.delete(userId: userId, organizationId: organizationId) else {
            throw UserAdministrationError("membership not found")
        }
        await users.broadcast("user:" + userId)
        await audit.record(AuditEntry(merchantId: nil, mode: .live, occurredAt: clock.now(), event: "membership.removed",
                                      principalKind: Principal.Kind.user.rawValue, principalId: userId,
                                      detail: ["organization_id": .string(organizationId)]))
    }
}

/// `atlas admin add-member` and `remove-member`.
enum MembershipsAdminCommands {
    static let all: [AdminCommand] = [
        AdminCommand(name: "add-member",
                     usage: "admin add-member --org ID (--user ID | --email E) --role R [--merchant ID]   add a user to another organization (or change its role there)") { arguments, services in
            guard let role = UserRole(rawValue: try arguments.required("role")) else {
                throw CommandUsageError("--role must be one of \(UserRole.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard arguments.value("user") != nil || arguments.value("email") != nil else {
                throw CommandUsageError("name the user with --user ID or --email E")
            }
            let result = try await services.auth.addMember(organizationId: try arguments.required("org"), userId: arguments.value("user"),
                                                           email: arguments.value("email"), role: role,
                                                           merchantId: arguments.value("merchant"))
            print("user \(result.userId) \(result.added ? "added to" : "updated in") organization \(try arguments.required("org")) as \(role.rawValue)")
        },
        AdminCommand(name: "remove-member",
                     usage: "admin remove-member --org ID --user ID   remove a user from an organization other than its home one") { arguments, services in
            try await services.auth.removeMember(organizationId: try arguments.required("org"), userId: try arguments.required("user"))
            print("user \(try arguments.required("user")) removed from organization \(try arguments.required("org"))")
        },
    ]
}
