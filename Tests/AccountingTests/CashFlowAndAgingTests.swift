@testable import Accounting
import AtlasTestSupport
import Foundation
import Kernel
import Postgres
import Testing

/// The reports spec B.1 lists beside P&L, balance sheet and trial balance: `/reports/cash-flow` (indirect method)
/// and `/reports/ar-aging`, `/reports/ap-aging` (open documents by days past due on a date).
@Suite(.serialized) struct CashFlowAndAgingTests {
    @Test func agingBucketsAtTheirBoundaries() {
        #expect([-5, 0, 1, 30, 31, 60, 61, 90, 91, 400].map { ReportBuilder.agingBucket(daysPastDue: $0) }
                    == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
        let (rows, totals) = ReportBuilder.aging([
            .init(contactId: "b", contactName: "Beta", daysPastDue: 45, amountDueMinor: 100),
            .init(contactId: "a", contactName: "Alpha", daysPastDue: -3, amountDueMinor: 250),
            .init(contactId: "b", contactName: "Beta", daysPastDue: 100, amountDueMinor: 5),
            .init(contactId: "a", contactName: "Alpha", daysPastDue: 10, amountDueMinor: 0),
        ])
        #expect(rows.map(\.contactId) == ["a", "b"])
        #expect(rows[1].buckets == [0, 0, 100, 0, 5] && rows[1].total == 105)
        #expect(totals == [250, 0, 100, 0, 5])
    }

    @Test func cashFlowReconcilesOpeningAndClosingCash() {
        func totals(_ id: String, _ type: String, _ subtype: String, debit: Int64, credit: Int64) -> ReportBuilder.AccountTotals {
            .init(accountId: id, number: id, name: id, type: type, normalBalance: type == "asset" || type == "expense" ? "debit" : "credit",
                  subtype: subtype, debit: debit, credit: credit)
        }
        // Sales 500 on account, 200 collected into the bank; equipment 300 paid in cash; owner put in 1,000.
        let period = [
            totals("1000", "asset", "cash", debit: 1_000, credit: 300), totals("1010", "asset", "bank", debit: 200, credit: 0),
            totals("1100", "asset", "accounts_receivable", debit: 500, credit: 200),
            totals("1500", "asset", "fixed_asset", debit: 300, credit: 0), totals("3000", "equity", "owners_equity", debit: 0, credit: 1_000),
            totals("4000", "revenue", "operating_revenue", debit: 0, credit: 500),
        ]
        let before = [totals("1000", "asset", "cash", debit: 70, credit: 0)]
        let flow = ReportBuilder.cashFlow(period: period, before: before)
        #expect(flow.netIncome == 500 && flow.operating.total == 200)
        #expect(flow.investing.total == -300 && flow.financing.total == 1_000)
        #expect(flow.cashBeginning == 70 && flow.cashEnding == 970 && flow.netChange == 900 && flow.isReconciled)
    }

