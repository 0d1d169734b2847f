import Kernel

/// Accounting user roles (spec B.2 rule 27): six levels from owner down to employee, plus the
/// read-only auditor. Routes name the roles they admit in `AccessRequirement.roles`; the sets
/// below spell "X or above" so modules need no knowledge of the ordering.
public enum UserRole: String, Sendable, CaseIterable, Codable {
    case owner
    case admin
    case accountant
    case bookkeeper
    case employee
    case auditor

    /// Rank in the owner → employee ladder; the auditor sits outside it (read-only).
    var rank: Int? {
        switch self {
        case .owner: return 5
        case .admin: return 4
        case .accountant: return 3
        case .bookkeeper: return 2
        case .employee: return 1
        case .auditor: return nil
        }
    }

    /// The role names of `minimum` and every role above it, for `AccessRequirement(roles:)`.
    public static func atLeast(_ minimum: UserRole) -> Set<String> {
        guard let floor = minimum.rank else { return [minimum.rawValue] }
        return Set(allCases.filter { ($0.rank ?? 0) >= floor }.map(\.rawValue))
    }

    /// Permission scopes a user of this role holds (the matrix in docs/auth-users.md).
    public var permissions: Set<String> {
        let read: Set<String> = [UserPermission.read]
        let bookkeeping: Set<String> = [UserPermission.reportsRead, UserPermission.contactsWrite,
                                        UserPermission.invoicesWrite, UserPermission.billsWrite,
                                        UserPermission.paymentsWrite, UserPermission.journalWrite]
        let accounting: Set<String> = [UserPermission.journalPost, UserPermission.periodsClose,
                                       UserPermission.periodsReopen]
        let administration: Set<String> = [UserPermission.companiesManage, UserPermission.usersManage,
                                           UserPermission.auditRead]
        switch self {
        case .owner: return read.union(bookkeeping).union(accounting).union(administration).union([UserPermission.organizationManage])
        case .admin: return read.union(bookkeeping).union(accounting).union(administration)
        case .accountant: return read.union(bookkeeping).union(accounting)
        case .bookkeeper: return read.union(bookkeeping)
        case .employee: return read
        case .auditor: return read.union([UserPermission.reportsRead, UserPermission.auditRead])
        }
    }
}

/// Permission scope names carried in a user `Principal.scopes`.
public enum UserPermission {
    public static let read = "accounting:read"
    public static let reportsRead = "reports:read"
    public static let contactsWrite = "contacts:write"
    public static let invoicesWrite = "invoices:write"
    public static let billsWrite = "bills:write"
    public static let paymentsWrite = "payments:write"
    public static let journalWrite = "journal:write"
    public static let journalPost = "journal:post"
    public static let periodsClose = "periods:close"
    public static let periodsReopen = "periods:reopen"
    public static let companiesManage = "companies:manage"
    public static let usersManage = "users:manage"
    public static let auditRead = "audit:read"
    public static let organizationManage = "organization:manage"
}

/// An organization's accounting plan tier, which sets its users' request rate ([G] rate limits).
public enum OrganizationTier: String, Sendable, CaseIterable {
    case standard
    case professional
    case enterprise

    /// The marker scope a user principal carries so `AuthGuard` can pick the tier's policy
    /// without another lookup per request (Principal has no tier field; Kernel stays unchanged).
    var scopeMarker: String { Self.scopePrefix + rawValue }
    static let scopePrefix = "tier:"

    var policy: RateLimitPolicy {
        switch self {
        case .standard: return .userStandard
        case .professional: return .userProfessional
        case .enterprise: return .userEnterprise
        }
    }

    /// The policy for a user principal: its tier marker, Standard when absent.
    static func policy(for principal: Principal) -> RateLimitPolicy {
        for tier in allCases where principal.scopes.contains(tier.scopeMarker) { return tier.policy }
        return .userStandard
    }
}
