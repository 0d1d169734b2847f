@testable import Accounting
import AtlasTestSupport
import Foundation
import Kernel
import Postgres
import Testing

/// Payments made (bill payments; spec B.1 "same operations as payments received", B.2 rules 12–14): DR payables /
/// CR the payment account, PAY-YYYY-NNNN, partial and full payment of bills, overpayment refused whole, unapply,
/// auto-apply, void only while unapplied; the ledger balances after every step.
@Suite(.serialized) struct PaymentMadeTests {
    struct Books {
        let fixture: AccountingFixture
        let accounts: [String: String]
        let vendor: String

        /// An approved bill of 150.00 (AP 2000, expense 6100), due `due`.
        func approvedBill(due: String = "2099-01-01") async throws -> String {
            let created = await fixture.send(.post, "/api/v1/bills/", [
                "vendor_id": .string(vendor), "bill_date": "2026-01-08", "due_date": .string(due),
                "lines": [["description": "Power", "unit_price": "150.00", "expense_account_id": .string(accounts["6100"] ?? "")]]])
            let id = try #require(created.json["id"]?.stringValue, "\(created.bodyText)")
            let approved = await fixture.send(.post, "/api/v1/bills/\(id)/approve?ap_account_id=\(accounts["2000"] ?? "")")
            #expect(approved.status == 200, "\(approved.bodyText)")
            return id
        }

        func pay(_ amount: String, bill: String? = nil, applied: String? = nil) async -> Response {
            var body: [String: JSONValue] = ["vendor_id": .string(vendor), "payment_date": "2026-01-20", "amount": .string(amount),
                                             "payment_method": "ach", "payment_account_id": .string(accounts["1010"] ?? "")]
            if let bill { body["applications"] = [["bill_id": .string(bill), "amount_applied": .string(applied ?? amount)]] }
            return await fixture.send(.post, "/api/v1/payments-made/", .object(body))
        }

        func bill(_ id: String) async -> JSONValue { await fixture.send(.get, "/api/v1/bills/\(id)").json }

        /// Σ debits = Σ credits over the live ledger, and no day balance drifted from the lines.
        func expectBalanced() async throws {
            let trial = await fixture.send(.get, "/api/v1/reports/trial-balance?as_of_date=2026-12-31")
            #expect(trial.json["is_balanced"] == true && trial.json["total_debits"] == trial.json["total_credits"])
            #expect(try await BalanceCheck(database: fixture.database).drifts().isEmpty)
        }
    }

    func books() async throws -> Books {
        let fixture = try await AccountingFixture.make()
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        let vendor = await fixture.send(.post, "/api/v1/vendors/", ["display_name": "Vendor V"])
        return Books(fixture: fixture, accounts: accounts, vendor: try #require(vendor.json["id"]?.stringValue))
    }

    @Test func badInputIsRefusedWithTheFieldAndNothingIsWritten() async throws {
        let books = try await books()
        let fixture = books.fixture
        defer { fixture.close() }
        let bill = try await books.approvedBill()
        let base: [String: JSONValue] = ["vendor_id": .string(books.vendor), "payment_date": "2026-01-20", "amount": "10.00",
                                         "payment_method": "ach", "payment_account_id": .string(books.accounts["1010"] ?? "")]
        func with(_ key: String, _ value: JSONValue?) -> JSONValue {
            var body = base
            body[key] = value
            return .object(body)
        }
        for (body, field): (JSONValue, String) in [
            (with("amount", "0"), "amount"), (with("amount", "-5"), "amount"), (with("amount", "1.001"), "amount"),
            (with("payment_method", "stripe"), "payment_method"),
            (with("payment_account_id", .string(books.accounts["4000"] ?? "")), "payment_account_id"),
            (with("payment_account_id", nil), "payment_account_id"), (with("vendor_id", nil), "vendor_id"),
            (with("payment_date", "2026-02-30"), "payment_date"),
            (with("applications", [["bill_id": "not-a-uuid", "amount": "1.00"]]), "applications[0].bill_id"),
            (with("applications", [["bill_id": .string(AccountingInput.newId()), "amount": "1.00"]]), "applications[0].bill_id"),
        ] {
            let response = await fixture.send(.post, "/api/v1/payments-made/", body)
            #expect(response.status == 422 && response.firstErrorField == field, "\(field): \(response.bodyText)")
            #expect(response.json["status_code"] == 422)
        }
        // A customer is not a vendor.
        let customer = await fixture.send(.post, "/api/v1/customers/", ["display_name": "Customer C"])
        #expect(await fixture.send(.post, "/api/v1/payments-made/", with("vendor_id", customer.json["id"]))
                    .firstErrorField == "vendor_id")
        #expect(await fixture.send(.get, "/api/v1/payments-made/").json["total"]?.intValue == 0)
        #expect(await books.bill(bill)["amount_due"] == "150.00")
        #expect(await fixture.send(.get, "/api/v1/payments-made/\(AccountingInput.newId())").status == 404)
        try await books.expectBalanced()
    }

