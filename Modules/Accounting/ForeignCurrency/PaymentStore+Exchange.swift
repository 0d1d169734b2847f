import Foundation
import Kernel

/// One application as its exchange difference sees it: the locked payment, how much of it was applied before this one,
/// the amount, and the locked document's row (`currency`, `exchange_rate`, `amount_paid_minor`, `document_date`,
/// `document_number`).
struct ExchangeApplication {
    let payment: Payment
    let appliedBefore: Int64
    let amount: Int64
    let document: Row
    let field: String
}

extension PaymentStore {
    /// Takes the ledger's entry-number row before the payment and its documents, the order in which recording a payment
    /// takes them (it numbers its entry, then locks the documents it applies to). A foreign-currency application posts an
    /// entry after locking the payment and the document, so without this it could deadlock with a payment being recorded
    /// against the same document.
    static func lockEntryNumbers(companyId: String, mode: Mode, executor: any SQLExecutor) async throws {
        try await executor.execute("""
            SELECT last_value FROM accounting_sequences
            WHERE company_id = \(companyId) AND mode = \(mode) AND kind = 'journal_entry' FOR UPDATE
            """)
    }

    /// Checks that the document is in the payment's currency (422 on the application's document field) and, for a
    /// foreign-currency payment, posts the realised exchange difference of the application (`DocumentExchange`) on the
    /// payment's control account against the `fx_gain_loss` account, dated the later of the payment and the document.
    /// Returns the entry's id; nil when nothing is posted (the base currency, or no difference).
    func postExchangeDifference(_ application: ExchangeApplication, company: Company, mode: Mode, userId: String, now: Date,
                                executor tx: any SQLExecutor) async throws -> String? {
        let payment = application.payment
        let row = application.document
        let documentCurrency: String = try row.decode("currency")
        guard documentCurrency == payment.currency.code else {
            let field = application.field + "." + side.documentField
            throw AtlasError.invalidField(field, "\(field) is in \(documentCurrency), the payment in \(payment.currency.code)")
        }
        guard payment.currency != company.baseCurrency else { return nil }
        guard let documentRate = DecimalFactor(try row.decode("exchange_rate", as: String.self)) else {
            throw DatabaseError(kind: .decoding, message: "unexpected rate in \(side.documentTable)")
        }
        let difference = try DocumentExchange.difference(
            amount: application.amount, currency: payment.currency, base: company.baseCurrency,
            documentPaidBefore: try row.decode("amount_paid_minor"), documentRate: documentRate,
            paymentAppliedBefore: application.appliedBefore, paymentRate: payment.exchangeRate,
            field: application.field + ".amount_applied")
        guard difference != 0 else { return nil }
        let documentDate: String = try row.decode("document_date")
        let date = max(documentDate, payment.paymentDate)
        try await JournalStore.requireOpen(date, companyId: company.id, mode: mode, field: "payment_date", executor: tx)
        let controlSide = side.cashSide.opposite
        let control: String? = try await tx.queryFirst("""
            SELECT account_id FROM accounting_journal_lines WHERE entry_id = \(payment.journalEntryId) AND side = \(controlSide.rawValue)
            ORDER BY line_number LIMIT 1
            """)?.decode("account_id")
        guard let control, let gainLoss = try await InvoiceStore.ruleAccount(.fxGainLoss, companyId: company.id, mode: mode, executor: tx) else {
            throw AccountingInput.conflict("The company has no foreign exchange gain/loss account (posting rule fx_gain_loss)")
        }
        let documentNumber: String = try row.decode("document_number")
        let entry = JournalStore.NewEntry(
            companyId: company.id, mode: mode, status: .posted, entryType: "payment", sourceType: "manual", sourceId: payment.id,
            entryDate: date, postingDate: date, description: "Realised exchange difference: \(payment.number) on \(documentNumber)",
            reference: payment.number, currency: company.baseCurrency, postedAt: now, postedBy: userId, createdBy: userId,
            lines: DocumentExchange.gainLossLines(difference: difference, side: side, control: control, gainLoss: gainLoss,
                                                  base: company.baseCurrency))
        try await DocumentLedger.post(entry, now: now, executor: tx)
        return entry.id
    }
}
