import Foundation
import Kernel

/// A payment received from a customer or made to a vendor (`side`), with what it pays (spec B.1, B.2 rules 12–14).
struct Payment: Sendable {
    var side: PaymentSide
    var id: String
    var companyId: String
    var number: String
    var contactId: String
    var paymentDate: String
    var amountMinor: Int64
    var unappliedMinor: Int64
    var currency: Currency
    /// Base-currency units per unit of `currency` the payment is booked at (1 in the base currency).
    var exchangeRate: DecimalFactor
    var method: String
    var accountId: String
    var referenceNumber: String?
    var status: String
    var journalEntryId: String
    var voidEntryId: String?
    var voidedAt: Date?
    var voidReason: String?
    var createdAt: Date
    var applications: [(id: String, documentId: String, amountMinor: Int64)] = []

    init(side: PaymentSide, row: Row) throws {
        guard let currency = Currency(code: try row.decode("currency")),
              let exchangeRate = DecimalFactor(try row.decode("exchange_rate", as: String.self)) else {
            throw DatabaseError(kind: .decoding, message: "unexpected currency or rate in \(side.table)")
        }
        self.side = side
        id = try row.decode("id")
        companyId = try row.decode("company_id")
        number = try row.decode("payment_number")
        contactId = try row.decode("contact_id")
        paymentDate = try row.decode("payment_date")
        amountMinor = try row.decode("amount_minor")
        unappliedMinor = try row.decode("unapplied_minor")
        self.currency = currency
        self.exchangeRate = exchangeRate
        method = try row.decode("payment_method")
        accountId = try row.decode("account_id")
        referenceNumber = try row.decode("reference_number")
        status = try row.decode("status")
        journalEntryId = try row.decode("journal_entry_id")
        voidEntryId = try row.decode("void_entry_id")
        voidedAt = try row.decode("voided_at")
        voidReason = try row.decode("void_reason")
        createdAt = try row.decode("created_at")
        precondition(unappliedMinor >= 0 && unappliedMinor <= amountMinor, "the database checks a payment's unapplied amount")
    }

    var json: JSONValue {
        func money(_ minor: Int64) -> JSONValue { .string(DecimalAmount.format(minor, currency)) }
        return [
            "id": .string(id), "company_id": .string(companyId), "payment_number": .string(number),
            side.contactField: .string(contactId), "payment_date": .string(paymentDate), "amount": money(amountMinor),
            "unapplied_amount": money(unappliedMinor), "currency": .string(currency.code),
            "exchange_rate": .string(exchangeRate.text), "payment_method": .string(method),
            side.accountField: .string(accountId), "reference_number": .text(referenceNumber), "status": .string(status),
            "journal_entry_id": .string(journalEntryId), "void_entry_id": .text(voidEntryId), "voided_at": .timestamp(voidedAt),
            "void_reason": .text(voidReason), "created_at": .timestamp(createdAt),
            "applications": .array(applications.map {
                ["id": .string($0.id), side.documentField: .string($0.documentId), "amount_applied": money($0.amountMinor)]
            }),
        ]
    }
}

/// `accounting_payments` / `accounting_payments_made` (by `side`) and their applications. Every change runs in one
/// transaction that locks the payment, then its documents in id order (so concurrent applications never deadlock),
/// with its journal entry and events.
struct PaymentStore: Sendable {
    let side: PaymentSide
    let database: any Database
    let eventLog: any EventLogWriter

    struct NewPayment: Sendable {
        var contactId: String
        var paymentDate: String
        var amountMinor: Int64
        /// The contact's currency, the rate to the base currency and `amountMinor` converted at it.
        var currency: Currency
        var exchangeRate: DecimalFactor
        var baseAmountMinor: Int64
        var method: String
        var accountId: String
        var referenceNumber: String?
        /// The receivable or payable account to settle; nil: the side's posting rule.
        var controlAccountId: String?
    }

    /// An application asked for: `amountMinor` of `documentId`, or as much as fits when nil (auto-apply).
    struct Application: Sendable {
        var documentId: String
        var amountMinor: Int64?
        var field: String
    }

