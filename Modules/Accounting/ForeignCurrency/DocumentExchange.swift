import Kernel

/// Invoices, bills and payments in a currency other than the company's base currency (spec B.2 rule 26). A document
/// keeps its own currency and amounts (integer minor units with that currency's exponent) and the rate it was booked
/// at: the request's `exchange_rate`, else the latest rate to the base currency effective on or before its date
/// (`ExchangeRateLookup`). Its journal entry is in the base currency; each line carries the original amount, currency
/// and rate. When a payment settles a document at another rate, the difference is the realised exchange gain or loss,
/// posted on the payment's control account against the `fx_gain_loss` rule's account. Pure except `rate`.
enum DocumentExchange {
    /// The rate of a document in `currency` dated `date` (`dateField` names the date in the message). 422 on
    /// `exchange_rate` when the given rate is not a positive decimal, when it is not 1 for the base currency, or when
    /// no rate is given and none is effective on the date.
    static func rate(currency: Currency, base: Currency, explicit: AmountText?, date: String, dateField: String,
                     companyId: String, mode: Mode, executor: any SQLExecutor) async throws -> DecimalFactor {
        if let explicit {
            guard let parsed = DecimalFactor(explicit.text) else {
                throw AtlasError.invalidField("exchange_rate", "exchange_rate must be a decimal greater than 0 with at most "
                                              + "\(DecimalFactor.scaleMax) decimals")
            }
            guard currency != base || parsed == .one else {
                throw AtlasError.invalidField("exchange_rate", "exchange_rate must be 1 for the base currency")
            }
            return parsed
        }
        if currency == base { return .one }
        guard let record = try await ExchangeRateLookup.latest(from: currency, to: base, on: date, companyId: companyId, mode: mode,
                                                               executor: executor) else {
            throw AtlasError.invalidField("exchange_rate", "exchange_rate is required: there is no \(currency.code)→\(base.code) "
                                          + "exchange rate effective on or before the \(dateField) \(date)")
        }
        return record.rate
    }

    /// `minorUnits` of `currency` at `rate` in minor units of `base`, rounded half away from zero (422 on `field` when
    /// out of range).
    static func toBase(_ minorUnits: Int64, currency: Currency, rate: DecimalFactor, base: Currency,
                       field: String) throws(AtlasError) -> Int64 {
        guard let converted = rate.convert(minorUnits, fromExponent: currency.minorUnitExponent, toExponent: base.minorUnitExponent) else {
            throw AtlasError.invalidField(field, "\(field) is out of range in \(base.code)")
        }
        return converted
    }

    /// A document's posting lines (built in its currency at rate 1) at `rate` in the base currency. Each line is converted
    /// on its own; the rounding difference between the sides goes to the largest line of the side with more lines, so the
    /// one control line (receivable or payable) carries exactly the converted total, which later applications settle.
    /// 422 on `field` when a line would be worth less than one minor unit of the base currency.
    static func postingLines(_ lines: [LedgerLine], currency: Currency, rate: DecimalFactor, base: Currency,
                             field: String) throws(AtlasError) -> [LedgerLine] {
        guard currency != base else { return lines }
        var converted = lines
        for index in converted.indices {
            precondition(converted[index].currency == currency, "a document's lines are in its currency")
            let baseAmount = try toBase(converted[index].amountMinor, currency: currency, rate: rate, base: base, field: field)
            guard baseAmount > 0 else {
                throw AtlasError.invalidField(field, "\(field): a line is worth less than one minor unit of \(base.code) at rate \(rate.text)")
            }
            converted[index].exchangeRate = rate
            converted[index].baseAmountMinor = baseAmount
        }
        var debits: Int64 = 0
        var credits: Int64 = 0
        var debitCount = 0
        for line in converted {
            if line.side == .debit { debits += line.baseAmountMinor; debitCount += 1 } else { credits += line.baseAmountMinor }
        }
        guard debits != credits else { return converted }
        let adjusted: LedgerLine.Side = converted.count - debitCount >= debitCount ? .credit : .debit
        let delta = adjusted == .credit ? debits - credits : credits - debits
        guard let index = converted.indices.filter({ converted[$0].side == adjusted })
            .max(by: { converted[$0].baseAmountMinor < converted[$1].baseAmountMinor }) else {
            preconditionFailure("a document's entry has lines on both sides")
        }
        converted[index].baseAmountMinor += delta
        guard converted[index].baseAmountMinor > 0 else {
            throw AtlasError.invalidField(field, "\(field): the lines cannot be balanced in \(base.code) at rate \(rate.text)")
        }
        return converted
    }

    /// What applying `amount` moves in the base currency beyond what the document booked for it: the payment's base share
    /// minus the document's. Each share is the difference of cumulative conversions (`before + amount` less `before`), so
    /// a document or payment applied in full moves exactly what its entry booked. Positive: the payment is worth more in
    /// the base currency than the part of the document it pays.
    static func difference(amount: Int64, currency: Currency, base: Currency, documentPaidBefore: Int64, documentRate: DecimalFactor,
                           paymentAppliedBefore: Int64, paymentRate: DecimalFactor, field: String) throws(AtlasError) -> Int64 {
        func share(_ before: Int64, _ rate: DecimalFactor) throws(AtlasError) -> Int64 {
            try toBase(before + amount, currency: currency, rate: rate, base: base, field: field)
                - toBase(before, currency: currency, rate: rate, base: base, field: field)
        }
        return try share(paymentAppliedBefore, paymentRate) - share(documentPaidBefore, documentRate)
    }

    /// The realised exchange difference's lines. A payment received worth more than the receivable it settles (positive)
    /// left that much credit on the receivable: DR receivable / CR gain. A payment made worth more than the payable it
    /// settles left that much debit on the payable: DR loss / CR payable. Negative differences take the other sides.
    static func gainLossLines(difference: Int64, side: PaymentSide, control: String, gainLoss: String, base: Currency) -> [LedgerLine] {
        precondition(difference != 0, "only a difference is posted")
        let controlSide: LedgerLine.Side = (side.cashSide == .debit) == (difference > 0) ? .debit : .credit
        let magnitude = difference.magnitude > UInt64(Int64.max) ? Int64.max : Int64(difference.magnitude)
        func line(_ account: String, _ lineSide: LedgerLine.Side) -> LedgerLine {
            LedgerLine(accountId: account, side: lineSide, amountMinor: magnitude, currency: base, exchangeRate: .one,
                       baseAmountMinor: magnitude, description: "Realised exchange difference")
        }
        return [line(control, controlSide), line(gainLoss, controlSide.opposite)]
    }
}
