import Kernel

/// Unrealised exchange differences (IAS 21 ¶23 and ¶28, ASC 830-20-35-2): at a period's end every open foreign-currency
/// invoice and bill is a monetary item, so its open balance is restated at the closing rate and the difference from its
/// carrying amount goes to profit or loss. The carrying amount stays the booking rate's (what the receivable or payable
/// account holds for the document, as the aging reports compute it), because each revaluation is reversed on the next
/// open day: realised differences later are computed against the booking rate, as before. Pure.
enum Revaluation {
    enum Kind: Sendable, Hashable {
        case receivable
        case payable

        /// The side that increases the control account (a receivable is an asset, a payable a liability).
        var increaseSide: LedgerLine.Side { self == .receivable ? .debit : .credit }
    }

    /// A posted invoice or bill in a foreign currency as it stood at the period end.
    struct OpenDocument: Sendable, Hashable {
        var kind: Kind
        var id: String
        var number: String
        var currency: Currency
        var totalMinor: Int64
        /// Applied by payments dated on or before the period end, in the document's currency.
        var paidMinor: Int64
        var bookedRate: DecimalFactor
        /// The receivable or payable account the document's own entry booked it on.
        var controlAccountId: String

        var openMinor: Int64 { totalMinor - paidMinor }
    }

    /// What the open balance's value in the base currency changes by at `closingRate`: the open amount converted once at
    /// the closing rate, less its carrying amount (the total less the paid part, each converted at the booking rate: the
    /// cumulative conversions the document's entry and its applications used). All half away from zero, in integer
    /// minor units. Positive: the balance is worth more in the base currency (a gain on a receivable, a loss on a payable).
    static func difference(_ document: OpenDocument, closingRate: DecimalFactor, base: Currency) throws(AtlasError) -> Int64 {
        func toBase(_ minor: Int64, _ rate: DecimalFactor) throws(AtlasError) -> Int64 {
            try DocumentExchange.toBase(minor, currency: document.currency, rate: rate, base: base, field: "period_end")
        }
        let carrying = try toBase(document.totalMinor, document.bookedRate) - toBase(document.paidMinor, document.bookedRate)
        return try toBase(document.openMinor, closingRate) - carrying
    }

    /// One entry's lines for the differences: per control account and currency, the net change on its own side (a receivable
    /// worth more is debited, a payable worth more credited), and the net of everything on `gainLoss` (a credit is a gain).
    /// Empty when nothing changed. Lines are in the base currency at rate 1, in account and currency order.
    static func lines(_ differences: [(document: OpenDocument, difference: Int64)], gainLoss: String,
                      base: Currency) -> [LedgerLine] {
        var byControl: [String: [String: Int64]] = [:]  // account → currency → debit-positive change
        for (document, difference) in differences where difference != 0 {
            let signed = document.kind.increaseSide == .debit ? difference : -difference
            byControl[document.controlAccountId, default: [:]][document.currency.code, default: 0] += signed
        }
        var lines: [LedgerLine] = []
        var net: Int64 = 0
        for account in byControl.keys.sorted() {
            for (code, change) in (byControl[account] ?? [:]).sorted(by: { $0.key < $1.key }) where change != 0 {
                lines.append(line(account, change > 0 ? .debit : .credit, change.magnitude, base,
                                  "Unrealised exchange difference on \(code) documents"))
                net += change
            }
        }
        if net != 0 {
            lines.append(line(gainLoss, net > 0 ? .credit : .debit, net.magnitude, base,
                              net > 0 ? "Unrealised exchange gain" : "Unrealised exchange loss"))
        }
        return lines.count >= 2 ? lines : []
    }

    private static func line(_ account: String, _ side: LedgerLine.Side, _ magnitude: UInt64, _ base: Currency,
                             _ description: String) -> LedgerLine {
        let amount = magnitude > UInt64(Int64.max) ? Int64.max : Int64(magnitude)
        return LedgerLine(accountId: account, side: side, amountMinor: amount, currency: base, exchangeRate: .one,
                          baseAmountMinor: amount, description: description)
    }

    /// 409 on `period_end` when the revaluation's reversal would fall in a later period closed first.
    static func reversalInClosedPeriod(_ day: String, closedStart: String, closedEnd: String, periodEnd: String) -> AtlasError {
        AtlasError(kind: .conflict, status: 409, code: "PERIOD_CLOSED",
                   message: "The open foreign-currency invoices and bills revalued at \(periodEnd) must be reversed on \(day), "
                       + "which falls in the closed period \(closedStart) to \(closedEnd); reopen it, close this period, then "
                       + "close it again",
                   details: ErrorDetails(field: "period_end"))
    }

    /// 409 on `period_end` when no rate from a currency of an open document to the base currency is effective on the
    /// period end: the documents cannot be revalued, so the period cannot be closed.
    static func missingRate(_ currency: Currency, base: Currency, periodEnd: String) -> AtlasError {
        AtlasError(kind: .conflict, status: 409, code: "EXCHANGE_RATE_MISSING",
                   message: "There is no \(currency.code)→\(base.code) exchange rate effective on or before the period_end "
                       + "\(periodEnd): the open \(currency.code) invoices and bills cannot be revalued, so the period cannot be "
                       + "closed; add the rate and close again",
                   details: ErrorDetails(field: "period_end"))
    }
}