    func create(_ new: NewPayment, applications: [Application], company: Company, mode: Mode, userId: String,
                now: Date) async throws -> String {
        let id = AccountingInput.newId()
        try await database.transaction { tx in
            try await JournalStore.requireOpen(new.paymentDate, companyId: company.id, mode: mode, field: "payment_date", executor: tx)
            let ruled = try await InvoiceStore.ruleAccount(side.controlRule, companyId: company.id, mode: mode, executor: tx)
            guard let control = new.controlAccountId ?? ruled else {
                throw AccountingInput.conflict("The company has no \(side.controlRule.rawValue) account (setup-coa)")
            }
            func line(_ account: String, _ lineSide: LedgerLine.Side) -> LedgerLine {
                LedgerLine(accountId: account, side: lineSide, amountMinor: new.amountMinor, currency: new.currency,
                           exchangeRate: new.exchangeRate, baseAmountMinor: new.baseAmountMinor, description: nil)
            }
            let controlSide: LedgerLine.Side = side.cashSide == .debit ? .credit : .debit
            let entry = JournalStore.NewEntry(companyId: company.id, mode: mode, status: .posted, entryType: "payment",
                                              sourceType: "manual", sourceId: id, entryDate: new.paymentDate,
                                              postingDate: new.paymentDate, description: side.entryDescription,
                                              currency: company.baseCurrency, postedAt: now, postedBy: userId, createdBy: userId,
                                              lines: [line(new.accountId, side.cashSide), line(control, controlSide)])
            try await DocumentLedger.post(entry, now: now, executor: tx)
            let number = try await DocumentLedger.nextNumber(prefix: side.numberPrefix, counter: side.numberCounter,
                                                             date: new.paymentDate, companyId: company.id, mode: mode, executor: tx)
            try await tx.execute("""
                INSERT INTO \(literal: side.table) (id, company_id, mode, payment_number, \(literal: side.contactColumn), payment_date,
                    amount_minor, unapplied_minor, currency, exchange_rate, payment_method, \(literal: side.accountColumn), reference_number,
                    status, journal_entry_id, created_by, created_at, updated_at)
                VALUES (\(id), \(company.id), \(mode), \(number), \(new.contactId),
                    \(new.paymentDate)::date, \(new.amountMinor), \(new.amountMinor), \(new.currency.code),
                    \(new.exchangeRate.text)::numeric, \(new.method),
                    \(new.accountId), \(new.referenceNumber), 'completed', \(entry.id), \(userId), \(now), \(now))
                """)
            var events = side.createdEvent.map { [Self.event($0, id: id, company: company, mode: mode, now: now)] } ?? []
            events += try await apply(applications, paymentId: id, company: company, mode: mode, userId: userId, now: now, executor: tx)
            if !events.isEmpty { try await eventLog.append(events, in: tx) }
        }
        eventLog.appendCommitted()
        return id
    }

    /// Applies to documents of the payment's contact; returns the paid events (`invoice.paid`) of documents it paid off.
    /// An amount beyond the payment's unapplied amount or the document's amount due is refused (409, nothing applied).
    /// A foreign-currency payment settling a document booked at another rate posts the realised exchange difference.
    func apply(_ applications: [Application], paymentId: String, company: Company, mode: Mode, userId: String, now: Date,
               executor tx: any SQLExecutor) async throws -> [DomainEvent] {
        guard !applications.isEmpty else { return [] }
        guard let payment = try await tx.queryFirst("""
            SELECT \(literal: side.columns) FROM \(literal: side.table) WHERE id = \(paymentId) FOR UPDATE
            """).map({ try Payment(side: side, row: $0) }) else { throw AccountingInput.notFound(side.title) }
        guard payment.status == "completed" else { throw AccountingInput.conflict("A voided payment cannot be applied") }
        var unapplied = payment.unappliedMinor
        var events: [DomainEvent] = []
        for application in applications.sorted(by: { $0.documentId < $1.documentId }) {
            let field = application.field
            guard let row = try await tx.queryFirst("""
                SELECT \(literal: side.contactColumn) AS contact_id, status, total_minor, amount_paid_minor, currency,
                       exchange_rate::text AS exchange_rate, \(literal: side.documentDateColumn)::text AS document_date,
                       \(literal: side.documentNumberColumn) AS document_number
                FROM \(literal: side.documentTable)
                WHERE id = \(application.documentId) AND company_id = \(company.id) AND mode = \(mode) FOR UPDATE
                """) else {
                throw AtlasError.invalidField(field + "." + side.documentField,
                                              "\(field).\(side.documentField) is not \(side.documentArticle) \(side.documentTitle) of this company")
            }
            let status: String = try row.decode("status")
            let contact: String = try row.decode("contact_id")
            let due = try row.decode("total_minor", as: Int64.self) - row.decode("amount_paid_minor", as: Int64.self)
            guard contact == payment.contactId, side.openStatuses.contains(status) else {
                throw AccountingInput.conflict("\(field): only \(side.openStatuses.joined(separator: ", ")) \(side.documentTitle)s of the "
                                                   + "payment's \(side.contactKind.rawValue) can be paid")
            }
            let amount = application.amountMinor ?? min(due, unapplied)
            guard amount > 0 else { continue }
            guard amount <= due, amount <= unapplied else {
                throw AtlasError(kind: .conflict, status: 409, code: "OVERPAYMENT",
                                 message: "\(field): applying \(DecimalAmount.format(amount, payment.currency)) exceeds the "
                                     + "\(side.documentTitle)'s amount due (\(DecimalAmount.format(due, payment.currency))) or the "
                                     + "payment's unapplied amount (\(DecimalAmount.format(unapplied, payment.currency)))",
                                 details: ErrorDetails(field: field + ".amount_applied"))
            }
            let paidOff = amount == due
            let exchange = try await postExchangeDifference(
                ExchangeApplication(payment: payment, appliedBefore: payment.amountMinor - unapplied, amount: amount,
                                    document: row, field: field),
                company: company, mode: mode, userId: userId, now: now, executor: tx)
            try await tx.execute("""
                UPDATE \(literal: side.documentTable) SET amount_paid_minor = amount_paid_minor + \(amount),
                    status = \(paidOff ? "paid" : "partial"), updated_at = \(now)
                WHERE id = \(application.documentId)
                """)
            try await tx.execute("""
                INSERT INTO \(literal: side.applicationsTable) (id, payment_id, \(literal: side.documentColumn), company_id, mode,
                    amount_minor, fx_entry_id, created_at)
                VALUES (\(AccountingInput.newId()), \(paymentId), \(application.documentId), \(company.id), \(mode), \(amount),
                    \(exchange), \(now))
                """)
            unapplied -= amount
            if paidOff, let paid = side.paidEvent {
                events.append(InvoiceStore.event(paid, id: application.documentId, company: company, mode: mode, now: now))
            }
        }
        try await tx.execute("UPDATE \(literal: side.table) SET unapplied_minor = \(unapplied), updated_at = \(now) WHERE id = \(paymentId)")
        return events
    }

