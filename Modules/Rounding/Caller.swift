import AccessContract
import Foundation
import Kernel

/// The context every rounding handler takes: the role key's principal, not optional. Routing derives it once,
/// after the route's middleware and before the handler (`ChildRequestContext`), so no handler checks for a
/// principal itself; without one the route answers 401 "Invalid or missing API key" in the rounding body (behind
/// the access guard that cannot happen: the guard answers a missing key first, in the same words).
/// Everything else reads through as on `RequestContext` (`requestId`, slots such as `idempotency`).
struct RoundingContext: RequestContextReadThrough {
    let principal: Principal
    /// The context the middleware built, for an API that takes a `RequestContext`.
    var requestContext: RequestContext

    init(parent: RequestContext) throws(AtlasError) {
        guard let principal = parent.principal else { throw AtlasError.unauthorized("Invalid or missing API key") }
        self.principal = principal
        requestContext = parent
    }
}

/// The authenticated role key behind a request and the merchants it may act for. Built by a handler from its
/// `RoundingContext` and the service (it queries the partner registry, so it is not itself the route context).
///
/// Decision (docs/rounding.md): merchant and auditor keys act for their own merchant only; a body
/// `merchant_id` or `?merchant_id=` naming another merchant is 403. Admin keys may act for any
/// merchant in their own mode. Partner keys (a POS vendor's "scoped access") may act for the Atlas
/// merchants of their own organization, and for merchant ids of their own (the vendor's internal ids),
/// which the first write registers to the partner's organization. Another organization's merchant
/// is 403 on writes and 404 on lookups by record id, exactly as if it did not exist.
struct Caller: Sendable {
    let principal: Principal
    let service: RoundingService

    init(_ context: RoundingContext, service: RoundingService) {
        principal = context.principal
        self.service = service
    }

    var role: String { principal.role ?? "merchant" }
    var mode: Mode { principal.tenant.mode }
    var ownTenant: TenantContext { principal.tenant }
    var actsForAnyMerchant: Bool { role == "admin" || role == "partner" }

    /// nil when the caller may see every merchant of its mode (record lookups by id).
    var lookupMerchant: String? { actsForAnyMerchant ? nil : principal.tenant.merchantId }

    /// True when this caller may act for `merchantId` (own merchant; admin: any; partner: its
    /// organization's, registering an unknown id to it when `registering`).
    func mayActFor(_ merchantId: String, registering: Bool = false) async throws -> Bool {
        if merchantId == principal.tenant.merchantId || role == "admin" { return true }
        guard role == "partner", let organizationId = principal.organizationId else { return false }
        if let entry = try await service.tenants?.merchant(merchantId) { return entry.organizationId == organizationId }
        if registering {
            let register: SQL = """
                INSERT INTO rounding_partner_merchants (merchant_id, mode, organization_id, registered_by_key)
                VALUES (\(merchantId), \(mode), \(organizationId), \(principal.id)) ON CONFLICT DO NOTHING
                """
            try await service.database.execute(register)
        }
        let owner: SQL = """
            SELECT organization_id FROM rounding_partner_merchants WHERE mode = \(mode) AND merchant_id = \(merchantId)
            """
        guard let row = try await service.database.queryFirst(owner) else { return false }
        return try row.decode("organization_id", as: String.self) == organizationId
    }

    /// The tenant a write acts for, from the body's `merchant_id`.
    func tenant(forBodyMerchant merchantId: String) async throws -> TenantContext {
        guard try await mayActFor(merchantId, registering: true) else {
            throw AtlasError.forbidden("merchant_id does not match the API key's merchant")
        }
        return TenantContext(merchantId: merchantId, mode: mode)
    }

    /// The tenant a read is about: `?merchant_id=` (checked as for writes), else the key's own.
    func readTenant(_ request: Request) async throws -> TenantContext {
        guard let requested = request.queryParameters["merchant_id"] else { return principal.tenant }
        let merchantId = try FieldCheck.identifier(requested, "merchant_id")
        guard try await mayActFor(merchantId) else {
            throw AtlasError.forbidden("merchant_id does not match the API key's merchant")
        }
        return TenantContext(merchantId: merchantId, mode: mode)
    }

    /// A record found by id (with `lookupMerchant`) that belongs to a merchant this caller may not
    /// act for is reported as not found.
    func requireAccess<Found>(_ found: Found?, merchantId: (Found) -> String) async throws -> Found? {
        guard let found else { return nil }
        return try await mayActFor(merchantId(found)) ? found : nil
    }

    /// Fields recorded in every chain record about who made the change (ids only; never a secret).
    var attribution: JSONValue { ["role": .string(role), "key_id": .string(principal.id)] }
}

/// Roles allowed per endpoint family (docs/rounding.md, "Roles").
enum RoundingRoleSets {
    static let transact: Set<String> = ["merchant", "partner", "admin"]
    static let read: Set<String> = ["merchant", "partner", "auditor", "admin"]
    static let audit: Set<String> = ["auditor", "admin"]
    static let admin: Set<String> = ["admin"]
}
