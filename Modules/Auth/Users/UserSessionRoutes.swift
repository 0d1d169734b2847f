import AccessContract
import Foundation
import Kernel

/// `POST /api/v1/auth/signup` and `POST /api/v1/auth/switch-org`, and the session answer they share with `/me`:
/// the user, its organization (`organization{}`, `organizations[]`) and the organization's companies (`companies[]`,
/// from Accounting through `CompanyDirectory`).
extension UserAuthRoutes {
    /// Signups per client IP: 10 per hour (each creates an organization and runs one scrypt hash).
    static let signupPolicy = RateLimitPolicy(name: "signup", limit: 10, periodSeconds: 3600, burst: 10)
    static let organizationNameCharactersMax = 200
    /// Companies `/me` and the session answers list (an organization has a handful; the list is bounded).
    static let companiesListedMax = 100
    static let emailTakenMessage = "A user with that email already exists"
    static let organizationNotFoundMessage = "Organization not found"
    static let organizationSuspendedMessage = "The organization or its merchant is suspended"

    struct SignupBody: Decodable, Validatable {
        let email: String
        let password: String
        let organization_name: String
        let full_name: String?
        let base_currency: String?

        func validate() throws(AtlasError) {
            let normalized = UserStore.normalizeEmail(email)
            if normalized.isEmpty { throw .invalidField("email", "email must not be empty", constraint: "minLength") }
            guard UserStore.isPlausibleEmail(normalized) else {
                throw .invalidField("email", "email must be a valid address", constraint: "format")
            }
            if password.count < UserStore.passwordCharactersMin {
                throw .invalidField("password", "password must be at least \(UserStore.passwordCharactersMin) characters",
                                    constraint: "minLength")
            }
            if password.utf8.count > UserStore.passwordBytesMax {
                throw .invalidField("password", "password must be at most \(UserStore.passwordBytesMax) bytes", constraint: "maxLength")
            }
            let name = organizationName
            if name.isEmpty { throw .invalidField("organization_name", "organization_name must not be empty", constraint: "minLength") }
            if name.unicodeScalars.count > UserAuthRoutes.organizationNameCharactersMax {
                throw .invalidField("organization_name",
                                    "organization_name must be at most \(UserAuthRoutes.organizationNameCharactersMax) characters",
                                    constraint: "maxLength")
            }
            if let full_name, full_name.unicodeScalars.count > UserStore.fullNameCharactersMax {
                throw .invalidField("full_name", "full_name must be at most \(UserStore.fullNameCharactersMax) characters",
                                    constraint: "maxLength")
            }
            if let base_currency, Currency(code: base_currency) == nil {
                throw .invalidField("base_currency", "base_currency must be an ISO 4217 currency code", constraint: "enum")
            }
        }

        var organizationName: String { organization_name.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    struct SwitchOrganizationBody: Decodable, Validatable {
        let organization_id: String

        func validate() throws(AtlasError) {
            if organization_id.isEmpty { throw .invalidField("organization_id", "organization_id must not be empty", constraint: "minLength") }
        }
    }

    /// 201 with a new organization, its home merchant, the owner (signed in), a 14-day trial and the default company.
    func signup(_ request: Request) async throws -> Response {
        let body = try request.decodeJSON(SignupBody.self)
        let ip = AccessMiddleware.ip(request.remoteAddress)
        let decision = module.limiter.check(key: "signup:\(ip)", policies: [Self.signupPolicy])
        guard decision.allowed else { throw AtlasError.rateLimited(retryAfterSeconds: decision.retryAfterSeconds) }
        let store = SignupStore(database: service.database, clock: service.clock, users: service.store)
        let outcome = try await store.signup(SignupStore.NewOrganization(
            email: UserStore.normalizeEmail(body.email), passwordHash: try service.crypto.hashPassword(body.password),
            fullName: body.full_name ?? "", organizationName: body.organizationName, baseCurrency: body.base_currency ?? "USD"),
            companies: companies)
        guard case .created(let userId, _) = outcome else { throw AtlasError.conflict(code: "EMAIL_TAKEN", Self.emailTakenMessage) }
        guard let user = try await service.store.find(id: userId) else {
            throw AtlasError.unavailable("The new user could not be read back; sign in to continue")
        }
        let issued = try await service.tokens.issueForLogin(user: user)
        await audit("signup", request, userId: user.id, tenant: user.tenant, status: 201, fingerprint: fingerprint(issued.accessToken),
                    detail: ["organization_id": .string(user.organizationId), "family_id": .string(issued.familyId)])
        var response = Self.noStore(.json(try await session(user, issued)))
        response.status = 201
        return response
    }

    /// New tokens acting in `organization_id`, one of the caller's memberships, with that membership's role and home
    /// merchant; an organization the caller is not a member of is 404, like any organization it cannot see. The current
    /// session stays valid (it still acts in its own organization).
    func switchOrganization(_ request: Request, context: RequestContext) async throws -> Response {
        let body = try request.decodeJSON(SwitchOrganizationBody.self)
        guard let principal = context.principal else { throw CredentialAuthenticator.invalid(.accounting) }
        guard let user = try await service.store.find(id: principal.id, organizationId: body.organization_id) else {
            throw AtlasError.notFound(Self.organizationNotFoundMessage)
        }
        guard user.isActive else { throw AtlasError.forbidden(Self.organizationSuspendedMessage) }
        let issued = try await service.tokens.issueForLogin(user: user)
        await audit("switch_org", request, userId: user.id, tenant: user.tenant, status: 200, fingerprint: fingerprint(issued.accessToken),
                    detail: ["organization_id": .string(user.organizationId), "family_id": .string(issued.familyId)])
        return Self.noStore(.json(try await session(user, issued)))
    }

    static func tokensJSON(_ issued: IssuedUserTokens) -> JSONValue {
        ["access_token": .string(issued.accessToken), "refresh_token": .string(issued.refreshToken),
         "token_type": "bearer", "expires_in": .int(Int64(UserTokenStore.accessLifetimeSeconds))]
    }

    /// A login's answer plus `organization` and `companies`.
    func session(_ user: UserRecord, _ issued: IssuedUserTokens) async throws -> JSONValue {
        return ["tokens": Self.tokensJSON(issued), "user": user.json, "organizations": try await organizationsJSON(user),
                "organization": user.organizationJSON, "companies": try await companiesJSON(user)]
    }

    /// Every organization the user belongs to (`organizations[]`: id, name, role), oldest membership first.
    func organizationsJSON(_ user: UserRecord) async throws -> JSONValue {
        let memberships = try await MembershipStore(database: service.database, clock: service.clock).memberships(userId: user.id)
        return .array(memberships.map(\.json))
    }

    /// The organization's companies, oldest first; `is_current` marks the one requests use without `company_id` (the
    /// home merchant's company, else the oldest: the rule of docs/accounting.md).
    func companiesJSON(_ user: UserRecord) async throws -> JSONValue {
        guard let companies else { return [] }
        let list = try await companies.companies(organizationId: user.organizationId, limit: Self.companiesListedMax)
        let current = list.first { $0.merchantId == user.merchantId }?.id ?? list.first?.id
        return .array(list.map { company in
            ["id": .string(company.id), "name": .string(company.name), "base_currency": .string(company.baseCurrency),
             "merchant_id": company.merchantId.map { .string($0) } ?? .null, "is_current": .bool(company.id == current)]
        })
    }
}