    /// The contact's open documents, oldest due date first (auto-apply, rule 13).
    func openDocuments(contactId: String, company: Company, mode: Mode, executor: any SQLExecutor) async throws -> [String] {
        try await executor.query("""
            SELECT id FROM \(literal: side.documentTable)
            WHERE company_id = \(company.id) AND mode = \(mode) AND \(literal: side.contactColumn) = \(contactId)
              AND status IN \(literal: side.openStatusList)
            ORDER BY due_date, \(literal: side.documentNumberColumn)
            """).map { try $0.decode("id") }
    }

    /// Applies to an existing payment: the given applications, or (`auto`) its contact's open documents oldest due
    /// date first, each taking what is left of the payment.
    func applyLater(_ applications: [Application]?, auto: Bool, payment: Payment, company: Company, mode: Mode, userId: String,
                    now: Date) async throws {
        try await database.transaction { tx in
            if payment.currency != company.baseCurrency {
                try await Self.lockEntryNumbers(companyId: company.id, mode: mode, executor: tx)
            }
            var events: [DomainEvent] = []
            if auto {
                for documentId in try await openDocuments(contactId: payment.contactId, company: company, mode: mode, executor: tx) {
                    events += try await apply([Application(documentId: documentId, amountMinor: nil, field: "auto")],
                                              paymentId: payment.id, company: company, mode: mode, userId: userId, now: now,
                                              executor: tx)
                }
            } else {
                events = try await apply(applications ?? [], paymentId: payment.id, company: company, mode: mode, userId: userId,
                                         now: now, executor: tx)
            }
            if !events.isEmpty { try await eventLog.append(events, in: tx) }
        }
        eventLog.appendCommitted()
    }

