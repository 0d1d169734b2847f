import Kernel

/// One validated ledger line: integer minor units in its currency and in the company's base currency.
struct LedgerLine: Sendable, Hashable {
    enum Side: String, Sendable, Hashable {
        case debit
        case credit

        var opposite: Side { self == .debit ? .credit : .debit }
    }

    var accountId: String
    var side: Side
    var amountMinor: Int64
    var currency: Currency
    var exchangeRate: DecimalFactor
    var baseAmountMinor: Int64
    var description: String?

    /// The same line on the other side (a reversing entry).
    var reversed: LedgerLine {
        var line = self
        line.side = side.opposite
        return line
    }
}

/// Rules every set of lines obeys before it is stored (spec B.2 rule 15), with the field errors a client
/// can act on (`lines[1].amount`). Pure: the accounts are handed in.
enum JournalLineRules {
    static let linesMin = 2
    static let linesMax = 500
    static let descriptionLengthMax = 500

    struct Input: Decodable, Sendable {
        let account_id: String?
        let entry_type: String?
        let amount: AmountText?
        let currency: String?
        let exchange_rate: AmountText?
        let description: String?
    }

    /// Validates `inputs` against the company's accounts (by id) and base currency; the lines must balance
    /// in the base currency. A foreign-currency line without `exchange_rate` takes `rates[currency]` (the rate
    /// effective on the entry date, `ExchangeRateLookup`); without one it is refused on its `exchange_rate`.
    static func validate(_ inputs: [Input], accounts: [String: Account], base: Currency,
                         rates: [String: DecimalFactor] = [:]) throws(AtlasError) -> [LedgerLine] {
        guard inputs.count >= linesMin else {
            throw AtlasError.invalidField("lines", "A journal entry needs at least \(linesMin) lines")
        }
        guard inputs.count <= linesMax else {
            throw AtlasError.invalidField("lines", "A journal entry has at most \(linesMax) lines")
        }
        var lines: [LedgerLine] = []
        for (index, input) in inputs.enumerated() {
            let field = "lines[\(index)]"
            guard let accountText = input.account_id else { throw AtlasError.missingField(field + ".account_id") }
            guard let accountId = AccountingInput.uuid(accountText), let account = accounts[accountId], account.isActive else {
                throw AtlasError.invalidField(field + ".account_id", "\(field).account_id is not an active account of this company")
            }
            guard let sideText = input.entry_type else { throw AtlasError.missingField(field + ".entry_type") }
            guard let side = LedgerLine.Side(rawValue: sideText) else {
                throw AtlasError.invalidField(field + ".entry_type", "\(field).entry_type must be debit or credit")
            }
            let currencyCode = input.currency ?? base.code
            guard let currency = Currency(code: currencyCode) else {
                throw AtlasError.invalidField(field + ".currency", "\(field).currency must be an ISO 4217 code such as USD")
            }
            guard let amountText = input.amount else { throw AtlasError.missingField(field + ".amount") }
            let amount = try amountText.positiveMinorUnits(currency, field: field + ".amount")
            var rate = DecimalFactor.one
            if let rateText = input.exchange_rate {
                guard let parsed = DecimalFactor(rateText.text) else {
                    throw AtlasError.invalidField(field + ".exchange_rate",
                                                  "\(field).exchange_rate must be a decimal greater than 0 with at most 10 decimals")
                }
                rate = parsed
            }
            if currency == base, rate != .one {
                throw AtlasError.invalidField(field + ".exchange_rate", "\(field).exchange_rate must be 1 for the base currency")
            }
            if currency != base, input.exchange_rate == nil {
                guard let dated = rates[currency.code] else {
                    throw AtlasError.invalidField(field + ".exchange_rate", "\(field).exchange_rate is required: there is no "
                                                  + "\(currency.code)→\(base.code) exchange rate effective on or before the entry date")
                }
                rate = dated
            }
            guard let baseAmount = rate.convert(amount, fromExponent: currency.minorUnitExponent,
                                                toExponent: base.minorUnitExponent), baseAmount > 0 else {
                throw AtlasError.invalidField(field + ".amount", "\(field).amount is out of range in \(base.code)")
            }
            if let description = input.description, description.count > descriptionLengthMax {
                throw AtlasError.invalidField(field + ".description", "\(field).description must be at most \(descriptionLengthMax) characters")
            }
            lines.append(LedgerLine(accountId: accountId, side: side, amountMinor: amount, currency: currency,
                                    exchangeRate: rate, baseAmountMinor: baseAmount, description: input.description))
        }
        let (debits, credits) = totals(lines)
        guard debits == credits else {
            throw AtlasError.invalidField("lines", "The entry is unbalanced: debits \(DecimalAmount.format(debits, base)) "
                                          + "≠ credits \(DecimalAmount.format(credits, base)) \(base.code)")
        }
        return lines
    }

    /// Σ debit and Σ credit base amounts (each line ≤ 10^15 and ≤ 500 lines, so no overflow).
    static func totals(_ lines: [LedgerLine]) -> (debits: Int64, credits: Int64) {
        var debits: Int64 = 0
        var credits: Int64 = 0
        for line in lines {
            precondition(line.baseAmountMinor > 0, "ledger lines carry positive amounts")
            if line.side == .debit { debits += line.baseAmountMinor } else { credits += line.baseAmountMinor }
        }
        return (debits, credits)
    }
}