    @Test func partialThenPaidThenOverpaymentUnapplyAutoApplyAndVoid() async throws {
        let books = try await books()
        let fixture = books.fixture
        defer { fixture.close() }
        let bill = try await books.approvedBill()

        // 100 of 150 → partial; DR payables / CR the bank account.
        let first = await books.pay("100.00", bill: bill)
        #expect(first.status == 201, "\(first.bodyText)")
        #expect(first.json["payment_number"]?.stringValue?.wholeMatch(of: /PAY-\d{4}-\d{4}/) != nil)
        #expect(first.json["unapplied_amount"] == "0.00" && first.json["vendor_id"]?.stringValue == books.vendor)
        #expect(first.json["applications"]?.firstLine?["bill_id"]?.stringValue == bill)
        var state = await books.bill(bill)
        #expect(state["status"] == "partial" && state["amount_paid"] == "100.00" && state["amount_due"] == "50.00")
        #expect(await fixture.balance(try #require(books.accounts["2000"])) == "50.00")
        #expect(await fixture.balance(try #require(books.accounts["1010"])) == "-100.00")
        // A bill with payments cannot be voided (rule 11).
        #expect(await fixture.send(.post, "/api/v1/bills/\(bill)/void", ["reason": "x"]).status == 409)

        // Overpayment: 80 against 50 due → 409 OVERPAYMENT, and nothing of the request is written (no payment either).
        let over = await books.pay("80.00", bill: bill)
        #expect(over.status == 409 && over.json["errors"]?.firstLine?["field"] == "applications[0].amount_applied")
        #expect(await books.bill(bill)["amount_due"] == "50.00")
        #expect(await fixture.send(.get, "/api/v1/payments-made/?vendor_id=\(books.vendor)").json["total"]?.intValue == 1)
        // Applying more than the payment's unapplied amount → 409.
        let small = await books.pay("20.00")
        let smallId = try #require(small.json["id"]?.stringValue)
        #expect(await fixture.send(.post, "/api/v1/payments-made/\(smallId)/apply",
                                   ["bill_id": .string(bill), "amount": "30.00"]).status == 409)

        // 50 → paid.
        let second = await books.pay("50.00", bill: bill)
        #expect(second.status == 201)
        state = await books.bill(bill)
        #expect(state["status"] == "paid" && state["amount_due"] == "0.00")
        #expect(await fixture.balance(try #require(books.accounts["2000"])) == "-20.00")
        // A paid bill takes no more.
        #expect(await fixture.send(.post, "/api/v1/payments-made/\(smallId)/apply",
                                   ["bill_id": .string(bill), "amount": "1.00"]).status == 409)

        // An applied payment cannot be voided; deleting its application restores both amounts.
        let paymentId = try #require(second.json["id"]?.stringValue)
        #expect(await fixture.send(.post, "/api/v1/payments-made/\(paymentId)/void").status == 409)
        let application = try #require(second.json["applications"]?.firstLine?["id"]?.stringValue)
        #expect(await fixture.send(.delete, "/api/v1/payments-made/\(paymentId)/applications/\(application)").status == 204)
        #expect(await fixture.send(.delete, "/api/v1/payments-made/\(paymentId)/applications/\(application)").status == 404)
        #expect(await fixture.send(.get, "/api/v1/payments-made/\(paymentId)").json["unapplied_amount"] == "50.00")
        state = await books.bill(bill)
        #expect(state["status"] == "partial" && state["amount_due"] == "50.00")

        // Auto-apply: the small payment's 20 goes to the bill first due.
        let auto = await fixture.send(.post, "/api/v1/payments-made/\(smallId)/auto-apply")
        #expect(auto.status == 200 && auto.json["unapplied_amount"] == "0.00")
        #expect(await books.bill(bill)["amount_due"] == "30.00")

        // Unapplied payment voided: its entry is reversed; a void payment takes no applications.
        let voided = await fixture.send(.post, "/api/v1/payments-made/\(paymentId)/void", ["reason": "sent twice"])
        #expect(voided.status == 200 && voided.json["status"] == "voided" && voided.json["void_reason"] == "sent twice")
        #expect(await fixture.send(.post, "/api/v1/payments-made/\(paymentId)/void").status == 409)
        #expect(await fixture.send(.post, "/api/v1/payments-made/\(paymentId)/apply",
                                   ["bill_id": .string(bill), "amount": "1.00"]).status == 409)
        #expect(await fixture.balance(try #require(books.accounts["1010"])) == "-120.00")
        #expect(await fixture.balance(try #require(books.accounts["2000"])) == "30.00")
        try await books.expectBalanced()
    }

    @Test func autoApplyPaysTheOldestDueBillFirst() async throws {
        let books = try await books()
        let fixture = books.fixture
        defer { fixture.close() }
        let later = try await books.approvedBill(due: "2026-03-01")
        let sooner = try await books.approvedBill(due: "2026-02-01")
        let payment = await books.pay("200.00")
        let id = try #require(payment.json["id"]?.stringValue)
        let applied = await fixture.send(.post, "/api/v1/payments-made/\(id)/auto-apply")
        #expect(applied.json["unapplied_amount"] == "0.00")
        #expect(await books.bill(sooner)["status"] == "paid")
        let state = await books.bill(later)
        #expect(state["status"] == "partial" && state["amount_due"] == "100.00")
        try await books.expectBalanced()
    }

    @Test func fiftyParallelPaymentsNeverOverpayOneBill() async throws {
        let books = try await books()
        let fixture = books.fixture
        defer { fixture.close() }
        let bill = try await books.approvedBill()
        fixture.harness.clock.advance(seconds: 120)
        let statuses = Collected<Int>()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<50 {
                group.addTask { statuses.add(await books.pay("10.00", bill: bill).status) }
            }
        }
        #expect(statuses.all.filter { $0 == 201 }.count == 15)
        #expect(statuses.all.filter { $0 == 409 }.count == 35)
        #expect(await books.bill(bill)["status"] == "paid")
        try await books.expectBalanced()
    }

    /// `ap_account_id` (body or query, like [S]'s `?ar_account_id` on payments received) names the payable to settle:
    /// a bill approved to another liability account is paid from that one; anything but an active liability → 422.
    @Test func thePayableAccountCanBeNamed() async throws {
        let books = try await books()
        let fixture = books.fixture
        defer { fixture.close() }
        let accrued = try #require(books.accounts["2100"])
        let bad = await fixture.send(.post, "/api/v1/payments-made/?ap_account_id=\(books.accounts["1010"] ?? "")", [
            "vendor_id": .string(books.vendor), "payment_date": "2026-01-20", "amount": "10.00", "payment_method": "ach",
            "payment_account_id": .string(books.accounts["1010"] ?? "")])
        #expect(bad.status == 422 && bad.firstErrorField == "ap_account_id")
        let paid = await fixture.send(.post, "/api/v1/payments-made/", [
            "vendor_id": .string(books.vendor), "payment_date": "2026-01-20", "amount": "10.00", "payment_method": "ach",
            "payment_account_id": .string(books.accounts["1010"] ?? ""), "ap_account_id": .string(accrued)])
        #expect(paid.status == 201)
        #expect(await fixture.balance(accrued) == "-10.00")
        #expect(await fixture.balance(try #require(books.accounts["2000"])) == "0.00")
        let received = await fixture.send(.post, "/api/v1/payments/?ar_account_id=\(accrued)", [
            "customer_id": .string(AccountingInput.newId()), "payment_date": "2026-01-20", "amount": "10.00",
            "payment_method": "cash", "deposit_account_id": .string(books.accounts["1010"] ?? "")])
        #expect(received.status == 422)
        try await books.expectBalanced()
    }
}
