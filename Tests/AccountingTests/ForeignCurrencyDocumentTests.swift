@testable import Accounting
import AtlasTestSupport
import Foundation
import Kernel
import Postgres
import Testing

/// Invoices, bills and payments in a currency other than the company's base currency (USD here): the document keeps its
/// currency and amounts, is booked at the rate of its date (or its own `exchange_rate`), posts in the base currency with
/// the original amounts on the lines, and a payment at another rate posts the realised gain or loss on 7950; reports
/// stay in the base currency and the ledger balances throughout.
@Suite(.serialized) struct ForeignCurrencyDocumentTests {
    struct Books {
        let fixture: AccountingFixture
        let company: String
        let accounts: [String: String]

        func rate(_ from: String, _ value: String, _ date: String) async {
            let created = await fixture.send(.post, "/api/v1/exchange-rates/", ["from_currency": .string(from), "to_currency": "USD",
                                                                                "rate": .string(value), "effective_date": .string(date)])
            #expect(created.status == 201, "\(created.bodyText)")
        }

        func contact(_ kind: String, currency: String) async throws -> String {
            let created = await fixture.send(.post, "/api/v1/\(kind)/", ["display_name": .string("\(currency) \(kind)"),
                                                                         "currency": .string(currency)])
            return try #require(created.json["id"]?.stringValue, "\(created.bodyText)")
        }

        func invoice(_ customer: String, price: String, date: String = "2026-01-10", extra: [String: JSONValue] = [:]) async -> Response {
            var body: [String: JSONValue] = [
                "customer_id": .string(customer), "invoice_date": .string(date),
                "lines": [["description": "Consulting", "unit_price": .string(price), "revenue_account_id": .string(accounts["4000"] ?? "")]]]
            body.merge(extra) { _, new in new }
            return await fixture.send(.post, "/api/v1/invoices/", .object(body))
        }

        func bill(_ vendor: String, price: String, date: String = "2026-01-08", extra: [String: JSONValue] = [:]) async -> Response {
            var body: [String: JSONValue] = [
                "vendor_id": .string(vendor), "bill_date": .string(date),
                "lines": [["description": "Parts", "unit_price": .string(price), "expense_account_id": .string(accounts["6100"] ?? "")]]]
            body.merge(extra) { _, new in new }
            return await fixture.send(.post, "/api/v1/bills/", .object(body))
        }

        func balance(_ number: String) async -> String? { await fixture.balance(accounts[number] ?? "") }

        func entryLines(_ id: String) async -> [JSONValue] {
            guard case .array(let lines)? = await fixture.send(.get, "/api/v1/journal-entries/\(id)").json["lines"] else { return [] }
            return lines
        }

        func expectBalanced() async throws {
            let trial = await fixture.send(.get, "/api/v1/reports/trial-balance?as_of_date=2026-12-31")
            #expect(trial.json["is_balanced"] == true && trial.json["total_debits"] == trial.json["total_credits"], "\(trial.bodyText)")
            #expect(try await BalanceCheck(database: fixture.database).drifts().isEmpty)
        }
    }

    func books() async throws -> Books {
        let fixture = try await AccountingFixture.make()
        let company = try await fixture.company()
        return Books(fixture: fixture, company: company, accounts: try await fixture.accounts(company))
    }

