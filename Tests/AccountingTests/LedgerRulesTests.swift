@testable import Accounting
import Kernel
import Testing

/// Pure rules: decimal money, exchange rates, the journal entry state machine, line validation, the
/// automatic posting plans and the report arithmetic. No database.
@Suite struct DecimalAmountTests {
    @Test func readsDecimalTextIntoMinorUnitsWithTheCurrencysExponent() throws {
        let usd = try #require(Currency(code: "USD"))
        #expect(DecimalAmount.parse("100.00", exponent: 2) == .success(10_000))
        #expect(DecimalAmount.parse("100", exponent: 2) == .success(10_000))
        #expect(DecimalAmount.parse("0.5", exponent: 2) == .success(50))
        #expect(DecimalAmount.parse("100.000", exponent: 2) == .success(10_000))
        #expect(DecimalAmount.parse("-12.34", exponent: 2) == .success(-1_234))
        #expect(DecimalAmount.parse("500", exponent: 0) == .success(500))
        #expect(DecimalAmount.parse("1.234", exponent: 3) == .success(1_234))
        #expect(DecimalAmount.format(-1_234, usd) == "-12.34")
        #expect(DecimalAmount.format(5, usd) == "0.05")
    }

    @Test func refusesWhatIsNotAnExactAmount() {
        #expect(DecimalAmount.parse("100.001", exponent: 2) == .failure(.tooManyDecimals(allowed: 2)))
        #expect(DecimalAmount.parse("500.5", exponent: 0) == .failure(.tooManyDecimals(allowed: 0)))
        for text in ["", "abc", "1e5", ".5", "5.", "1,000.00", " 1", "+1", "1.2.3", "0x10", "--1"] {
            #expect(DecimalAmount.parse(text, exponent: 2) == .failure(.notDecimal), "\(text)")
        }
        #expect(DecimalAmount.parse("99999999999999999999", exponent: 2) == .failure(.tooLarge))
        #expect(DecimalAmount.parse("10000000000000.01", exponent: 2) == .failure(.tooLarge))
        #expect(DecimalAmount.parse("10000000000000.00", exponent: 2) == .success(DecimalAmount.minorUnitsMax))
    }

    @Test func exchangeRatesConvertExactlyAndRoundHalfAwayFromZero() throws {
        let rate = try #require(DecimalFactor("1.0825"))
        #expect(rate.text == "1.0825")
        #expect(rate.convert(10_000, fromExponent: 2, toExponent: 2) == 10_825)
        #expect(try #require(DecimalFactor("0.0067")).convert(1_000, fromExponent: 0, toExponent: 2) == 670)
        // 0.05 × 0.5 = 0.025 → 0.03 (half away from zero); 0.04 × 0.5 = 0.02 exactly.
        #expect(try #require(DecimalFactor("0.5")).convert(5, fromExponent: 2, toExponent: 2) == 3)
        #expect(try #require(DecimalFactor("0.5")).convert(4, fromExponent: 2, toExponent: 2) == 2)
        #expect(DecimalFactor("1.50") == DecimalFactor("1.5"))
        for text in ["0", "0.0", "-1", "abc", "1.12345678901", ""] { #expect(DecimalFactor(text) == nil, "\(text)") }
        #expect(try #require(DecimalFactor("99999999")).convert(DecimalAmount.minorUnitsMax, fromExponent: 2, toExponent: 2) == nil)
    }
}

@Suite struct JournalEntryLifecycleTests {
    let clock = ManualWallClock()

    @Test func draftPostsOnceThenOnlyVoids() throws {
        var entry = JournalEntryLifecycle(status: .draft)
        #expect(try entry.update() == .replaceDraft)
        guard case .post(let date, _) = try entry.post(postingDate: "2026-01-15", clock: clock) else {
            Issue.record("post must return a post action")
            return
        }
        #expect(date == "2026-01-15")
        #expect(entry.status == .posted)
        #expect(throws: AtlasError.self) { try entry.post(postingDate: "2026-01-15", clock: clock) }
        #expect(throws: AtlasError.self) { try entry.update() }
        #expect(throws: AtlasError.self) { try entry.delete() }
        #expect(entry.status == .posted)
        _ = try entry.reverse(reason: "dup", clock: clock)
        #expect(entry.status == .void)
        #expect(throws: AtlasError.self) { try entry.reverse(reason: "again", clock: clock) }
        #expect(throws: AtlasError.self) { try entry.post(postingDate: "2026-01-15", clock: clock) }
    }

    @Test func aDraftCannotBeVoidedOnlyDeleted() throws {
        var entry = JournalEntryLifecycle(status: .draft)
        do {
            _ = try entry.reverse(reason: "x", clock: clock)
            Issue.record("a draft must not be voided")
        } catch {
            #expect(error.status == 409)
        }
        #expect(entry.status == .draft)
        #expect(try entry.delete() == .deleteDraft)
    }
}

@Suite struct JournalLineRulesTests {
    let usd = Currency.usd
    let cash = "11111111-1111-1111-1111-111111111111"
    let sales = "22222222-2222-2222-2222-222222222222"

