import AtlasTestSupport
import Foundation
import Kernel
import Postgres
@testable import Rounding
import Testing

/// `rounding.recorded`: one event per rounding transaction, appended with its audit-chain record.
@Suite struct RoundingRecordedEventTests {
    func fixture() async throws -> RoundingFixture { try await RoundingFixture.shared.value }

    func draft(_ type: String, delta: Int64? = 2, fields: [String: JSONValue] = [:]) -> RecordDraft {
        RecordDraft(recordId: "\(type)-2026-04-14-0000000A", eventType: type, linkedId: nil, employeeId: nil, reasonCode: nil,
                    paymentMethod: "cash", complianceStatus: nil, ledgerTotalCents: delta.map { _ in 723 },
                    cashTotalCents: delta.map { 723 + $0 }, roundingDeltaCents: delta, fields: fields)
    }

    @Test func roundingTransactionsMakeEventsAndTipsDoNot() {
        let tenant = TenantContext(merchantId: "mer_1", mode: .test)
        let now = RoundingFixture.noon
        let sale = RoundingRecordedEvent.make(draft("SALE"), tenant: tenant, occurredAt: now)
        #expect(sale?.type == "rounding.recorded" && sale?.resourceId == "SALE-2026-04-14-0000000A" && sale?.tenant == tenant)
        #expect(sale?.payload["cashRoundingChange"] == 2 && sale?.payload["roundingDelta"] == 2 && sale?.payload["currency"] == "USD")
        #expect(sale?.payload["ledgerTotal"] == 723 && sale?.payload["cashTotal"] == 725 && sale?.payload["recordType"] == "SALE")
        // An override moves the rounding by new − previous cash total, not by its whole new delta.
        let override = RoundingRecordedEvent.make(draft("OVERRIDE", delta: 7, fields: ["new_cash_total_cents": 730,
                                                                                       "previous_cash_total_cents": 725]),
                                                  tenant: tenant, occurredAt: now)
        #expect(override?.payload["cashRoundingChange"] == 5 && override?.payload["roundingDelta"] == 7)
        #expect(RoundingRecordedEvent.make(draft("OVERRIDE", delta: 7), tenant: tenant, occurredAt: now) == nil)
        for type in ["TIP_CASH", "TIP_CREDIT_CARD", "TIP_ADJUST", "TIP_POOL_CREATE", "TIP_PAYOUT"] {
            #expect(RoundingRecordedEvent.make(draft(type, delta: nil), tenant: tenant, occurredAt: now) == nil)
        }
    }

    func events(_ f: RoundingFixture, _ merchantId: String) async throws -> [String] {
        try await f.database.query("""
            SELECT payload->>'recordType' AS type, payload->>'cashRoundingChange' AS change, resource_id, mode FROM event_log
            WHERE event_type = 'rounding.recorded' AND merchant_id = \(merchantId) ORDER BY seq
            """).map { "\($0.text("type") ?? "") \($0.text("change") ?? "") \($0.text("mode") ?? "")" }
    }

    /// A sale rounded up 2, overridden to 730 (+5), then voided (−7): three events summing to zero, each with its
    /// record; a refused void and a tip append none.
    @Test func eachRecordedRoundingTransactionAppendsOneEvent() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let sale = try await f.sell(m)
        let id = try #require(sale["id"])
        let override = await f.post("/transaction/override", key: m.merchant, [
            "transaction_id": id, "employee_id": "EMP-7", "employee_name": "Jane Manager", "reason": "manager-discretion",
            "new_cash_total_cents": 730])
        #expect(override.status == 200)
        let tip = await f.post("/tip/cash", key: m.merchant, ["transaction_id": id, "employee_id": "EMP-1",
                                                               "employee_name": "Sam Server", "tip_amount": "2.00"])
        #expect(tip.status == 200)
        let void = await f.post("/transaction/void", key: m.merchant, ["original_transaction_id": id,
                                                                      "void_reason": "customer_changed_mind", "voided_by": "EMP-001"])
        #expect(void.status == 200)
        let again = await f.post("/transaction/void", key: m.merchant, ["original_transaction_id": id,
                                                                       "void_reason": "customer_changed_mind", "voided_by": "EMP-001"])
        #expect(again.status == 409)
        #expect(try await events(f, m.id) == ["SALE 2 test", "OVERRIDE 5 test", "VOID -7 test"])
        let records = try await f.database.queryFirst("""
            SELECT count(*) AS n FROM rounding_records WHERE merchant_id = \(m.id) AND event_type IN ('SALE', 'OVERRIDE', 'VOID', 'REFUND')
            """)
        #expect(try records?.decode("n", as: Int64.self) == 3)
        let ids = try await f.database.query("""
            SELECT resource_id FROM event_log WHERE event_type = 'rounding.recorded' AND merchant_id = \(m.id) ORDER BY seq
            """).compactMap { $0.text("resource_id") }
        #expect(ids.first == id.stringValue && ids.last == void.bodyJSON?["void"]?["id"]?.stringValue)
    }

    /// Refunds: the completing refund reverses the sale's rounding (−2 after +2).
    @Test func aCompletingRefundReversesTheSalesRounding() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let sale = try await f.sell(m)
        let partial = await f.post("/transaction/refund", key: m.merchant, ["original_transaction_id": sale["id"]!, "refund_amount": 700,
                                   "void_reason": "wrong_item", "voided_by": "EMP-001"])
        #expect(partial.status == 200)
        let rest = await f.post("/transaction/refund", key: m.merchant, ["original_transaction_id": sale["id"]!, "refund_amount": 25,
                                "void_reason": "wrong_item", "voided_by": "EMP-001"])
        #expect(rest.status == 200)
        #expect(try await events(f, m.id) == ["SALE 2 test", "REFUND 0 test", "REFUND -2 test"])
    }
}
