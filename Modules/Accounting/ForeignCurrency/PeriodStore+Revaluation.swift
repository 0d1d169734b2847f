import Foundation
import Kernel

extension PeriodStore {
    /// The revaluation a close posted: the entry dated the period end and its reversal dated the next open day (both nil
    /// when no open foreign-currency document changed value).
    struct RevaluationEntries: Sendable, Hashable {
        var revaluation: String?
        var reversal: String?
    }

    /// Revalues the ledger's open foreign-currency invoices and bills at the rates effective on `end` (`Revaluation`), in
    /// the close's transaction before the period row locks it: one entry dated `end` on the documents' control accounts
    /// against the `fx_unrealised_gain_loss` account, and its mirror dated the day after `end`. 409 on `period_end`, nothing
    /// written, when a currency has no rate (`EXCHANGE_RATE_MISSING`) or when that day falls in a closed period (`closed`:
    /// the ledger's closed periods): a later period closed first was revalued against the booking rate, so this
    /// revaluation must be reversed before it starts, and it cannot be dated into it.
    func postRevaluation(_ company: Company, mode: Mode, periodId: String, start: String, end: String,
                         closed: [(start: String, end: String)], userId: String, now: Date,
                         executor tx: any SQLExecutor) async throws -> RevaluationEntries {
        let base = company.baseCurrency
        let open = try await Self.openForeignDocuments(.received, kind: .receivable, companyId: company.id, mode: mode, base: base,
                                                       asOf: end, executor: tx)
            + Self.openForeignDocuments(.made, kind: .payable, companyId: company.id, mode: mode, base: base, asOf: end, executor: tx)
        var rates: [Currency: DecimalFactor] = [:]
        for currency in Set(open.map(\.currency)).sorted(by: { $0.code < $1.code }) {
            guard let record = try await ExchangeRateLookup.latest(from: currency, to: base, on: end, companyId: company.id,
                                                                   mode: mode, executor: tx) else {
                throw Revaluation.missingRate(currency, base: base, periodEnd: end)
            }
            rates[currency] = record.rate
        }
        var differences: [(document: Revaluation.OpenDocument, difference: Int64)] = []
        for document in open {
            guard let rate = rates[document.currency] else { preconditionFailure("every open currency has a rate") }
            differences.append((document, try Revaluation.difference(document, closingRate: rate, base: base)))
        }
        guard differences.contains(where: { $0.difference != 0 }) else { return RevaluationEntries() }
        guard let gainLoss = try await InvoiceStore.ruleAccount(.fxUnrealisedGainLoss, companyId: company.id, mode: mode,
                                                                executor: tx) else {
            throw AccountingInput.conflict("The company has no unrealised exchange gain/loss account (posting rule fx_unrealised_gain_loss)")
        }
        let lines = Revaluation.lines(differences, gainLoss: gainLoss, base: base)
        guard !lines.isEmpty else { return RevaluationEntries() }
        let reversalDate = AccountingInput.nextDay(end)
        if let later = closed.first(where: { $0.start <= reversalDate && reversalDate <= $0.end }) {
            throw Revaluation.reversalInClosedPeriod(reversalDate, closedStart: later.start, closedEnd: later.end, periodEnd: end)
        }
        func entry(_ date: String, _ description: String, _ lines: [LedgerLine]) -> JournalStore.NewEntry {
            JournalStore.NewEntry(companyId: company.id, mode: mode, status: .posted, entryType: "adjustment", sourceType: "period",
                                  sourceId: periodId, entryDate: date, postingDate: date, description: description,
                                  reference: "FX revaluation \(end)", currency: base, postedAt: now, postedBy: userId,
                                  createdBy: userId, lines: lines)
        }
        let revaluation = entry(end, "Unrealised exchange differences: open foreign-currency documents at the rates of \(end) "
                                + "(period \(start) to \(end))", lines)
        let reversal = entry(reversalDate, "Reversal of the unrealised exchange differences at \(end)", lines.map(\.reversed))
        try await DocumentLedger.post(revaluation, now: now, executor: tx)
        try await DocumentLedger.post(reversal, now: now, executor: tx)
        return RevaluationEntries(revaluation: revaluation.id, reversal: reversal.id)
    }

    /// The side's posted (not void) documents in a foreign currency dated on or before `asOf` with an open balance then:
    /// the total less what payments dated on or before it applied (the aging reports' reading), with the control account
    /// their own entry booked (the invoice's one debit line, the bill's one credit line).
    static func openForeignDocuments(_ side: PaymentSide, kind: Revaluation.Kind, companyId: String, mode: Mode, base: Currency,
                                     asOf: String, executor: any SQLExecutor) async throws -> [Revaluation.OpenDocument] {
        let rows = try await executor.query("""
            SELECT * FROM (
                SELECT d.id, d.\(literal: side.documentNumberColumn) AS document_number, d.currency,
                       d.exchange_rate::text AS exchange_rate, d.total_minor,
                       coalesce((SELECT sum(a.amount_minor) FROM \(literal: side.applicationsTable) a
                                 JOIN \(literal: side.table) p ON p.id = a.payment_id
                                 WHERE a.\(literal: side.documentColumn) = d.id AND p.payment_date <= \(asOf)::date), 0)::bigint
                           AS paid_minor,
                       (SELECT l.account_id FROM accounting_journal_lines l
                        WHERE l.entry_id = d.journal_entry_id AND l.side = \(kind.increaseSide.rawValue)
                        ORDER BY l.line_number LIMIT 1) AS control_account_id
                FROM \(literal: side.documentTable) d
                WHERE d.company_id = \(companyId) AND d.mode = \(mode) AND d.status IN \(literal: side.postedStatusList)
                  AND d.\(literal: side.documentDateColumn) <= \(asOf)::date AND d.currency <> \(base.code)
            ) open WHERE paid_minor < total_minor
            ORDER BY document_number
            """)
        return try rows.map { row in
            guard let currency = Currency(code: try row.decode("currency")),
                  let rate = DecimalFactor(try row.decode("exchange_rate", as: String.self)),
                  let control: String = try row.decode("control_account_id") else {
                throw DatabaseError(kind: .decoding, message: "unexpected currency, rate or entry of an open \(side.documentTitle)")
            }
            return Revaluation.OpenDocument(kind: kind, id: try row.decode("id"), number: try row.decode("document_number"),
                                            currency: currency, totalMinor: try row.decode("total_minor"),
                                            paidMinor: try row.decode("paid_minor"), bookedRate: rate, controlAccountId: control)
        }
    }
}
