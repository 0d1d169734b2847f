@testable import Accounting
import AtlasTestSupport
import Foundation
import Kernel
import Postgres
import Testing

/// Bills (spec B.3 B27): approve needs `ap_account_id`; approval posts DR expense / CR payables and fires
/// `bill.approved`; a later PATCH is refused; void reverses; numbering and field rules.
@Suite(.serialized) struct BillTests {
    @Test func draftApproveVoid() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        let vendor = await fixture.send(.post, "/api/v1/vendors/", ["display_name": "Vendor V",
                                                                    "default_expense_account_id": .string(accounts["6100"] ?? "")])
        let vendorId = try #require(vendor.json["id"]?.stringValue)
        let rejected = await fixture.send(.post, "/api/v1/bills/", [
            "vendor_id": .string(vendorId), "bill_date": "2026-01-08",
            "lines": [["description": "Power", "unit_price": "120.00", "expense_account_id": .string(accounts["4000"] ?? "")]]])
        #expect(rejected.status == 422 && rejected.firstErrorField == "lines[0].expense_account_id")
        #expect(await fixture.send(.post, "/api/v1/bills/", ["bill_date": "2026-01-08", "lines": []]).firstErrorField == "vendor_id")

        // The line takes the vendor's default expense account.
        let created = await fixture.send(.post, "/api/v1/bills/", ["vendor_id": .string(vendorId), "bill_date": "2026-01-08",
                                                                   "vendor_bill_number": "V-77",
                                                                   "lines": [["description": "Power", "unit_price": "120.00"]]])
        #expect(created.status == 201)
        #expect(created.json["bill_number"]?.stringValue?.wholeMatch(of: /BILL-\d{4}-\d{4}/) != nil)
        #expect(created.json["status"] == "draft" && created.json["total_amount"] == "120.00")
        #expect(created.json["due_date"] == "2026-02-07")
        let id = try #require(created.json["id"]?.stringValue)
        #expect(await fixture.send(.patch, "/api/v1/bills/\(id)", ["lines": [["description": "Power", "unit_price": "150.00",
                                                                              "quantity": 1]]]).json["total_amount"] == "150.00")
        #expect(await fixture.send(.post, "/api/v1/bills/\(id)/void", ["reason": "x"]).status == 409)

        // B27: approve without ap_account_id → 422; with one → approved, posted, bill.approved.
        let missing = await fixture.send(.post, "/api/v1/bills/\(id)/approve", [:])
        #expect(missing.status == 422 && missing.firstErrorField == "ap_account_id")
        #expect(await fixture.send(.post, "/api/v1/bills/\(id)/approve", ["ap_account_id": .string(accounts["6100"] ?? "")])
                    .firstErrorField == "ap_account_id")
        let approved = await fixture.send(.post, "/api/v1/bills/\(id)/approve", ["ap_account_id": .string(accounts["2000"] ?? "")])
        #expect(approved.status == 200)
        #expect(approved.json["status"] == "approved" && approved.json["approved_by"]?.stringValue != nil)
        #expect(await fixture.balance(try #require(accounts["6100"])) == "150.00")
        #expect(await fixture.balance(try #require(accounts["2000"])) == "150.00")
        #expect(await fixture.send(.patch, "/api/v1/bills/\(id)", ["vendor_bill_number": "V-78"]).status == 409)
        #expect(await fixture.send(.post, "/api/v1/bills/\(id)/approve", ["ap_account_id": .string(accounts["2000"] ?? "")]).status == 409)
        let events = try await fixture.database.query("SELECT count(*) AS n FROM event_log WHERE event_type = 'bill.approved'")
        #expect(try events.first?.decode("n", as: Int.self) == 1)

        let voided = await fixture.send(.post, "/api/v1/bills/\(id)/void", ["reason": "entered twice"])
        #expect(voided.status == 200 && voided.json["status"] == "voided")
        #expect(await fixture.balance(try #require(accounts["2000"])) == "0.00")
        #expect(await fixture.send(.get, "/api/v1/bills/?status=voided&vendor_id=\(vendorId)").json["total"]?.intValue == 1)
        #expect(try await BalanceCheck(database: fixture.database).drifts().isEmpty)
    }
}
