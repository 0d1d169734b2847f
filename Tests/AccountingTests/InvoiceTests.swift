import AtlasTestSupport
import Foundation
import Kernel
import Postgres
import Testing

/// Invoices (spec B.3 B18–B21, B25 without payments, B34's second half): numbering, arithmetic, field rules,
/// send posting the receivable, the state machine's illegal transitions, void with a reversing entry, events.
@Suite(.serialized) struct InvoiceTests {
    @Test func draftSendViewVoid() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        let revenue = try #require(accounts["4000"])
        let customer = await fixture.send(.post, "/api/v1/customers/", ["display_name": "Customer C"])
        let customerId = try #require(customer.json["id"]?.stringValue)
        func line(_ quantity: JSONValue, _ price: JSONValue, _ rate: JSONValue = 10, description: JSONValue = "Widget") -> JSONValue {
            ["description": description, "quantity": quantity, "unit_price": price, "tax_rate": rate, "revenue_account_id": .string(revenue)]
        }

        // B19: field rules.
        for (bad, field): (JSONValue, String) in [(line(0, "150.00"), "lines[0].quantity"), (line(2, -1), "lines[0].unit_price"),
                                                  (line(2, "150.00", description: ""), "lines[0].description"),
                                                  (line(2, "150.001"), "lines[0].unit_price"), (line(2, "150", -5), "lines[0].tax_rate")] {
            let response = await fixture.send(.post, "/api/v1/invoices/", ["customer_id": .string(customerId),
                                                                           "invoice_date": "2026-01-05", "lines": [bad]])
            #expect(response.status == 422, "\(bad)")
            #expect(response.firstErrorField == field, "\(bad): \(response.bodyText)")
        }
        #expect(await fixture.send(.post, "/api/v1/invoices/", ["invoice_date": "2026-01-05", "lines": [line(2, "150.00")]])
                    .firstErrorField == "customer_id")
        let wrongAccount = await fixture.send(.post, "/api/v1/invoices/", [
            "customer_id": .string(customerId), "invoice_date": "2026-01-05",
            "lines": [["description": "x", "unit_price": "1", "revenue_account_id": .string(accounts["1000"] ?? "")]]])
        #expect(wrongAccount.firstErrorField == "lines[0].revenue_account_id")

        // B18 and B34: 2 × 150.00 at 10 %; no due date → invoice date + 30 days (net_30).
        let created = await fixture.send(.post, "/api/v1/invoices/", ["customer_id": .string(customerId), "invoice_date": "2026-01-05",
                                                                      "lines": [line(2, "150.00")]])
        #expect(created.status == 201)
        let json = created.json
        #expect(json["status"] == "draft")
        #expect(json["invoice_number"]?.stringValue?.wholeMatch(of: /INV-\d{4}-\d{4}/) != nil)
        #expect(json["subtotal"] == "300.00" && json["tax_amount"] == "30.00" && json["total_amount"] == "330.00")
        #expect(json["amount_due"] == "330.00" && json["journal_entry_id"] == .null)
        #expect(json["due_date"] == "2026-02-04")
        let id = try #require(json["id"]?.stringValue)
        let patched = await fixture.send(.patch, "/api/v1/invoices/\(id)", ["notes": "Thanks", "lines": [line("1.5", "100.00", 0)]])
        #expect(patched.status == 200 && patched.json["total_amount"] == "150.00")
        // A due date far ahead, so the sent invoice is not overdue on the day the test runs.
        let restored = await fixture.send(.patch, "/api/v1/invoices/\(id)", ["lines": [line(2, "150.00")], "due_date": "2099-01-31"])
        #expect(restored.json["total_amount"] == "330.00" && restored.json["due_date"] == "2099-01-31")
        #expect(await fixture.send(.patch, "/api/v1/invoices/\(id)", ["due_date": "2025-12-31"]).firstErrorField == "due_date")

        // Illegal transitions on a draft.
        #expect(await fixture.send(.post, "/api/v1/invoices/\(id)/void", ["reason": "x"]).status == 409)
        #expect(await fixture.send(.post, "/api/v1/invoices/\(id)/mark-viewed").status == 409)

        // B20: send posts DR AR 330 / CR revenue 300 + tax 30.
        let sent = await fixture.send(.post, "/api/v1/invoices/\(id)/send")
        #expect(sent.status == 200)
        #expect(sent.json["status"] == "sent" && sent.json["sent_at"]?.stringValue != nil)
        let entryId = try #require(sent.json["journal_entry_id"]?.stringValue)
        let entry = await fixture.send(.get, "/api/v1/journal-entries/\(entryId)")
        #expect(entry.json["total_debit"] == "330.00" && entry.json["status"] == "posted")
        #expect(await fixture.balance(try #require(accounts["1100"])) == "330.00")
        #expect(await fixture.balance(try #require(accounts["2200"])) == "30.00")
        #expect(await fixture.balance(revenue) == "300.00")
        // B21 and a second send.
        let frozen = await fixture.send(.patch, "/api/v1/invoices/\(id)", ["notes": "late"])
        #expect(frozen.status == 409 && frozen.detail?.contains("draft") == true)
        #expect(await fixture.send(.post, "/api/v1/invoices/\(id)/send").status == 409)
        #expect(await fixture.send(.post, "/api/v1/invoices/\(id)/mark-viewed").json["status"] == "viewed")

        // B25: void with a reason → voided and reversed; without one → 422; twice → 409.
        #expect(await fixture.send(.post, "/api/v1/invoices/\(id)/void", [:]).firstErrorField == "reason")
        let voided = await fixture.send(.post, "/api/v1/invoices/\(id)/void", ["reason": "duplicate"])
        #expect(voided.status == 200 && voided.json["status"] == "voided")
        #expect(voided.json["void_entry_id"]?.stringValue != nil)
        #expect(await fixture.balance(try #require(accounts["1100"])) == "0.00")
        #expect(await fixture.send(.post, "/api/v1/invoices/\(id)/void", ["reason": "again"]).status == 409)

        let events = try await fixture.database.query("""
            SELECT event_type FROM event_log WHERE event_type LIKE 'invoice.%' ORDER BY seq
            """).map { try $0.decode("event_type", as: String.self) }
        #expect(events == ["invoice.created", "invoice.sent"])
        // Overdue is derived on read: a sent invoice past its due date with an amount due.
        let late = await fixture.send(.post, "/api/v1/invoices/", ["customer_id": .string(customerId), "invoice_date": "2026-01-05",
                                                                   "lines": [line(1, "10.00")]])
        let lateId = try #require(late.json["id"]?.stringValue)
        #expect(await fixture.send(.post, "/api/v1/invoices/\(lateId)/send").json["status"] == "overdue")
        let list = await fixture.send(.get, "/api/v1/invoices/?status=voided&customer_id=\(customerId)")
        #expect(list.json["total"]?.intValue == 1)
        #expect(await fixture.send(.get, "/api/v1/invoices/?status=lost").status == 422)
    }
}
