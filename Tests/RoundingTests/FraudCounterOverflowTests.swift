import Foundation
import Kernel
import Postgres
@testable import Rounding
import Testing

/// Security review: the per-merchant fraud counters must never trap (a trap takes the whole server down).
@Suite struct FraudCounterOverflowTests {
    @Test func overrideDeltaCounterSaturatesInsteadOfTrapping() async throws {
        let f = try await RoundingFixture.make()
        let m = try await f.newMerchant()
        let sale = try await f.sell(m)
        let id = try #require(sale["id"])
        try await f.database.execute("""
            UPDATE rounding_chain_heads SET override_abs_delta_cents = \(Int64.max - 10) WHERE merchant_id = \(m.id)
            """)
        let response = await f.post("/transaction/override", key: m.merchant, [
            "transaction_id": id, "employee_id": "EMP-001", "employee_name": "Jane Manager", "reason": "pricing-error",
            "new_cash_total_cents": 100_000_000_000_000])
        #expect(response.status == 200)
        let profile = await f.get("/merchant/\(m.id)/risk-profile", key: m.admin)
        #expect(profile.status == 200)
        #expect(profile.bodyJSON?["fraud_score"]?.intValue != nil)
    }
}