    @Test func reportsOverInvoicesBillsPaymentsAndEntries() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        func id(_ number: String) -> JSONValue { .string(accounts[number] ?? "") }
        // Opening cash 50 (before the period); in the period: owner's 1,000, equipment 300 from the bank.
        _ = try await fixture.entry(company, accounts, debit: "1000", credit: "3000", amount: "50.00", date: "2025-12-31")
        _ = try await fixture.entry(company, accounts, debit: "1010", credit: "3000", amount: "1000.00", date: "2026-01-02")
        _ = try await fixture.entry(company, accounts, debit: "1500", credit: "1010", amount: "300.00", date: "2026-01-03")
        // An invoice of 330 (300 + 10 % tax), 100 collected; a bill of 150, 100 paid.
        let customer = try #require(await fixture.send(.post, "/api/v1/customers/", ["display_name": "Customer C"]).json["id"])
        let invoice = await fixture.send(.post, "/api/v1/invoices/", [
            "customer_id": customer, "invoice_date": "2026-01-05",
            "lines": [["description": "Widget", "quantity": 2, "unit_price": "150.00", "tax_rate": 10, "revenue_account_id": id("4000")]]])
        let invoiceId = try #require(invoice.json["id"]?.stringValue)
        #expect(invoice.json["due_date"] == "2026-02-04")
        #expect(await fixture.send(.post, "/api/v1/invoices/\(invoiceId)/send").status == 200)
        #expect(await fixture.send(.post, "/api/v1/payments/", [
            "customer_id": customer, "payment_date": "2026-01-20", "amount": "100.00", "payment_method": "check",
            "deposit_account_id": id("1010"), "applications": [["invoice_id": .string(invoiceId), "amount": "100.00"]]]).status == 201)
        let vendor = try #require(await fixture.send(.post, "/api/v1/vendors/", ["display_name": "Vendor V"]).json["id"])
        let bill = await fixture.send(.post, "/api/v1/bills/", [
            "vendor_id": vendor, "bill_date": "2026-01-08",
            "lines": [["description": "Power", "unit_price": "150.00", "expense_account_id": id("6100")]]])
        let billId = try #require(bill.json["id"]?.stringValue)
        #expect(await fixture.send(.post, "/api/v1/bills/\(billId)/approve", ["ap_account_id": id("2000")]).status == 200)
        #expect(await fixture.send(.post, "/api/v1/payments-made/", [
            "vendor_id": vendor, "payment_date": "2026-01-20", "amount": "100.00", "payment_method": "ach",
            "payment_account_id": id("1010"), "applications": [["bill_id": .string(billId), "amount": "100.00"]]]).status == 201)

        let flow = await fixture.send(.get, "/api/v1/reports/cash-flow?period_start=2026-01-01&period_end=2026-01-31")
        #expect(flow.status == 200, "\(flow.bodyText)")
        #expect(flow.json["net_income"] == "150.00")
        // Operating: 150 net income − 230 receivable + 30 tax payable + 50 payable = 0 (100 in, 100 out).
        #expect(flow.json["net_cash_from_operating_activities"] == "0.00")
        #expect(flow.json["net_cash_from_investing_activities"] == "-300.00")
        #expect(flow.json["net_cash_from_financing_activities"] == "1000.00")
        #expect(flow.json["cash_beginning"] == "50.00" && flow.json["cash_ending"] == "750.00")
        #expect(flow.json["net_change_in_cash"] == "700.00" && flow.json["is_reconciled"] == true)
        let missing = await fixture.send(.get, "/api/v1/reports/cash-flow?period_start=2026-01-01")
        #expect(missing.status == 422 && missing.firstErrorField == "period_end")
        #expect(await fixture.send(.get, "/api/v1/reports/cash-flow?period_start=2026-02-01&period_end=2026-01-01")
                    .firstErrorField == "period_end")

        // AR aging: before the payment everything is current; 34 days past due → 31–60; later → over 90.
        var aging = await fixture.send(.get, "/api/v1/reports/ar-aging?as_of_date=2026-01-10")
        #expect(aging.status == 200 && aging.json["totals"]?["current"] == "330.00")
        aging = await fixture.send(.get, "/api/v1/reports/ar-aging?as_of_date=2026-03-10")
        #expect(aging.json["totals"]?["days_31_60"] == "230.00" && aging.json["totals"]?["total"] == "230.00")
        #expect(aging.json["rows"]?.firstLine?["customer_id"] == customer)
        #expect(await fixture.send(.get, "/api/v1/reports/ar-aging?as_of_date=2026-06-01").json["totals"]?["over_90"] == "230.00")
        #expect(await fixture.send(.get, "/api/v1/reports/ar-aging?as_of_date=2025-12-01").json["rows"] == [])
        #expect(await fixture.send(.get, "/api/v1/reports/ar-aging?as_of_date=2026-13-01").firstErrorField == "as_of_date")
        // AP aging: the bill's default due date is 2026-02-07 (net 30): 31 days past due on 2026-03-10.
        aging = await fixture.send(.get, "/api/v1/reports/ap-aging?as_of_date=2026-03-10")
        #expect(aging.json["totals"]?["days_31_60"] == "50.00")
        #expect(aging.json["rows"]?.firstLine?["vendor_id"] == vendor)

        // Contact balances (B.1 "balance endpoint returns open_invoices_count/open_bills_count and total_open_amount").
        let customerId = try #require(customer.stringValue)
        let owed = await fixture.send(.get, "/api/v1/customers/\(customerId)/balance")
        #expect(owed.json["open_invoices_count"]?.intValue == 1 && owed.json["total_open_amount"] == "230.00")
        #expect(owed.json["current_balance"] == "230.00")
        #expect(await fixture.send(.get, "/api/v1/customers/\(customerId)").json["current_balance"] == "230.00")
        // An unapplied payment of 30 lowers the vendor's balance, not its open bills.
        #expect(await fixture.send(.post, "/api/v1/payments-made/", [
            "vendor_id": vendor, "payment_date": "2026-01-21", "amount": "30.00", "payment_method": "check",
            "payment_account_id": id("1010")]).status == 201)
        let vendorId = try #require(vendor.stringValue)
        let owing = await fixture.send(.get, "/api/v1/vendors/\(vendorId)/balance")
        #expect(owing.json["open_bills_count"]?.intValue == 1 && owing.json["total_open_amount"] == "50.00")
        #expect(owing.json["current_balance"] == "20.00" && owing.json["unapplied_payments"] == "30.00")
        #expect(await fixture.send(.get, "/api/v1/vendors/").json["items"]?.firstLine?["current_balance"] == "20.00")
        #expect(try await BalanceCheck(database: fixture.database).drifts().isEmpty)
    }
}
