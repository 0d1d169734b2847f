@testable import Accounting
import AtlasTestSupport
import Foundation
import Kernel
import Postgres
import Testing

/// Unrealised exchange differences at period close (IAS 21 / ASC 830; docs/accounting.md "Unrealised exchange
/// differences"): closing a period revalues the open foreign-currency invoices and bills at the rate effective on its end
/// date in one entry dated the period end (on 7960), reversed the next open day; a missing rate refuses the close; a
/// reopen reverses both. USD company; `ForeignCurrencyDocumentTests.Books` builds the documents.
@Suite(.serialized) struct UnrealisedExchangeTests {
    typealias Books = ForeignCurrencyDocumentTests.Books

    func books() async throws -> Books {
        let fixture = try await AccountingFixture.make()
        let company = try await fixture.company()
        return Books(fixture: fixture, company: company, accounts: try await fixture.accounts(company))
    }

    func close(_ fixture: AccountingFixture, _ start: String = "2026-01-01", _ end: String = "2026-01-31") async -> Response {
        await fixture.send(.post, "/api/v1/periods/close", ["period_start": .string(start), "period_end": .string(end)])
    }

    func balance(_ books: Books, _ number: String, on date: String) async -> String? {
        await books.fixture.send(.get, "/api/v1/accounts/\(books.accounts[number] ?? "")/balance?as_of_date=\(date)")
            .json["balance"]?.stringValue
    }

    /// The entry's lines as `number side amount` (base amounts), in line order.
    func lines(_ books: Books, _ entryId: String) async -> [String] {
        let numbers = Dictionary(uniqueKeysWithValues: books.accounts.map { ($0.value, $0.key) })
        return await books.entryLines(entryId).map { line in
            "\(numbers[line["account_id"]?.stringValue ?? ""] ?? "?") \(line["entry_type"]?.stringValue ?? "?") "
                + (line["base_amount"]?.stringValue ?? "?")
        }
    }

    func expectBalanced(_ books: Books, on dates: [String]) async throws {
        for date in dates {
            let trial = await books.fixture.send(.get, "/api/v1/reports/trial-balance?as_of_date=\(date)")
            #expect(trial.json["is_balanced"] == true && trial.json["total_debits"] == trial.json["total_credits"], "\(trial.bodyText)")
        }
        #expect(try await BalanceCheck(database: books.fixture.database).drifts().isEmpty)
    }

    func sheetAmount(_ sheet: Response, _ category: String, _ number: String) -> String? {
        guard case .array(let sections)? = sheet.json[category]?["sections"] else { return nil }
        for section in sections {
            guard case .array(let items)? = section["items"] else { continue }
            if let item = items.first(where: { $0["account_number"]?.stringValue == number }) { return item["amount"]?.stringValue }
        }
        return nil
    }

    @Test func anOpenEuroInvoiceIsRevaluedAtTheCloseReversedTheNextDayAndAReopenUndoesIt() async throws {
        let books = try await books()
        let fixture = books.fixture
        defer { fixture.close() }
        await books.rate("EUR", "1.10", "2026-01-01")
        await books.rate("EUR", "1.15", "2026-01-20")
        let customer = try await books.contact("customers", currency: "EUR")
        let invoice = try #require(await books.invoice(customer, price: "100.00").json["id"]?.stringValue)
        #expect(await fixture.send(.post, "/api/v1/invoices/\(invoice)/send").status == 200)
        #expect(await balance(books, "1100", on: "2026-01-31") == "110.00")

        // 100.00 EUR booked at 1.10 (110.00 USD) is worth 115.00 at the 1.15 effective on 2026-01-31: a 5.00 gain.
        let closed = await close(fixture)
        #expect(closed.status == 201, "\(closed.bodyText)")
        let revaluationId = try #require(closed.json["revaluation_entry_id"]?.stringValue, "\(closed.bodyText)")
        let reversalId = try #require(closed.json["revaluation_reversal_entry_id"]?.stringValue)
        let revaluation = await fixture.send(.get, "/api/v1/journal-entries/\(revaluationId)")
        #expect(revaluation.json["posting_date"] == "2026-01-31" && revaluation.json["entry_type"] == "adjustment"
                && revaluation.json["status"] == "posted", "\(revaluation.bodyText)")
        #expect(revaluation.json["total_debit"] == "5.00" && revaluation.json["total_credit"] == "5.00")
        #expect(await lines(books, revaluationId) == ["1100 debit 5.00", "7960 credit 5.00"])
        let reversal = await fixture.send(.get, "/api/v1/journal-entries/\(reversalId)")
        #expect(reversal.json["posting_date"] == "2026-02-01" && reversal.json["status"] == "posted", "\(reversal.bodyText)")
        #expect(await lines(books, reversalId) == ["1100 credit 5.00", "7960 debit 5.00"])

