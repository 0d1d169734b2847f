import Foundation
import Kernel

/// The invoice state machine (spec B.2 rules 1–7) as a value; transitions return what to write or throw
/// the documented 409, so an illegal one changes nothing.
///
///     draft ──send──► sent ──mark-viewed──► viewed
///       │               └──────┬────────────┘
///       │                      ├── payments ──► partial ──► paid        (payments: not implemented yet)
///       └ update (drafts only) └── void {reason} (no payments) ──► voided (a reversing entry)
///
/// `overdue` is derived on read: sent, viewed or partial with `amount_due > 0` after `due_date`.
struct InvoiceLifecycle: Sendable, Hashable {
    enum Status: String, Sendable, Hashable, CaseIterable {
        case draft, sent, viewed, partial, paid, voided
    }

    enum Action: Sendable, Hashable {
        case replaceDraft
        case send(at: Date)
        case markViewed(at: Date)
        case void(reason: String, at: Date)
    }

    private(set) var status: Status
    let amountPaidMinor: Int64

    init(status: Status, amountPaidMinor: Int64) {
        precondition(amountPaidMinor >= 0, "an invoice's payments are never negative")
        self.status = status
        self.amountPaidMinor = amountPaidMinor
    }

    mutating func update() throws(AtlasError) -> Action {
        guard status == .draft else { throw AccountingInput.conflict("Only draft invoices can be updated; void a sent invoice instead") }
        return .replaceDraft
    }

    mutating func send(clock: any WallClock) throws(AtlasError) -> Action {
        guard status == .draft else { throw AccountingInput.conflict("Only draft invoices can be sent") }
        status = .sent
        return .send(at: clock.now())
    }

    mutating func markViewed(clock: any WallClock) throws(AtlasError) -> Action {
        guard status == .sent else { throw AccountingInput.conflict("Only sent invoices can be marked viewed") }
        status = .viewed
        return .markViewed(at: clock.now())
    }

    mutating func void(reason: String, clock: any WallClock) throws(AtlasError) -> Action {
        guard status == .sent || status == .viewed, amountPaidMinor == 0 else {
            throw AccountingInput.conflict(status == .draft ? "A draft invoice cannot be voided; it was never sent"
                                                            : "Only sent or viewed invoices without payments can be voided")
        }
        status = .voided
        return .void(reason: reason, at: clock.now())
    }

    /// What a client sees: `overdue` instead of an open status once the due date has passed.
    static func displayed(_ status: Status, dueDate: String, amountDueMinor: Int64, today: String) -> String {
        let open = status == .sent || status == .viewed || status == .partial
        return open && amountDueMinor > 0 && dueDate < today ? "overdue" : status.rawValue
    }
}

/// Invoice arithmetic (rule 7): line subtotal = quantity × unit price, line tax = subtotal × tax rate %,
/// each rounded half away from zero to the currency's minor unit; totals are sums of the lines.
enum InvoiceMath {
    static let linesMax = 200
    static let descriptionLengthMax = 500
    static let quantityMax: Int64 = 1_000_000_000

    struct Line: Sendable, Hashable {
        var description: String
        var quantity: DecimalFactor
        var unitPriceMinor: Int64
        var taxRate: DecimalFactor?
        /// The revenue account (invoices) or expense account (bills) the line posts to.
        var accountId: String
        var subtotalMinor: Int64
        var taxMinor: Int64
    }

    struct Input: Decodable, Sendable {
        let description: String?
        let quantity: AmountText?
        let unit_price: AmountText?
        let tax_rate: AmountText?
        let revenue_account_id: String?
        let expense_account_id: String?
    }

    /// What a line's account is: an invoice line's revenue account, or a bill line's expense account (the
    /// vendor's default when the line names none).
    enum LineAccount: Sendable {
        case revenue
        case expense(defaultAccountId: String?)

        var field: String { if case .revenue = self { "revenue_account_id" } else { "expense_account_id" } }
        var type: String { if case .revenue = self { "revenue" } else { "expense" } }
    }