    func input(_ account: String?, _ side: String?, _ amount: String?, currency: String? = nil,
               rate: String? = nil) -> JournalLineRules.Input {
        JournalLineRules.Input(account_id: account, entry_type: side, amount: amount.map(AmountText.init),
                               currency: currency, exchange_rate: rate.map(AmountText.init), description: nil)
    }

    @Test func balancedLinesBecomeMinorUnitsAndEveryBadLineNamesItsField() throws {
        let chart = try Self.chart([cash, sales])
        let lines = try JournalLineRules.validate([input(cash, "debit", "100.00"), input(sales, "credit", "100")],
                                                  accounts: chart, base: usd)
        #expect(lines.map(\.baseAmountMinor) == [10_000, 10_000])
        func failure(_ inputs: [JournalLineRules.Input]) -> String? {
            do { _ = try JournalLineRules.validate(inputs, accounts: chart, base: usd); return nil } catch { return error.details?.field }
        }
        #expect(failure([input(cash, "debit", "100.00"), input(sales, "credit", "90.00")]) == "lines")
        #expect(failure([input(cash, "debit", "100.00")]) == "lines")
        #expect(failure([input(cash, "debit", "0"), input(sales, "credit", "0")]) == "lines[0].amount")
        #expect(failure([input(cash, "debit", "-5"), input(sales, "credit", "-5")]) == "lines[0].amount")
        #expect(failure([input(cash, "debit", "1.001"), input(sales, "credit", "1.001")]) == "lines[0].amount")
        #expect(failure([input(cash, "debit", "ten"), input(sales, "credit", "10")]) == "lines[0].amount")
        #expect(failure([input(cash, "debit", "1e30"), input(sales, "credit", "1")]) == "lines[0].amount")
        #expect(failure([input(cash, "debit", "99999999999999999"), input(sales, "credit", "1")]) == "lines[0].amount")
        #expect(failure([input(cash, "debit", "1"), input("33333333-3333-3333-3333-333333333333", "credit", "1")])
                == "lines[1].account_id")
        #expect(failure([input(cash, "debit", "1"), input("not-a-uuid", "credit", "1")]) == "lines[1].account_id")
        #expect(failure([input(cash, "left", "1"), input(sales, "credit", "1")]) == "lines[0].entry_type")
        #expect(failure([input(cash, "debit", "1", currency: "EUR"), input(sales, "credit", "1")]) == "lines[0].exchange_rate")
        #expect(failure([input(cash, "debit", "1", currency: "XXX"), input(sales, "credit", "1")]) == "lines[0].currency")
        #expect(failure([input(nil, "debit", "1"), input(sales, "credit", "1")]) == "lines[0].account_id")
        // A foreign-currency line balances on its base amount.
        let mixed = try JournalLineRules.validate([input(cash, "debit", "108.25"),
                                                   input(sales, "credit", "100.00", currency: "EUR", rate: "1.0825")],
                                                  accounts: chart, base: usd)
        #expect(mixed[1].baseAmountMinor == 10_825)
    }

    static func chart(_ ids: [String]) throws -> [String: Account] {
        var result: [String: Account] = [:]
        for id in ids {
            let row = Row(columns: ["id", "company_id", "account_number", "name", "account_type", "normal_balance",
                                    "account_subtype", "description", "parent_id", "is_system", "is_active", "created_at",
                                    "updated_at"],
                          values: [id, "c", "1000", "A", "asset", "debit", nil, nil, nil, "f", "t",
                                   "2026-01-01 00:00:00+00", "2026-01-01 00:00:00+00"])
            result[id] = try Account(row: row)
        }
        return result
    }
}

@Suite struct TransactionPostingTests {
    func lines(_ plan: TransactionPosting.Plan) -> [String] {
        guard case .post(_, let lines) = plan else { return [] }
        return lines.map { "\($0.side.rawValue) \($0.rule.rawValue) \($0.amount)" }
    }