    @Test func aEuroInvoicePaidAtAnotherRatePostsTheRealisedGain() async throws {
        let books = try await books()
        let fixture = books.fixture
        defer { fixture.close() }
        await books.rate("EUR", "1.10", "2026-01-01")
        await books.rate("EUR", "1.20", "2026-02-01")
        let customer = try await books.contact("customers", currency: "EUR")

        let created = await books.invoice(customer, price: "100.00")
        #expect(created.status == 201, "\(created.bodyText)")
        #expect(created.json["currency"] == "EUR" && created.json["exchange_rate"] == "1.1" && created.json["total_amount"] == "100.00")
        let invoice = try #require(created.json["id"]?.stringValue)
        let sent = await fixture.send(.post, "/api/v1/invoices/\(invoice)/send")
        #expect(sent.status == 200, "\(sent.bodyText)")
        let entry = try #require(sent.json["journal_entry_id"]?.stringValue)
        let receivable = await books.entryLines(entry).first { $0["account_id"] == .string(books.accounts["1100"] ?? "") }
        #expect(receivable?["amount"] == "100.00" && receivable?["currency"] == "EUR" && receivable?["exchange_rate"] == "1.1")
        #expect(receivable?["base_amount"] == "110.00" && receivable?["entry_type"] == "debit")
        #expect(await books.balance("1100") == "110.00")
        #expect(await books.balance("4000") == "110.00")
        // AR aging is in the base currency.
        let aging = await fixture.send(.get, "/api/v1/reports/ar-aging?as_of_date=2026-01-31")
        #expect(aging.json["currency"] == "USD" && aging.json["totals"]?["total"] == "110.00", "\(aging.bodyText)")

        // Paid on 2026-02-10 at 1.20: the euros are worth 120.00, 10.00 more than booked: a realised gain.
        let paid = await fixture.send(.post, "/api/v1/payments/", [
            "customer_id": .string(customer), "payment_date": "2026-02-10", "amount": "100.00", "payment_method": "wire",
            "deposit_account_id": .string(books.accounts["1010"] ?? ""),
            "applications": [["invoice_id": .string(invoice), "amount_applied": "100.00"]]])
        #expect(paid.status == 201, "\(paid.bodyText)")
        #expect(paid.json["currency"] == "EUR" && paid.json["exchange_rate"] == "1.2" && paid.json["amount"] == "100.00")
        let payment = try #require(paid.json["id"]?.stringValue)
        #expect(await fixture.send(.get, "/api/v1/invoices/\(invoice)").json["status"] == "paid")
        #expect(await books.balance("1010") == "120.00")
        #expect(await books.balance("1100") == "0.00")
        #expect(await books.balance("7950") == "-10.00")
        try await books.expectBalanced()
        #expect(await fixture.send(.get, "/api/v1/reports/ar-aging?as_of_date=2026-02-28").json["totals"]?["total"] == "0.00")

        // Deleting the application reverses the gain; applying again posts it again.
        guard case .array(let applications)? = paid.json["applications"] else { Issue.record("no applications"); return }
        let application = try #require(applications.first?["id"]?.stringValue)
        #expect(await fixture.send(.delete, "/api/v1/payments/\(payment)/applications/\(application)").status == 204)
        #expect(await books.balance("7950") == "0.00")
        #expect(await books.balance("1100") == "-10.00")
        try await books.expectBalanced()
        let reapplied = await fixture.send(.post, "/api/v1/payments/\(payment)/apply", ["invoice_id": .string(invoice), "amount": "40.00"])
        #expect(reapplied.status == 200, "\(reapplied.bodyText)")
        #expect(await books.balance("7950") == "-4.00")
        let rest = await fixture.send(.post, "/api/v1/payments/\(payment)/auto-apply")
        #expect(rest.status == 200 && rest.json["unapplied_amount"] == "0.00", "\(rest.bodyText)")
        #expect(await books.balance("7950") == "-10.00")
        #expect(await books.balance("1100") == "0.00")
        try await books.expectBalanced()
    }

