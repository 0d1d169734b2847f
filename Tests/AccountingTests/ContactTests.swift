import AtlasTestSupport
import Auth
import Foundation
import Kernel
import Testing

/// Customers and vendors (spec B.1; B.3 B34's first half): numbering, defaults, field rules, activate and
/// deactivate, balances, roles.
@Suite(.serialized) struct ContactTests {
    @Test func customersAndVendors() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)

        let terms = await fixture.send(.post, "/api/v1/customers/", ["display_name": "C", "payment_terms": "net_45"])
        #expect(terms.status == 422 && terms.firstErrorField == "payment_terms")
        for (bad, field): (JSONValue, String) in [
            (["email": "c@example.com"], "display_name"), (["display_name": ""], "display_name"),
            (["display_name": "C", "currency": "US"], "currency"), (["display_name": "C", "credit_limit": "-1"], "credit_limit"),
            (["display_name": "C", "credit_limit": "1.001"], "credit_limit"), (["display_name": "C", "email": "nobody"], "email"),
            (["display_name": "C", "billing_address": "12 Main St"], "billing_address"),
            (["display_name": "C", "default_expense_account_id": .string(accounts["6100"] ?? "")], "default_expense_account_id"),
        ] {
            let response = await fixture.send(.post, "/api/v1/customers", bad)
            #expect(response.status == 422, "\(bad)")
            #expect(response.firstErrorField == field, "\(bad)")
        }
        let created = await fixture.send(.post, "/api/v1/customers/", ["display_name": "Customer C", "email": "c@example.com",
                                                                       "credit_limit": "5000.00",
                                                                       "billing_address": ["city": "Phoenix"]])
        #expect(created.status == 201)
        #expect(created.json["customer_number"] == "CUST-00001")
        #expect(created.json["payment_terms"] == "net_30")
        #expect(created.json["currency"] == "USD")
        #expect(created.json["credit_limit"] == "5000.00")
        #expect(created.json["current_balance"] == "0.00")
        #expect(created.json["is_active"] == true)
        let id = try #require(created.json["id"]?.stringValue)
        let second = await fixture.send(.post, "/api/v1/customers/", ["display_name": "Customer D"])
        #expect(second.json["customer_number"] == "CUST-00002")

        let deactivated = await fixture.send(.post, "/api/v1/customers/\(id)/deactivate")
        #expect(deactivated.json["is_active"] == false)
        #expect(await fixture.send(.get, "/api/v1/customers/?is_active=true").json["total"]?.intValue == 1)
        #expect(await fixture.send(.post, "/api/v1/customers/\(id)/activate", [:]).json["is_active"] == true)
        let patched = await fixture.send(.patch, "/api/v1/customers/\(id)", ["payment_terms": "net_60", "display_name": "C2"])
        #expect(patched.json["payment_terms"] == "net_60" && patched.json["display_name"] == "C2")
        #expect(await fixture.send(.patch, "/api/v1/customers/\(id)", ["payment_terms": "net_45"]).status == 422)
        let balance = await fixture.send(.get, "/api/v1/customers/\(id)/balance")
        #expect(balance.json["open_invoices_count"]?.intValue == 0 && balance.json["total_open_amount"] == "0.00")
        // A customer is not a vendor.
        #expect(await fixture.send(.get, "/api/v1/vendors/\(id)").status == 404)

        let vendor = await fixture.send(.post, "/api/v1/vendors/", ["display_name": "Vendor V", "payment_terms": "due_on_receipt",
                                                                    "default_expense_account_id": .string(accounts["6100"] ?? "")])
        #expect(vendor.status == 201)
        #expect(vendor.json["vendor_number"] == "VEND-00001")
        #expect(vendor.json["default_expense_account_id"]?.stringValue == accounts["6100"])
        let unknownAccount = await fixture.send(.post, "/api/v1/vendors/", ["display_name": "V2",
                                                                            "default_expense_account_id": .string(UUID().uuidString)])
        #expect(unknownAccount.status == 422 && unknownAccount.firstErrorField == "default_expense_account_id")
        #expect(await fixture.send(.post, "/api/v1/vendors/", ["display_name": "V3", "credit_limit": "1"]).status == 422)

        let employee = try await fixture.token(.employee)
        #expect(await fixture.send(.get, "/api/v1/vendors/", token: employee).json["total"]?.intValue == 1)
        #expect(await fixture.send(.post, "/api/v1/vendors/", ["display_name": "E"], token: employee).status == 403)
        #expect(try await fixture.database.queryFirst("SELECT count(*) AS n FROM accounting_contacts")?.decode("n", as: Int.self) == 3)
    }
}