    @Test func aCardSaleWithTipAndCashbackClearsTheWholeChargeAndSplitsIt() {
        let plan = TransactionPosting.plan(PaymentMovement(transactionId: "txn_1", type: "SALE", tender: "CARD", amount: 2_500,
                                                           tip: 300, cashback: 2_000))
        #expect(lines(plan) == ["debit card_clearing 4800", "credit cash 2000", "credit sales_revenue 2500",
                                "credit tips_payable 300"])
    }

    @Test func aCashSaleBooksTheRoundingDeltaOnItsOwnAccount() {
        let up = TransactionPosting.plan(PaymentMovement(transactionId: "t", type: "SALE", tender: "CASH", amount: 723,
                                                         cashTotal: 725))
        #expect(lines(up) == ["debit cash 725", "credit cash_rounding 2", "credit sales_revenue 723"])
        let down = TransactionPosting.plan(PaymentMovement(transactionId: "t", type: "SALE", tender: "CASH", amount: 722,
                                                           tip: 100, cashTotal: 820))
        #expect(lines(down) == ["debit cash 820", "debit cash_rounding 2", "credit sales_revenue 722", "credit tips_payable 100"])
        let exact = TransactionPosting.plan(PaymentMovement(transactionId: "t", type: "SALE", tender: "CASH", amount: 500))
        #expect(lines(exact) == ["debit cash 500", "credit sales_revenue 500"])
    }

    @Test func refundsVoidsHoldsAndNonMovements() {
        #expect(lines(TransactionPosting.plan(PaymentMovement(transactionId: "r", type: "REFUND", tender: "CARD", amount: 1_000)))
                == ["debit sales_returns 1000", "credit card_clearing 1000"])
        #expect(lines(TransactionPosting.plan(PaymentMovement(transactionId: "r", type: "REFUND", tender: "STORED_VALUE",
                                                              amount: 700)))
                == ["debit sales_returns 700", "credit stored_value_liability 700"])
        #expect(TransactionPosting.plan(PaymentMovement(transactionId: "v", type: "VOID", tender: "CARD", amount: 1_000,
                                                        originalTransactionId: "txn_9")) == .reverseOriginal(transactionId: "txn_9"))
        #expect(TransactionPosting.plan(PaymentMovement(transactionId: "p", type: "PRE_AUTH", tender: "CARD", amount: 1_000)) == .nothing)
        #expect(TransactionPosting.plan(PaymentMovement(transactionId: "c", type: "CARD_READ", tender: "CARD", amount: 0)) == .nothing)
        #expect(lines(TransactionPosting.plan(PaymentMovement(transactionId: "c", type: "PRE_AUTH_COMPLETE", tender: "CARD",
                                                              amount: 900, tip: 100)))
                == ["debit card_clearing 1000", "credit sales_revenue 900", "credit tips_payable 100"])
    }

    @Test func readsTheCommercePayload() throws {
        let payload: JSONValue = ["transactionId": "txn_1", "type": "SALE", "tender": "CASH", "amount": 723, "tipAmount": 0,
                                  "cashbackAmount": 0, "currency": "USD", "rounding": ["cashTotal": 725, "ledgerTotal": 723]]
        let movement = try #require(PaymentMovement(payload: payload))
        #expect(movement.cashTotal == 725)
        #expect(PaymentMovement(payload: ["type": "SALE"]) == nil)
    }
}

@Suite struct ReportBuilderTests {
    func account(_ number: String, _ type: String, _ subtype: String, debit: Int64 = 0, credit: Int64 = 0) -> ReportBuilder.AccountTotals {
        ReportBuilder.AccountTotals(accountId: number, number: number, name: number, type: type,
                                    normalBalance: type == "asset" || type == "expense" ? "debit" : "credit",
                                    subtype: subtype, debit: debit, credit: credit)
    }

    @Test func profitAndLossAndBalanceSheetAddUp() {
        let accounts = [
            account("1000", "asset", "cash", debit: 100_000, credit: 20_000),
            account("2100", "liability", "current_liability", credit: 5_000),
            account("3000", "equity", "owners_equity", credit: 50_000),
            account("4000", "revenue", "operating_revenue", credit: 40_000),
            account("4900", "revenue", "contra_revenue", debit: 1_000),
            account("5000", "expense", "cost_of_goods_sold", debit: 10_000),
            account("6100", "expense", "operating_expense", debit: 5_000),
            account("7900", "expense", "other_expense", debit: 20),
            account("7950", "expense", "other_expense", credit: 0),
        ]
        let pnl = ReportBuilder.profitAndLoss(accounts)
        #expect(pnl.revenue.total == 39_000)
        #expect(pnl.grossProfit == 29_000)
        #expect(pnl.operatingIncome == 24_000)
        #expect(pnl.otherIncomeExpense.total == -20)
        #expect(pnl.netIncome == 23_980)
        #expect(pnl.revenue.total == pnl.revenue.sections.reduce(0) { $0 + $1.subtotal })
        let sheet = ReportBuilder.balanceSheet(accounts)
        #expect(sheet.assets.total == 80_000)
        #expect(sheet.totalLiabilitiesAndEquity == 5_000 + 50_000 + 23_980)
        #expect(!sheet.isBalanced)  // the fixture is not a real ledger: 1,020 of debits are missing
        let trial = ReportBuilder.trialBalance(accounts)
        #expect(trial.debits == 80_000 + 1_000 + 10_000 + 5_000 + 20)
        #expect(trial.credits == 5_000 + 50_000 + 40_000)
    }
}