    /// Validates and prices `inputs` in `currency`; the accounts are the company's, by id.
    static func lines(_ inputs: [Input], accounts: [String: Account], currency: Currency,
                      account lineAccount: LineAccount = .revenue) throws(AtlasError) -> [Line] {
        guard !inputs.isEmpty else { throw AtlasError.invalidField("lines", "An invoice needs at least one line") }
        guard inputs.count <= linesMax else { throw AtlasError.invalidField("lines", "An invoice has at most \(linesMax) lines") }
        var lines: [Line] = []
        for (index, input) in inputs.enumerated() {
            let field = "lines[\(index)]"
            guard let description = input.description else { throw AtlasError.missingField(field + ".description") }
            try AccountingInput.text(description, field: field + ".description", max: descriptionLengthMax)
            guard let priceText = input.unit_price else { throw AtlasError.missingField(field + ".unit_price") }
            let price = try priceText.minorUnits(currency, field: field + ".unit_price")
            guard price >= 0 else { throw AtlasError.invalidField(field + ".unit_price", "\(field).unit_price must be 0 or more") }
            var quantity = DecimalFactor.one
            if let text = input.quantity {
                guard let parsed = DecimalFactor(text.text), parsed.mantissa <= quantityMax * 10_000 else {
                    throw AtlasError.invalidField(field + ".quantity", "\(field).quantity must be a number greater than 0")
                }
                quantity = parsed
            }
            var rate: DecimalFactor?
            if let text = input.tax_rate, DecimalAmount.parse(text.text, exponent: 0) != .success(0) {
                guard let parsed = DecimalFactor(text.text) else {
                    throw AtlasError.invalidField(field + ".tax_rate", "\(field).tax_rate must be a percentage of 0 or more")
                }
                rate = parsed
            }
            let accountField = field + "." + lineAccount.field
            var accountText = input.revenue_account_id
            if case .expense(let fallback) = lineAccount { accountText = input.expense_account_id ?? fallback }
            guard let accountText else { throw AtlasError.missingField(accountField) }
            guard let accountId = AccountingInput.uuid(accountText), let account = accounts[accountId], account.isActive,
                  account.type == lineAccount.type else {
                throw AtlasError.invalidField(accountField, "\(accountField) is not an active \(lineAccount.type) account")
            }
            let exponent = currency.minorUnitExponent
            guard let subtotal = quantity.convert(price, fromExponent: exponent, toExponent: exponent) else {
                throw AtlasError.invalidField(field + ".unit_price", "\(field) exceeds the largest accepted amount")
            }
            var tax: Int64 = 0
            if let rate {
                guard let computed = rate.percentOf(subtotal) else {
                    throw AtlasError.invalidField(field + ".tax_rate", "\(field) tax exceeds the largest accepted amount")
                }
                tax = computed
            }
            lines.append(Line(description: description, quantity: quantity, unitPriceMinor: price, taxRate: rate,
                              accountId: accountId, subtotalMinor: subtotal, taxMinor: tax))
        }
        let (subtotal, tax) = totals(lines)
        guard subtotal + tax <= DecimalAmount.minorUnitsMax else {
            throw AtlasError.invalidField("lines", "The invoice total exceeds the largest accepted amount")
        }
        return lines
    }

    /// Σ subtotals and Σ taxes (each ≤ 10^15, ≤ 200 lines: no overflow).
    static func totals(_ lines: [Line]) -> (subtotal: Int64, tax: Int64) {
        lines.reduce((Int64(0), Int64(0))) { ($0.0 + $1.subtotalMinor, $0.1 + $1.taxMinor) }
    }

    /// The invoice's journal entry when sent: debit receivables with the total, credit each revenue account
    /// its lines' subtotals and sales tax payable the tax (rule 3; tax to a liability account, inferred).
    static func postingLines(_ lines: [Line], receivable: String, taxPayable: String, currency: Currency) -> [LedgerLine] {
        func line(_ account: String, _ side: LedgerLine.Side, _ amount: Int64) -> LedgerLine {
            LedgerLine(accountId: account, side: side, amountMinor: amount, currency: currency, exchangeRate: .one,
                       baseAmountMinor: amount, description: nil)
        }
        let (subtotal, tax) = totals(lines)
        var result = [line(receivable, .debit, subtotal + tax)]
        result += sumsByAccount(lines, includingTax: false).map { line($0.account, .credit, $0.amount) }
        if tax > 0 { result.append(line(taxPayable, .credit, tax)) }
        return result
    }

    /// The lines' amounts summed per account, accounts in first-use order, zero sums left out.
    static func sumsByAccount(_ lines: [Line], includingTax: Bool) -> [(account: String, amount: Int64)] {
        var byAccount: [String: Int64] = [:]
        var order: [String] = []
        for item in lines {
            let amount = item.subtotalMinor + (includingTax ? item.taxMinor : 0)
            guard amount > 0 else { continue }
            if byAccount[item.accountId] == nil { order.append(item.accountId) }
            byAccount[item.accountId, default: 0] += amount
        }
        return order.map { (account: $0, amount: byAccount[$0] ?? 0) }
    }

    /// The due date from payment terms (rule 7, [T1]): invoice date + the term's days.
    static func dueDate(invoiceDate: String, paymentTerms: String) -> String {
        let days = ["due_on_receipt": 0, "net_15": 15, "net_30": 30, "net_60": 60, "net_90": 90][paymentTerms] ?? 30
        var date = invoiceDate
        for _ in 0..<days { date = AccountingInput.nextDay(date) }
        return date
    }
}
