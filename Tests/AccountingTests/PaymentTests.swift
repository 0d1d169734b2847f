@testable import Accounting
import AtlasTestSupport
import Foundation
import Kernel
import Postgres
import Testing

/// Payments received (spec B.3 B22–B24, B25 with payments, B26; issue 11 "50 parallel payments applied to one
/// invoice never overpay it"): apply, auto-apply, unapply, void, the receivable and the events.
@Suite(.serialized) struct PaymentTests {
    struct Books {
        let fixture: AccountingFixture
        let company: String
        let accounts: [String: String]
        let customer: String

        /// A sent invoice of 330.00 (2 × 150.00 + 10 %), due far ahead.
        func sentInvoice() async throws -> String {
            let created = await fixture.send(.post, "/api/v1/invoices/", [
                "customer_id": .string(customer), "invoice_date": "2026-01-05", "due_date": "2099-01-01",
                "lines": [["description": "Widget", "quantity": 2, "unit_price": "150.00", "tax_rate": 10,
                           "revenue_account_id": .string(accounts["4000"] ?? "")]]])
            let id = try #require(created.json["id"]?.stringValue)
            #expect(await fixture.send(.post, "/api/v1/invoices/\(id)/send").status == 200)
            return id
        }

        func pay(_ amount: String, invoice: String? = nil, applied: String? = nil) async -> Response {
            var body: [String: JSONValue] = ["customer_id": .string(customer), "payment_date": "2026-01-20", "amount": .string(amount),
                                             "payment_method": "check", "deposit_account_id": .string(accounts["1010"] ?? "")]
            if let invoice { body["applications"] = [["invoice_id": .string(invoice), "amount_applied": .string(applied ?? amount)]] }
            return await fixture.send(.post, "/api/v1/payments/", .object(body))
        }

        func invoice(_ id: String) async -> JSONValue { await fixture.send(.get, "/api/v1/invoices/\(id)").json }
    }

