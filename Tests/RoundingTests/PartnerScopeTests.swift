import Auth
import Foundation
import Kernel
import Testing

/// Partner keys ("scoped access", spec §7) act for their own organization's merchants and for the
/// merchant ids they register; never for another POS vendor's merchants.
@Suite struct PartnerScopeTests {
    @Test func partnersStayInsideTheirOrganization() async throws {
        let f = try await RoundingFixture.make()
        let vendorA = try await f.newMerchant()
        let siblingA = try await f.newMerchant()
        let otherOrganization = try await f.auth.createOrganization(name: "Another POS vendor", kind: "pos_vendor")
        let vendorB = try await f.newMerchant(organizationId: otherOrganization)

        // Same organization: allowed. Another organization's Atlas merchant: 403 on write.
        #expect(await f.post("/transaction", key: vendorA.partner, RoundingFixture.sale(siblingA.id)).status == 200)
        let foreign = await f.post("/transaction", key: vendorA.partner, RoundingFixture.sale(vendorB.id))
        #expect(foreign.isError(403, "FORBIDDEN", "merchant_id does not match the API key's merchant"))

        // B's own sale is invisible to A's partner key (404, as if it did not exist); A's admin key sees it.
        let saleB = try #require(await f.post("/transaction", key: vendorB.merchant, RoundingFixture.sale(vendorB.id))
            .bodyJSON?["transaction"]?["id"]?.stringValue)
        #expect(await f.get("/transaction/\(saleB)/receipt", key: vendorA.partner).isError(404, "NOT_FOUND", "Transaction not found"))
        #expect(await f.get("/transaction/\(saleB)/receipt", key: vendorA.admin).status == 200)
        let void = await f.post("/transaction/void", key: vendorA.partner,
                                ["original_transaction_id": .string(saleB), "void_reason": "employee_error", "voided_by": "E1"])
        #expect(void.status == 404)
        #expect(await f.get("/admin/audit-logs?merchant_id=\(vendorB.id)", key: vendorA.partner).status == 403)

        // A vendor-internal merchant id is registered to the first partner that uses it.
        #expect(await f.post("/transaction", key: vendorA.partner, RoundingFixture.sale("POS-A-STORE-9")).status == 200)
        let taken = await f.post("/transaction", key: vendorB.partner, RoundingFixture.sale("POS-A-STORE-9"))
        #expect(taken.isError(403, "FORBIDDEN", "merchant_id does not match the API key's merchant"))
        #expect(await f.post("/transaction", key: vendorB.partner, RoundingFixture.sale("POS-B-STORE-1")).status == 200)
    }
}
