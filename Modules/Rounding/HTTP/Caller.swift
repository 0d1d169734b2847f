import Foundation
import Kernel

/// The authenticated role key behind a request and the merchants it may act for.
///
/// Decision (docs/rounding.md): merchant and auditor keys act for their own merchant only; a body
/// `merchant_id` or `?merchant_id=` naming another merchant is 403. Partner and admin keys may act
/// for any merchant in their own mode (partners onboard merchants under the POS vendor's ids).
struct Caller: Sendable {
    let principal: Principal

    init(_ context: RequestContext) throws {
        guard let principal = context.principal else { throw AtlasError.unauthorized("Invalid or missing API key") }
        self.principal = principal
    }

    var role: String { principal.role ?? "merchant" }
    var mode: Mode { principal.tenant.mode }
    var ownTenant: TenantContext { principal.tenant }
    var actsForAnyMerchant: Bool { role == "admin" || role == "partner" }

    /// nil when the caller may see every merchant of its mode (record lookups by id).
    var lookupMerchant: String? { actsForAnyMerchant ? nil : principal.tenant.merchantId }

    /// The tenant a write acts for, from the body's `merchant_id`.
    func tenant(forBodyMerchant merchantId: String) throws -> TenantContext {
        guard actsForAnyMerchant || merchantId == principal.tenant.merchantId else {
            throw AtlasError.forbidden("merchant_id does not match the API key's merchant")
        }
        return TenantContext(merchantId: merchantId, mode: mode)
    }

    /// The tenant a read is about: `?merchant_id=` (partner/admin: any; others: must be their own), else own.
    func readTenant(_ request: Request) throws -> TenantContext {
        guard let requested = request.queryParameters["merchant_id"] else { return principal.tenant }
        let merchantId = try FieldCheck.identifier(requested, "merchant_id")
        return try tenant(forBodyMerchant: merchantId)
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