        // The balance sheet at the period end shows the revalued receivable; the P&L the gain; the next day is back at 110.00.
        let sheet = await fixture.send(.get, "/api/v1/reports/balance-sheet?as_of_date=2026-01-31")
        #expect(sheet.json["is_balanced"] == true && sheetAmount(sheet, "assets", "1100") == "115.00", "\(sheet.bodyText)")
        let january = await fixture.send(.get, "/api/v1/reports/profit-loss?period_start=2026-01-01&period_end=2026-01-31")
        #expect(january.json["net_income"] == "115.00" && january.json["other_income_expense"]?["total"] == "5.00",
                "\(january.bodyText)")
        #expect(await balance(books, "1100", on: "2026-02-01") == "110.00")
        #expect(await balance(books, "7960", on: "2026-02-01") == "5.00")
        try await expectBalanced(books, on: ["2026-01-31", "2026-02-01"])
        #expect(await fixture.send(.get, "/api/v1/periods/verify-chain").json["is_valid"] == true)

        // Paid on 2026-02-10 at 1.20: the realised gain is still measured from the booking rate (10.00 on 7950), and the
        // reversal's 5.00 on 7960 leaves February with the other 5.00 of the 10.00 gained in all.
        await books.rate("EUR", "1.20", "2026-02-10")
        let paid = await fixture.send(.post, "/api/v1/payments/", [
            "customer_id": .string(customer), "payment_date": "2026-02-10", "amount": "100.00", "payment_method": "wire",
            "deposit_account_id": .string(books.accounts["1010"] ?? ""),
            "applications": [["invoice_id": .string(invoice), "amount_applied": "100.00"]]])
        #expect(paid.status == 201, "\(paid.bodyText)")
        #expect(await balance(books, "7950", on: "2026-02-28") == "-10.00")
        #expect(await balance(books, "1100", on: "2026-02-28") == "0.00")
        let february = await fixture.send(.get, "/api/v1/reports/profit-loss?period_start=2026-02-01&period_end=2026-02-28")
        #expect(february.json["other_income_expense"]?["total"] == "5.00", "\(february.bodyText)")

        // Reopening reverses the revaluation and its reversal, each on its own date; closing again revalues afresh.
        let januaryId = try #require(closed.json["id"]?.stringValue)
        let reopened = await fixture.send(.post, "/api/v1/periods/\(januaryId)/reopen", ["reason": "late rate"])
        #expect(reopened.status == 200, "\(reopened.bodyText)")
        #expect(await fixture.send(.get, "/api/v1/journal-entries/\(revaluationId)").json["status"] == "void")
        #expect(await fixture.send(.get, "/api/v1/journal-entries/\(reversalId)").json["status"] == "void")
        #expect(await balance(books, "1100", on: "2026-01-31") == "110.00")
        #expect(await balance(books, "7960", on: "2026-01-31") == "0.00")
        #expect(await balance(books, "7960", on: "2026-02-28") == "0.00")
        try await expectBalanced(books, on: ["2026-01-31", "2026-02-01", "2026-02-28"])

        await books.rate("EUR", "1.18", "2026-01-31")
        let again = await close(fixture)
        #expect(again.status == 201, "\(again.bodyText)")
        let second = try #require(again.json["revaluation_entry_id"]?.stringValue)
        #expect(await lines(books, second) == ["1100 debit 8.00", "7960 credit 8.00"])
        #expect(await balance(books, "1100", on: "2026-01-31") == "118.00")
        #expect(await balance(books, "1100", on: "2026-02-28") == "0.00")
        #expect(await balance(books, "7960", on: "2026-02-28") == "8.00")
        try await expectBalanced(books, on: ["2026-01-31", "2026-02-01", "2026-02-28"])
        #expect(await fixture.send(.get, "/api/v1/periods/verify-chain").json["is_valid"] == true)
    }

    /// A bill takes the opposite sign (a dearer euro is a bigger payable: a loss); a fully paid invoice and a base-currency
    /// invoice are not revalued; a partly paid one only on its open part, from its carrying amount at the booking rate.
    @Test func billsTakeTheOppositeSignAndOnlyOpenAmountsAreRevalued() async throws {
        let books = try await books()
        let fixture = books.fixture
        defer { fixture.close() }
        await books.rate("EUR", "1.10", "2026-01-01")
        await books.rate("EUR", "1.12", "2026-01-20")
        await books.rate("EUR", "1.15", "2026-01-31")
        let vendor = try await books.contact("vendors", currency: "EUR")
        let customer = try await books.contact("customers", currency: "EUR")
        let dollars = try await books.contact("customers", currency: "USD")

        let bill = try #require(await books.bill(vendor, price: "200.00").json["id"]?.stringValue)
        #expect(await fixture.send(.post, "/api/v1/bills/\(bill)/approve?ap_account_id=\(books.accounts["2000"] ?? "")").status == 200)
        var invoices: [String] = []
        for (contact, price) in [(customer, "50.00"), (customer, "100.00"), (dollars, "40.00")] {
            let id = try #require(await books.invoice(contact, price: price).json["id"]?.stringValue)
            #expect(await fixture.send(.post, "/api/v1/invoices/\(id)/send").status == 200)
            invoices.append(id)
        }
        // On 2026-01-20 at 1.12: the 50.00 invoice paid in full, 30.00 of the 100.00 one.
        for (invoice, amount) in [(invoices[0], "50.00"), (invoices[1], "30.00")] {
            let paid = await fixture.send(.post, "/api/v1/payments/", [
                "customer_id": .string(customer), "payment_date": "2026-01-20", "amount": .string(amount), "payment_method": "wire",
                "deposit_account_id": .string(books.accounts["1010"] ?? ""),
                "applications": [["invoice_id": .string(invoice), "amount_applied": .string(amount)]]])
            #expect(paid.status == 201, "\(paid.bodyText)")
        }
        // Receivables: 40.00 USD + the open 70.00 EUR carried at 110.00 − 33.00 = 77.00.
        #expect(await balance(books, "1100", on: "2026-01-31") == "117.00")
        #expect(await balance(books, "2000", on: "2026-01-31") == "220.00")

        // At 1.15: the bill 200.00 EUR = 230.00 (+10.00 payable: loss); the open 70.00 EUR = 80.50 (+3.50 receivable: gain).
        let closed = await close(fixture)
        #expect(closed.status == 201, "\(closed.bodyText)")
        let revaluationId = try #require(closed.json["revaluation_entry_id"]?.stringValue, "\(closed.bodyText)")
        let reversalId = try #require(closed.json["revaluation_reversal_entry_id"]?.stringValue)
        let expected = ["1100 debit 3.50", "2000 credit 10.00", "7960 debit 6.50"]
        #expect(await lines(books, revaluationId).sorted() == expected)
        #expect(await lines(books, reversalId).sorted() == ["1100 credit 3.50", "2000 debit 10.00", "7960 credit 6.50"])
        let entry = await fixture.send(.get, "/api/v1/journal-entries/\(revaluationId)")
        #expect(entry.json["total_debit"] == "10.00" && entry.json["total_credit"] == "10.00", "\(entry.bodyText)")
        #expect(await balance(books, "1100", on: "2026-01-31") == "120.50")
        #expect(await balance(books, "2000", on: "2026-01-31") == "230.00")
        let sheet = await fixture.send(.get, "/api/v1/reports/balance-sheet?as_of_date=2026-01-31")
        #expect(sheet.json["is_balanced"] == true && sheetAmount(sheet, "assets", "1100") == "120.50"
                && sheetAmount(sheet, "liabilities", "2000") == "230.00", "\(sheet.bodyText)")
        #expect(await balance(books, "1100", on: "2026-02-01") == "117.00")
        #expect(await balance(books, "2000", on: "2026-02-01") == "220.00")
        try await expectBalanced(books, on: ["2026-01-31", "2026-02-01"])
    }

    @Test func aMissingRateRefusesTheCloseAndChangesNothing() async throws {
        let books = try await books()
        let fixture = books.fixture
        defer { fixture.close() }
        let customer = try await books.contact("customers", currency: "EUR")
        // Booked at its own rate: no EUR rate in the table on or before 2026-01-31 (the one of 2026-02-05 comes after).
        let invoice = try #require(await books.invoice(customer, price: "100.00", extra: ["exchange_rate": "1.10"]).json["id"]?.stringValue)
        #expect(await fixture.send(.post, "/api/v1/invoices/\(invoice)/send").status == 200)
        await books.rate("EUR", "1.30", "2026-02-05")
        func entriesCount() async throws -> Int? {
            try await fixture.database.queryFirst("SELECT count(*)::bigint AS n FROM accounting_journal_entries")?.decode("n", as: Int.self)
        }
        let entriesBefore = try await entriesCount()

        let refused = await close(fixture)
        #expect(refused.status == 409, "\(refused.bodyText)")
        #expect(refused.json["status_code"] == 409 && refused.firstErrorField == "period_end")
        #expect(refused.detail == "There is no EUR→USD exchange rate effective on or before the period_end 2026-01-31: the open EUR "
                + "invoices and bills cannot be revalued, so the period cannot be closed; add the rate and close again")
        #expect(try await entriesCount() == entriesBefore)
        #expect(try await fixture.database.queryFirst("SELECT count(*)::bigint AS n FROM accounting_periods")?.decode("n", as: Int.self) == 0)
        #expect(try await fixture.database.queryFirst("SELECT count(*)::bigint AS n FROM event_log WHERE event_type = 'period.closed'")?
            .decode("n", as: Int.self) == 0)
        #expect(await balance(books, "1100", on: "2026-01-31") == "110.00")

        await books.rate("EUR", "1.12", "2026-01-31")
        let closed = await close(fixture)
        #expect(closed.status == 201, "\(closed.bodyText)")
        let revaluationId = try #require(closed.json["revaluation_entry_id"]?.stringValue)
        #expect(await lines(books, revaluationId) == ["1100 debit 2.00", "7960 credit 2.00"])
        try await expectBalanced(books, on: ["2026-01-31", "2026-02-01"])
    }

    /// A later period closed first was revalued against the booking rate, so an earlier one revalued now would leave its
    /// difference in the later period (its reversal cannot be dated there): refused until the later period is reopened.
    @Test func aPeriodBeforeAClosedOneIsNotRevaluedIntoIt() async throws {
        let books = try await books()
        let fixture = books.fixture
        defer { fixture.close() }
        await books.rate("EUR", "1.10", "2026-01-01")
        await books.rate("EUR", "1.15", "2026-01-31")
        await books.rate("EUR", "1.20", "2026-02-28")
        let customer = try await books.contact("customers", currency: "EUR")
        let invoice = try #require(await books.invoice(customer, price: "100.00").json["id"]?.stringValue)
        #expect(await fixture.send(.post, "/api/v1/invoices/\(invoice)/send").status == 200)

        let february = await close(fixture, "2026-02-01", "2026-02-28")
        #expect(february.status == 201, "\(february.bodyText)")
        #expect(await lines(books, try #require(february.json["revaluation_entry_id"]?.stringValue))
                == ["1100 debit 10.00", "7960 credit 10.00"])
        let marchReversal = try #require(february.json["revaluation_reversal_entry_id"]?.stringValue)
        #expect(await fixture.send(.get, "/api/v1/journal-entries/\(marchReversal)").json["posting_date"] == "2026-03-01")
        let entriesBefore = try await fixture.database.queryFirst("SELECT count(*)::bigint AS n FROM accounting_journal_entries")?
            .decode("n", as: Int.self)

        let refused = await close(fixture)
        #expect(refused.status == 409 && refused.firstErrorField == "period_end", "\(refused.bodyText)")
        #expect(refused.detail == "The open foreign-currency invoices and bills revalued at 2026-01-31 must be reversed on "
                + "2026-02-01, which falls in the closed period 2026-02-01 to 2026-02-28; reopen it, close this period, then close "
                + "it again")
        #expect(try await fixture.database.queryFirst("SELECT count(*)::bigint AS n FROM accounting_journal_entries")?
            .decode("n", as: Int.self) == entriesBefore)
        #expect(await fixture.send(.get, "/api/v1/periods/").json["total"]?.intValue == 1)

        // In order: January at 1.15 (+5.00, reversed on 2026-02-01), then February at 1.20 (+10.00 from the booking rate).
        let februaryId = try #require(february.json["id"]?.stringValue)
        #expect(await fixture.send(.post, "/api/v1/periods/\(februaryId)/reopen", ["reason": "close January first"]).status == 200)
        let january = await close(fixture)
        #expect(january.status == 201, "\(january.bodyText)")
        #expect(await lines(books, try #require(january.json["revaluation_entry_id"]?.stringValue))
                == ["1100 debit 5.00", "7960 credit 5.00"])
        let again = await close(fixture, "2026-02-01", "2026-02-28")
        #expect(again.status == 201, "\(again.bodyText)")
        #expect(await lines(books, try #require(again.json["revaluation_entry_id"]?.stringValue))
                == ["1100 debit 10.00", "7960 credit 10.00"])
        #expect(await balance(books, "1100", on: "2026-01-31") == "115.00")
        #expect(await balance(books, "1100", on: "2026-02-01") == "110.00")
        #expect(await balance(books, "1100", on: "2026-02-28") == "120.00")
        #expect(await balance(books, "1100", on: "2026-03-01") == "110.00")
        try await expectBalanced(books, on: ["2026-01-31", "2026-02-28", "2026-03-01"])
        let chain = await fixture.send(.get, "/api/v1/periods/verify-chain")
        #expect(chain.json["is_valid"] == true && chain.json["periods_checked"]?.intValue == 2, "\(chain.bodyText)")
    }

    /// The arithmetic without a database: integer minor units, half away from zero, the open part converted once at the
    /// closing rate against the carrying amount's cumulative conversions at the booking rate.
    @Test func theDifferenceIsExactAndTheLinesNetPerControlAccount() throws {
        let eur = try #require(Currency(code: "EUR"))
        let usd = try #require(Currency(code: "USD"))
        let booked = try #require(DecimalFactor("1.1"))
        let closing = try #require(DecimalFactor("1.123455"))
        let receivable = Revaluation.OpenDocument(kind: .receivable, id: "i", number: "INV-1", currency: eur, totalMinor: 10_001,
                                                  paidMinor: 3_333, bookedRate: booked, controlAccountId: "ar")
        // Carrying 11001 − 3666 = 7335; the open 6668 × 1.123455 = 7491.19794 → 7491; the difference 156.
        #expect(try Revaluation.difference(receivable, closingRate: closing, base: usd) == 156)
        var payable = receivable
        payable.kind = .payable
        payable.controlAccountId = "ap"
        let lines = Revaluation.lines([(receivable, 156), (payable, 156), (payable, -6)], gainLoss: "fx", base: usd)
        #expect(lines.map { "\($0.accountId) \($0.side.rawValue) \($0.baseAmountMinor)" } == ["ap credit 150", "ar debit 156", "fx credit 6"])
        #expect(lines.allSatisfy { $0.currency == usd && $0.exchangeRate == .one && $0.amountMinor == $0.baseAmountMinor })
        #expect(Revaluation.lines([(receivable, 0)], gainLoss: "fx", base: usd).isEmpty)
    }
}
