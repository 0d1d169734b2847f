import Foundation
import Kernel
import Testing
import AtlasTestSupport
@testable import Transactions

/// Connections plan prepared statements generically (`plan_cache_mode=force_generic_plan`). The list's
/// cursor must still bound the index scan there: with `($n IS NULL OR id < $n)` it was only a filter, and a
/// page 200,000 rows deep read every newer row first (130 ms instead of 0.05 ms, docs/postgres.md).
@Suite struct ListPlanTests {
    @Test func theCursorBoundsTheIndexScanInAGenericPlan() async throws {
        let fixture = try await TransactionFixture.make()
        let filter = TransactionStore.ListFilter(type: nil, status: nil, terminalId: nil, from: nil, to: nil,
                                                 beforeId: "txn_01M8AQ6XQST4SXVC7H2JHCPE2F", limit: 25)
        let sql = TransactionStore.listSQL(filter, tenant: TenantContext(merchantId: fixture.merchantId, mode: .test))
        #expect(sql.binds.count == 4)
        let plan = try await TestDatabase.genericPlan(of: sql.text, arguments: "'m', 'test', 'txn_01M8AQ6XQST4SXVC7H2JHCPE2F', 26",
                                                      on: fixture.database)
        let indexCondition = try #require(plan.first { $0.contains("Index Cond") }, "\(plan)")
        #expect(indexCondition.contains("id < $3"), "\(plan)")
        #expect(!plan.contains { $0.contains("Filter") }, "\(plan)")
    }
}