    /// Deletes an application: the payment's unapplied amount and the document's amount due are restored, and a realised
    /// exchange difference it posted is reversed.
    func unapply(_ applicationId: String, payment: Payment, organizationId: String, mode: Mode, userId: String,
                 now: Date) async throws -> Bool {
        let paymentId = payment.id
        return try await database.transaction { tx in
            try await Self.lockEntryNumbers(companyId: payment.companyId, mode: mode, executor: tx)
            guard try await tx.queryFirst("SELECT id FROM \(literal: side.table) WHERE id = \(paymentId) FOR UPDATE") != nil,
                  let row = try await tx.queryFirst("""
                    DELETE FROM \(literal: side.applicationsTable) WHERE id = \(applicationId) AND payment_id = \(paymentId)
                    RETURNING \(literal: side.documentColumn) AS document_id, amount_minor, fx_entry_id
                    """) else { return false }
            let amount: Int64 = try row.decode("amount_minor")
            let documentId: String = try row.decode("document_id")
            let exchangeEntry: String? = try row.decode("fx_entry_id")
            if let exchangeEntry {
                _ = try await DocumentLedger.reverse(
                    DocumentLedger.Voiding(kind: "exchange difference of payment", number: payment.number, entryId: exchangeEntry,
                                           companyId: payment.companyId, field: "payment_date"),
                    reason: "application deleted", organizationId: organizationId, mode: mode, userId: userId, at: now,
                    database: database, executor: tx)
            }
            try await tx.execute("""
                UPDATE \(literal: side.documentTable) SET amount_paid_minor = amount_paid_minor - \(amount),
                    status = CASE WHEN amount_paid_minor - \(amount) > 0 THEN 'partial' ELSE \(literal: side.unpaidStatus) END,
                    updated_at = \(now)
                WHERE id = \(documentId)
                """)
            try await tx.execute("""
                UPDATE \(literal: side.table) SET unapplied_minor = unapplied_minor + \(amount), updated_at = \(now) WHERE id = \(paymentId)
                """)
            return true
        }
    }

    /// completed and fully unapplied → voided, reversing its journal entry (rule 13).
    func void(_ paymentId: String, organizationId: String, mode: Mode, reason: String, userId: String, now: Date) async throws -> Bool {
        try await database.transaction { tx in
            guard let payment = try await tx.queryFirst("""
                SELECT \(literal: side.columns) FROM \(literal: side.table) WHERE id = \(paymentId) AND mode = \(mode)
                  AND company_id IN (SELECT id FROM accounting_companies WHERE org_id = \(organizationId)) FOR UPDATE
                """).map({ try Payment(side: side, row: $0) }) else { return false }
            guard payment.status == "completed" else { throw AccountingInput.conflict("The payment is already voided") }
            guard payment.unappliedMinor == payment.amountMinor else {
                throw AccountingInput.conflict("Only a fully unapplied payment can be voided; delete its applications first")
            }
            let reversal = try await DocumentLedger.reverse(
                DocumentLedger.Voiding(kind: "payment", number: payment.number, entryId: payment.journalEntryId,
                                    companyId: payment.companyId, field: "payment_date"),
                reason: reason, organizationId: organizationId, mode: mode, userId: userId, at: now, database: database, executor: tx)
            try await tx.execute("""
                UPDATE \(literal: side.table) SET status = 'voided', voided_at = \(now), void_reason = \(reason),
                    void_entry_id = \(reversal), updated_at = \(now)
                WHERE id = \(paymentId)
                """)
            return true
        }
    }

    func find(_ id: String, organizationId: String, mode: Mode) async throws -> Payment? {
        guard var payment = try await database.queryFirst("""
            SELECT \(literal: side.columns) FROM \(literal: side.table) WHERE id = \(id) AND mode = \(mode)
              AND company_id IN (SELECT id FROM accounting_companies WHERE org_id = \(organizationId))
            """).map({ try Payment(side: side, row: $0) }) else { return nil }
        payment.applications = try await database.query("""
            SELECT id, \(literal: side.documentColumn) AS document_id, amount_minor FROM \(literal: side.applicationsTable)
            WHERE payment_id = \(id) ORDER BY created_at, id
            """).map { (try $0.decode("id"), try $0.decode("document_id"), try $0.decode("amount_minor")) }
        return payment
    }

    func list(companyId: String, mode: Mode, contactId: String?, page: AccountingPage) async throws -> (items: [Payment], total: Int) {
        let total: Int = try await database.queryFirst("""
            SELECT count(*) AS n FROM \(literal: side.table) WHERE company_id = \(companyId) AND mode = \(mode)\
            \(and: side.contactFilter, contactId)
            """)?.decode("n") ?? 0
        let items = try await database.query("""
            SELECT \(literal: side.columns) FROM \(literal: side.table) WHERE company_id = \(companyId) AND mode = \(mode)\
            \(and: side.contactFilter, contactId)
            ORDER BY payment_date DESC, payment_number DESC LIMIT \(page.limit) OFFSET \(page.offset)
            """).map { try Payment(side: side, row: $0) }
        return (items, total)
    }

    static func event(_ type: String, id: String, company: Company, mode: Mode, now: Date) -> DomainEvent {
        DomainEvent(type: type, tenant: TenantContext(merchantId: company.merchantId ?? company.organizationId, mode: mode),
                    resourceId: id, occurredAt: now, payload: ["payment_id": .string(id), "company_id": .string(company.id)])
    }
}