    /// 20 parallel euro payments of 10.00 against one 100.00 EUR invoice: exactly 10 apply, each posting its 1.00 USD
    /// gain once, and the receivable ends at zero with the ledger balanced and no day balance drifted.
    @Test func parallelForeignPaymentsNeverOverpayAndPostEachDifferenceOnce() async throws {
        let books = try await books()
        let fixture = books.fixture
        defer { fixture.close() }
        await books.rate("EUR", "1.10", "2026-01-01")
        await books.rate("EUR", "1.20", "2026-02-01")
        let customer = try await books.contact("customers", currency: "EUR")
        let invoice = try #require(await books.invoice(customer, price: "100.00").json["id"]?.stringValue)
        #expect(await fixture.send(.post, "/api/v1/invoices/\(invoice)/send").status == 200)
        fixture.harness.clock.advance(seconds: 120)
        let statuses = Collected<Int>()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    let response = await fixture.send(.post, "/api/v1/payments/", [
                        "customer_id": .string(customer), "payment_date": "2026-02-10", "amount": "10.00", "payment_method": "wire",
                        "deposit_account_id": .string(books.accounts["1010"] ?? ""),
                        "applications": [["invoice_id": .string(invoice), "amount_applied": "10.00"]]])
                    statuses.add(response.status)
                }
            }
        }
        #expect(statuses.all.filter { $0 == 201 }.count == 10)
        #expect(statuses.all.filter { $0 == 409 }.count == 10)
        #expect(await fixture.send(.get, "/api/v1/invoices/\(invoice)").json["status"] == "paid")
        #expect(await books.balance("7950") == "-10.00")
        #expect(await books.balance("1100") == "0.00")
        #expect(await books.balance("1010") == "120.00")
        try await books.expectBalanced()
    }

    @Test func aKuwaitiDinarBillPaidAtAHigherRatePostsTheRealisedLoss() async throws {
        let books = try await books()
        let fixture = books.fixture
        defer { fixture.close() }
        await books.rate("KWD", "3.25", "2026-01-01")
        await books.rate("KWD", "3.30", "2026-02-01")
        let vendor = try await books.contact("vendors", currency: "KWD")
        // Exponent 3: a fourth decimal is refused on the field.
        let tooPrecise = await books.bill(vendor, price: "12.3456")
        #expect(tooPrecise.status == 422 && tooPrecise.firstErrorField == "lines[0].unit_price", "\(tooPrecise.bodyText)")

        let created = await books.bill(vendor, price: "12.345")
        #expect(created.status == 201 && created.json["total_amount"] == "12.345" && created.json["exchange_rate"] == "3.25",
                "\(created.bodyText)")
        let bill = try #require(created.json["id"]?.stringValue)
        #expect(await fixture.send(.post, "/api/v1/bills/\(bill)/approve?ap_account_id=\(books.accounts["2000"] ?? "")").status == 200)
        // 12.345 KWD × 3.25 = 40.12125 → 40.12 USD.
        #expect(await books.balance("2000") == "40.12")
        #expect(await books.balance("6100") == "40.12")
        #expect(await fixture.send(.get, "/api/v1/reports/ap-aging?as_of_date=2026-01-31").json["totals"]?["total"] == "40.12")

        // Paid on 2026-02-05 at 3.30: 40.74 USD (40.7385) for what was booked at 40.12: a 0.62 loss.
        let paid = await fixture.send(.post, "/api/v1/payments-made/", [
            "vendor_id": .string(vendor), "payment_date": "2026-02-05", "amount": "12.345", "payment_method": "wire",
            "payment_account_id": .string(books.accounts["1010"] ?? ""),
            "applications": [["bill_id": .string(bill), "amount_applied": "12.345"]]])
        #expect(paid.status == 201, "\(paid.bodyText)")
        #expect(await fixture.send(.get, "/api/v1/bills/\(bill)").json["status"] == "paid")
        #expect(await books.balance("1010") == "-40.74")
        #expect(await books.balance("2000") == "0.00")
        #expect(await books.balance("7950") == "0.62")
        try await books.expectBalanced()
    }

    @Test func aYenInvoiceUsesWholeUnitsAndItsOwnRate() async throws {
        let books = try await books()
        let fixture = books.fixture
        defer { fixture.close() }
        let customer = try await books.contact("customers", currency: "JPY")
        let fractional = await books.invoice(customer, price: "1500.5", extra: ["exchange_rate": "0.0067"])
        #expect(fractional.status == 422 && fractional.firstErrorField == "lines[0].unit_price", "\(fractional.bodyText)")
        // No rate in the table: the invoice's own exchange_rate books it.
        let created = await books.invoice(customer, price: "1500", extra: ["exchange_rate": "0.0067"])
        #expect(created.status == 201 && created.json["total_amount"] == "1500" && created.json["exchange_rate"] == "0.0067",
                "\(created.bodyText)")
        let invoice = try #require(created.json["id"]?.stringValue)
        #expect(await fixture.send(.post, "/api/v1/invoices/\(invoice)/send").status == 200)
        #expect(await books.balance("1100") == "10.05")
        #expect(await fixture.send(.get, "/api/v1/reports/ar-aging?as_of_date=2026-01-31").json["totals"]?["total"] == "10.05")
        // A payment without a rate for its date is refused on exchange_rate; with the same rate there is no difference.
        var body: [String: JSONValue] = ["customer_id": .string(customer), "payment_date": "2026-01-20", "amount": "1500",
                                         "payment_method": "cash", "deposit_account_id": .string(books.accounts["1000"] ?? ""),
                                         "applications": [["invoice_id": .string(invoice), "amount": "1500"]]]
        let missing = await fixture.send(.post, "/api/v1/payments/", .object(body))
        #expect(missing.status == 422 && missing.firstErrorField == "exchange_rate", "\(missing.bodyText)")
        body["exchange_rate"] = "0.0067"
        let paid = await fixture.send(.post, "/api/v1/payments/", .object(body))
        #expect(paid.status == 201 && paid.json["amount"] == "1500", "\(paid.bodyText)")
        #expect(await books.balance("1100") == "0.00")
        #expect(await books.balance("1000") == "10.05")
        #expect(await books.balance("7950") == "0.00")
        try await books.expectBalanced()
    }

    @Test func aDocumentWithoutARateIsRefusedOnExchangeRate() async throws {
        let books = try await books()
        let fixture = books.fixture
        defer { fixture.close() }
        let customer = try await books.contact("customers", currency: "EUR")
        let vendor = try await books.contact("vendors", currency: "EUR")
        let dollars = try await books.contact("customers", currency: "USD")
        let expected = "exchange_rate is required: there is no EUR→USD exchange rate effective on or before the invoice_date 2026-01-10"
        let invoice = await books.invoice(customer, price: "10.00")
        #expect(invoice.status == 422 && invoice.firstErrorField == "exchange_rate" && invoice.detail == expected, "\(invoice.bodyText)")
        #expect(invoice.json["status_code"] == 422)
        let bill = await books.bill(vendor, price: "10.00")
        #expect(bill.status == 422 && bill.firstErrorField == "exchange_rate", "\(bill.bodyText)")
        let payment = await fixture.send(.post, "/api/v1/payments-made/", [
            "vendor_id": .string(vendor), "payment_date": "2026-01-10", "amount": "10.00", "payment_method": "wire",
            "payment_account_id": .string(books.accounts["1010"] ?? "")])
        #expect(payment.status == 422 && payment.firstErrorField == "exchange_rate", "\(payment.bodyText)")
        // A rate effective only after the date does not count.
        await books.rate("EUR", "1.10", "2026-01-11")
        #expect(await books.invoice(customer, price: "10.00").firstErrorField == "exchange_rate")
        for (contact, extra, field): (String, [String: JSONValue], String) in [
            (customer, ["currency": "GBP"], "currency"), (customer, ["exchange_rate": "0"], "exchange_rate"),
            (customer, ["exchange_rate": "-1.1"], "exchange_rate"), (customer, ["exchange_rate": "abc"], "exchange_rate"),
            (dollars, ["exchange_rate": "1.5"], "exchange_rate"),
        ] {
            let response = await books.invoice(contact, price: "10.00", extra: extra)
            #expect(response.status == 422 && response.firstErrorField == field, "\(extra): \(response.bodyText)")
        }
        // Nothing was written; the base-currency customer's invoice takes rate 1.
        #expect(await fixture.send(.get, "/api/v1/invoices/").json["total"] == 0)
        #expect(await fixture.send(.get, "/api/v1/bills/").json["total"] == 0)
        #expect(await fixture.send(.get, "/api/v1/payments-made/").json["total"] == 0)
        let plain = await books.invoice(dollars, price: "10.00", extra: ["exchange_rate": "1"])
        #expect(plain.status == 201 && plain.json["exchange_rate"] == "1", "\(plain.bodyText)")
    }
}