    func books() async throws -> Books {
        let fixture = try await AccountingFixture.make()
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        let customer = await fixture.send(.post, "/api/v1/customers/", ["display_name": "Customer C"])
        return Books(fixture: fixture, company: company, accounts: accounts, customer: try #require(customer.json["id"]?.stringValue))
    }

    @Test func partialThenPaidThenOverpaymentUnapplyAndVoid() async throws {
        let books = try await books()
        let fixture = books.fixture
        defer { fixture.close() }
        let invoice = try await books.sentInvoice()

        for (body, field): (JSONValue, String) in [
            (["customer_id": .string(books.customer), "payment_date": "2026-01-20", "amount": "0", "payment_method": "check",
              "deposit_account_id": .string(books.accounts["1010"] ?? "")], "amount"),
            (["customer_id": .string(books.customer), "payment_date": "2026-01-20", "amount": "10", "payment_method": "barter",
              "deposit_account_id": .string(books.accounts["1010"] ?? "")], "payment_method"),
            (["customer_id": .string(books.customer), "payment_date": "2026-01-20", "amount": "10", "payment_method": "cash",
              "deposit_account_id": .string(books.accounts["4000"] ?? "")], "deposit_account_id"),
            (["customer_id": .string(books.customer), "payment_date": "2026-01-20", "amount": "10", "payment_method": "cash"],
             "deposit_account_id"),
        ] {
            let response = await fixture.send(.post, "/api/v1/payments/", body)
            #expect(response.status == 422 && response.firstErrorField == field, "\(field): \(response.bodyText)")
        }

        // B22: 100 applied → partial; payment.received.
        let first = await books.pay("100.00", invoice: invoice)
        #expect(first.status == 201)
        #expect(first.json["payment_number"]?.stringValue?.wholeMatch(of: /PMT-\d{4}-\d{4}/) != nil)
        #expect(first.json["unapplied_amount"] == "0.00")
        var state = await books.invoice(invoice)
        #expect(state["status"] == "partial" && state["amount_paid"] == "100.00" && state["amount_due"] == "230.00")
        // B24: 50 more than the amount due → 409, nothing applied.
        let over = await books.pay("280.00", invoice: invoice)
        #expect(over.status == 409)
        #expect(await books.invoice(invoice)["amount_due"] == "230.00")
        // B23: 230 → paid; invoice.paid.
        let second = await books.pay("230.00", invoice: invoice)
        #expect(second.status == 201)
        state = await books.invoice(invoice)
        #expect(state["status"] == "paid" && state["amount_due"] == "0.00")
        #expect(await fixture.balance(try #require(books.accounts["1100"])) == "0.00")
        #expect(await fixture.balance(try #require(books.accounts["1010"])) == "330.00")
        // B25: an invoice with payments cannot be voided.
        #expect(await fixture.send(.post, "/api/v1/invoices/\(invoice)/void", ["reason": "x"]).status == 409)

        // B26: a payment that is applied cannot be voided; deleting its application restores both amounts.
        let paymentId = try #require(second.json["id"]?.stringValue)
        #expect(await fixture.send(.post, "/api/v1/payments/\(paymentId)/void").status == 409)
        let application = try #require(second.json["applications"]?.firstLine?["id"]?.stringValue)
        #expect(await fixture.send(.delete, "/api/v1/payments/\(paymentId)/applications/\(application)").status == 204)
        #expect(await fixture.send(.get, "/api/v1/payments/\(paymentId)").json["unapplied_amount"] == "230.00")
        state = await books.invoice(invoice)
        #expect(state["status"] == "partial" && state["amount_due"] == "230.00")
        // Auto-apply puts it back; unapply again; then void reverses the payment's entry.
        let auto = await fixture.send(.post, "/api/v1/payments/\(paymentId)/auto-apply")
        #expect(auto.json["unapplied_amount"] == "0.00")
        #expect(await books.invoice(invoice)["status"] == "paid")
        let again = try #require(auto.json["applications"]?.firstLine?["id"]?.stringValue)
        #expect(await fixture.send(.delete, "/api/v1/payments/\(paymentId)/applications/\(again)").status == 204)
        let voided = await fixture.send(.post, "/api/v1/payments/\(paymentId)/void")
        #expect(voided.status == 200 && voided.json["status"] == "voided")
        #expect(await fixture.balance(try #require(books.accounts["1010"])) == "100.00")
        #expect(await fixture.send(.post, "/api/v1/payments/\(paymentId)/apply",
                                   ["invoice_id": .string(invoice), "amount": "1.00"]).status == 409)

        let events = try await fixture.database.query("""
            SELECT event_type FROM event_log WHERE event_type IN ('payment.received', 'invoice.paid') ORDER BY seq
            """).map { try $0.decode("event_type", as: String.self) }
        #expect(events == ["payment.received", "payment.received", "invoice.paid", "invoice.paid"])
        #expect(try await BalanceCheck(database: fixture.database).drifts().isEmpty)
    }

    @Test func fiftyParallelPaymentsNeverOverpayOneInvoice() async throws {
        let books = try await books()
        let fixture = books.fixture
        defer { fixture.close() }
        let invoice = try await books.sentInvoice()
        fixture.harness.clock.advance(seconds: 120)
        let statuses = Collected<Int>()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<50 {
                group.addTask { statuses.add(await books.pay("10.00", invoice: invoice).status) }
            }
        }
        // 330.00 takes 33 payments of 10.00; the other 17 are refused whole.
        #expect(statuses.all.filter { $0 == 201 }.count == 33)
        #expect(statuses.all.filter { $0 == 409 }.count == 17)
        let state = await books.invoice(invoice)
        #expect(state["status"] == "paid" && state["amount_paid"] == "330.00")
        #expect(try await BalanceCheck(database: fixture.database).drifts().isEmpty)
    }
}
