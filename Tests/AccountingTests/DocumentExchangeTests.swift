@testable import Accounting
import Kernel
import Testing

/// `DocumentExchange` without a database: converting a document's entry to the base currency, the realised exchange
/// difference of an application, and the sides its entry takes.
@Suite struct DocumentExchangeTests {
    func line(_ account: String, _ side: LedgerLine.Side, _ minor: Int64, _ currency: Currency) -> LedgerLine {
        LedgerLine(accountId: account, side: side, amountMinor: minor, currency: currency, exchangeRate: .one, baseAmountMinor: minor,
                   description: nil)
    }

    @Test func eachLineIsConvertedAndTheRoundingGoesToTheSideWithMoreLines() throws {
        let eur = try #require(Currency(code: "EUR"))
        let usd = try #require(Currency(code: "USD"))
        let rate = try #require(DecimalFactor("1.5"))
        // 0.01 EUR is 0.015 USD: each credit rounds up to 0.02 (0.06 in all), the receivable's 0.03 EUR to 0.05.
        let lines = [line("ar", .debit, 3, eur), line("rev1", .credit, 1, eur), line("rev2", .credit, 1, eur), line("tax", .credit, 1, eur)]
        let converted = try DocumentExchange.postingLines(lines, currency: eur, rate: rate, base: usd, field: "exchange_rate")
        let (debits, credits) = JournalLineRules.totals(converted)
        #expect(debits == 5 && credits == 5)
        #expect(converted[0].baseAmountMinor == 5 && converted[0].amountMinor == 3 && converted[0].exchangeRate == rate)
        #expect(converted.allSatisfy { $0.baseAmountMinor > 0 && $0.currency == eur })
        // A bill: several debits, one payable credit carrying the converted total.
        let bill = [line("e1", .debit, 1, eur), line("e2", .debit, 1, eur), line("ap", .credit, 2, eur)]
        let booked = try DocumentExchange.postingLines(bill, currency: eur, rate: rate, base: usd, field: "exchange_rate")
        #expect(booked[2].baseAmountMinor == 3)
        #expect(JournalLineRules.totals(booked).debits == 3)
        // The base currency is left alone.
        let same = [line("ar", .debit, 300, usd), line("rev", .credit, 300, usd)]
        #expect(try DocumentExchange.postingLines(same, currency: usd, rate: .one, base: usd, field: "exchange_rate") == same)
    }

    @Test func aLineWorthLessThanOneBaseUnitIsRefusedOnTheField() throws {
        let jpy = try #require(Currency(code: "JPY"))
        let usd = try #require(Currency(code: "USD"))
        let rate = try #require(DecimalFactor("0.0067"))
        let tiny = try #require(DecimalFactor("0.004"))
        do {
            _ = try DocumentExchange.postingLines([line("ar", .debit, 1, jpy), line("rev", .credit, 1, jpy)], currency: jpy, rate: tiny,
                                                  base: usd, field: "exchange_rate")
            Issue.record("1 JPY at 0.004 is less than half a cent")
        } catch {
            #expect(error.details?.field == "exchange_rate")
        }
        // 1500 JPY at 0.0067 is 10.05 USD; 12.345 KWD at 3.25 is 40.12125, 40.12 USD.
        #expect(try DocumentExchange.toBase(1500, currency: jpy, rate: rate, base: usd, field: "amount") == 1005)
        let kwd = try #require(Currency(code: "KWD"))
        #expect(try DocumentExchange.toBase(12_345, currency: kwd, rate: try #require(DecimalFactor("3.25")), base: usd,
                                            field: "amount") == 4012)
    }

    @Test func partsOfAnApplicationAddUpToTheWholeDifference() throws {
        let eur = try #require(Currency(code: "EUR"))
        let usd = try #require(Currency(code: "USD"))
        let documentRate = try #require(DecimalFactor("1.0825"))
        let paymentRate = try #require(DecimalFactor("1.0911"))
        let whole = try DocumentExchange.difference(amount: 10_000, currency: eur, base: usd, documentPaidBefore: 0,
                                                    documentRate: documentRate, paymentAppliedBefore: 0, paymentRate: paymentRate,
                                                    field: "amount")
        var paid: Int64 = 0
        var sum: Int64 = 0
        for part: Int64 in [3_333, 3_333, 3_334] {
            sum += try DocumentExchange.difference(amount: part, currency: eur, base: usd, documentPaidBefore: paid,
                                                   documentRate: documentRate, paymentAppliedBefore: paid, paymentRate: paymentRate,
                                                   field: "amount")
            paid += part
        }
        // 100.00 EUR: 109.11 − 108.25 = 0.86 USD, whether applied at once or in three parts.
        #expect(whole == 86 && sum == whole)
        #expect(try DocumentExchange.difference(amount: 10_000, currency: eur, base: usd, documentPaidBefore: 0, documentRate: documentRate,
                                                paymentAppliedBefore: 0, paymentRate: documentRate, field: "amount") == 0)
    }

    @Test func gainsAndLossesTakeTheSidesOfTheirPayment() throws {
        let usd = try #require(Currency(code: "USD"))
        func sides(_ difference: Int64, _ side: PaymentSide) -> [String] {
            DocumentExchange.gainLossLines(difference: difference, side: side, control: "control", gainLoss: "fx", base: usd)
                .map { "\($0.side.rawValue) \($0.accountId) \($0.baseAmountMinor)" }
        }
        #expect(sides(1_000, .received) == ["debit control 1000", "credit fx 1000"])   // gain
        #expect(sides(-250, .received) == ["credit control 250", "debit fx 250"])      // loss
        #expect(sides(62, .made) == ["credit control 62", "debit fx 62"])              // loss
        #expect(sides(-40, .made) == ["debit control 40", "credit fx 40"])             // gain
    }
}
