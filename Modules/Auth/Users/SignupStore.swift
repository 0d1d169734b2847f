import AccessContract
import Foundation
import Kernel

/// Self-service signup (`POST /api/v1/auth/signup`, spec B.1 [S]): a new organization with its home merchant, an
/// owner, a trial, and the default company, all in one database transaction, so a failure leaves none of them.
/// The company is written by the module that keeps the books, through `CompanyDirectory`, in this transaction.
struct SignupStore: Sendable {
    /// How long a self-service organization's trial lasts.
    static let trialSeconds: TimeInterval = 14 * 24 * 3600

    struct NewOrganization: Sendable {
        let email: String
        let passwordHash: String
        let fullName: String
        let organizationName: String
        let baseCurrency: String
    }

    enum Outcome: Sendable {
        case created(userId: String, merchantId: String)
        case emailTaken
    }

    let database: any Database
    let clock: any WallClock
    let users: UserStore

    func signup(_ request: NewOrganization, companies: (any CompanyDirectory)?) async throws -> Outcome {
        if try await users.isEmailTaken(request.email) { return .emailTaken }
        let now = clock.now()
        let organizationId = TypedID.generate(prefix: .organization, clock: clock).rawValue
        let merchantId = TypedID.generate(prefix: .merchant, clock: clock).rawValue
        let userId = TypedID.generate(prefix: .user, clock: clock).rawValue
        let trialEnds = now.addingTimeInterval(Self.trialSeconds)
        do {
            try await database.transaction { tx in
                try await tx.execute("""
                    INSERT INTO auth_organizations (id, name, kind) VALUES (\(organizationId), \(request.organizationName), 'merchant')
                    """)
                try await tx.execute("""
                    INSERT INTO auth_merchants (id, organization_id, name) VALUES (\(merchantId), \(organizationId), \(request.organizationName))
                    """)
                try await tx.execute("""
                    INSERT INTO auth_org_settings (organization_id, tier, default_merchant_id, trial_ends_at, updated_at)
                    VALUES (\(organizationId), 'standard', \(merchantId), \(trialEnds), \(now))
                    """)
                try await tx.execute("""
                    INSERT INTO auth_users (id, organization_id, merchant_id, mode, email, full_name, password_hash, role,
                                            created_at, updated_at)
                    VALUES (\(userId), \(organizationId), \(merchantId), \(Mode.live), \(request.email), \(request.fullName),
                            \(request.passwordHash), \(UserRole.owner.rawValue), \(now), \(now))
                    """)
                try await tx.execute("""
                    INSERT INTO auth_memberships (user_id, organization_id, merchant_id, mode, role, created_at, updated_at)
                    VALUES (\(userId), \(organizationId), \(merchantId), \(Mode.live), \(UserRole.owner.rawValue), \(now), \(now))
                    """)
                _ = try await companies?.createDefaultCompany(organizationId: organizationId, merchantId: merchantId,
                                                              name: request.organizationName, baseCurrency: request.baseCurrency,
                                                              in: tx)
            }
        } catch {
            // A concurrent signup with the same email loses on the unique index; nothing of this one remains.
            if let failure = error as? DatabaseError, failure.kind == .uniqueViolation { return .emailTaken }
            throw error
        }
        return .created(userId: userId, merchantId: merchantId)
    }
}
