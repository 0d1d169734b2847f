import Foundation
import Kernel

/// A payment received from a customer, with what it pays (spec B.1, B.2 rules 12–14).
struct Payment: Sendable {
    static let methods = ["cash", "check", "credit_card", "ach", "wire", "stripe", "other"]

    var id: String
    var companyId: String
    var number: String
    var customerId: String
    var paymentDate: String
    var amountMinor: Int64
    var unappliedMinor: Int64
    var currency: Currency
    var method: String
    var depositAccountId: String
    var referenceNumber: String?
    var status: String
    var journalEntryId: String
    var voidEntryId: String?
    var voidedAt: Date?
    var voidReason: String?
    var createdAt: Date
    var applications: [(id: String, invoiceId: String, amountMinor: Int64)] = []

    static let columns: StaticString = """
        id, company_id, payment_number, customer_id, payment_date::text AS payment_date, amount_minor, unapplied_minor, currency,
        payment_method, deposit_account_id, reference_number, status, journal_entry_id, void_entry_id, voided_at, void_reason,
        created_at
        """

    init(row: Row) throws {
        guard let currency = Currency(code: try row.decode("currency")) else {
            throw DatabaseError(kind: .decoding, message: "unexpected currency in accounting_payments")
        }
        id = try row.decode("id")
        companyId = try row.decode("company_id")
        number = try row.decode("payment_number")
        customerId = try row.decode("customer_id")
        paymentDate = try row.decode("payment_date")
        amountMinor = try row.decode("amount_minor")
        unappliedMinor = try row.decode("unapplied_minor")
        self.currency = currency
        method = try row.decode("payment_method")
        depositAccountId = try row.decode("deposit_account_id")
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
            "customer_id": .string(customerId), "payment_date": .string(paymentDate), "amount": money(amountMinor),
            "unapplied_amount": money(unappliedMinor), "currency": .string(currency.code), "payment_method": .string(method),
            "deposit_account_id": .string(depositAccountId), "reference_number": .text(referenceNumber), "status": .string(status),
            "journal_entry_id": .string(journalEntryId), "void_entry_id": .text(voidEntryId), "voided_at": .timestamp(voidedAt),
            "void_reason": .text(voidReason), "created_at": .timestamp(createdAt),
            "applications": .array(applications.map {
                ["id": .string($0.id), "invoice_id": .string($0.invoiceId), "amount_applied": money($0.amountMinor)]
            }),
        ]
    }
}

/// `accounting_payments` and their applications. Every change runs in one transaction that locks the payment,
/// then its invoices in id order (so concurrent applications never deadlock), with its journal entry and events.
struct PaymentStore: Sendable {
    let database: any Database
    let eventLog: any EventLogWriter

    struct NewPayment: Sendable {
        var customerId: String
        var paymentDate: String
        var amountMinor: Int64
        var method: String
        var depositAccountId: String
        var referenceNumber: String?
    }

    /// An application asked for: `amountMinor` of `invoiceId`, or as much as fits when nil (auto-apply).
    struct Application: Sendable {
        var invoiceId: String
        var amountMinor: Int64?
        var field: String
    }

    func create(_ new: NewPayment, applications: [Application], company: Company, mode: Mode, userId: String,
                now: Date) async throws -> String {
        let id = AccountingInput.newId()
        try await database.transaction { tx in
            try await JournalStore.requireOpen(new.paymentDate, companyId: company.id, mode: mode, field: "payment_date", executor: tx)
            guard let receivable = try await InvoiceStore.ruleAccount(.accountsReceivable, companyId: company.id, mode: mode,
                                                                     executor: tx) else {
                throw AccountingInput.conflict("The company has no accounts receivable account (setup-coa)")
            }
            func line(_ account: String, _ side: LedgerLine.Side) -> LedgerLine {
                LedgerLine(accountId: account, side: side, amountMinor: new.amountMinor, currency: company.baseCurrency,
                           exchangeRate: .one, baseAmountMinor: new.amountMinor, description: nil)
            }
            let entry = JournalStore.NewEntry(companyId: company.id, mode: mode, status: .posted, entryType: "payment",
                                              sourceType: "manual", sourceId: id, entryDate: new.paymentDate,
                                              postingDate: new.paymentDate, description: "Payment received", currency: company.baseCurrency,
                                              postedAt: now, postedBy: userId, createdBy: userId,
                                              lines: [line(new.depositAccountId, .debit), line(receivable, .credit)])
            let entryNumber = try await JournalStore.reserveNumbers(companyId: company.id, mode: mode, count: 1, executor: tx)
            try await JournalStore.insert([entry], firstNumber: entryNumber, now: now, executor: tx)
            try await JournalStore.addToDayBalances(entryIds: [entry.id], executor: tx)
            let year = String(new.paymentDate.prefix(4))
            let number = try await JournalStore.reserveNumbers(companyId: company.id, mode: mode, count: 1, kind: "payment-" + year,
                                                               executor: tx)
            var digits = String(number)
            while digits.count < 4 { digits = "0" + digits }
            try await tx.execute("""
                INSERT INTO accounting_payments (id, company_id, mode, payment_number, customer_id, payment_date, amount_minor,
                    unapplied_minor, currency, payment_method, deposit_account_id, reference_number, status, journal_entry_id,
                    created_by, created_at, updated_at)
                VALUES (\(id), \(company.id), \(mode), \("PMT-" + year + "-" + digits), \(new.customerId), \(new.paymentDate)::date,
                    \(new.amountMinor), \(new.amountMinor), \(company.baseCurrency.code), \(new.method), \(new.depositAccountId),
                    \(new.referenceNumber), 'completed', \(entry.id), \(userId), \(now), \(now))
                """)
            var events = [Self.event("payment.received", id: id, company: company, mode: mode, now: now)]
            events += try await apply(applications, paymentId: id, company: company, mode: mode, now: now, executor: tx)
            try await eventLog.append(events, in: tx)
        }
        eventLog.appendCommitted()
        return id
    }

    /// Applies to invoices of the payment's customer; returns the `invoice.paid` events of invoices it paid off.
    /// An amount beyond the payment's unapplied amount or the invoice's amount due is refused (409, nothing applied).
    func apply(_ applications: [Application], paymentId: String, company: Company, mode: Mode, now: Date,
               executor tx: any SQLExecutor) async throws -> [DomainEvent] {
        guard !applications.isEmpty else { return [] }
        guard let payment = try await tx.queryFirst("""
            SELECT \(literal: Payment.columns) FROM accounting_payments WHERE id = \(paymentId) FOR UPDATE
            """).map(Payment.init(row:)) else { throw AccountingInput.notFound("Payment") }
        guard payment.status == "completed" else { throw AccountingInput.conflict("A voided payment cannot be applied") }
        var unapplied = payment.unappliedMinor
        var events: [DomainEvent] = []
        for application in applications.sorted(by: { $0.invoiceId < $1.invoiceId }) {
            guard let row = try await tx.queryFirst("""
                SELECT id, customer_id, status, total_minor, amount_paid_minor, viewed_at FROM accounting_invoices
                WHERE id = \(application.invoiceId) AND company_id = \(company.id) AND mode = \(mode) FOR UPDATE
                """) else {
                throw AtlasError.invalidField(application.field + ".invoice_id", "\(application.field).invoice_id is not an invoice of this company")
            }
            let status: String = try row.decode("status")
            let customer: String = try row.decode("customer_id")
            let due = try row.decode("total_minor", as: Int64.self) - row.decode("amount_paid_minor", as: Int64.self)
            guard customer == payment.customerId, ["sent", "viewed", "partial"].contains(status) else {
                throw AccountingInput.conflict("\(application.field): only sent, viewed or partially paid invoices of the payment's customer can be paid")
            }
            let amount = application.amountMinor ?? min(due, unapplied)
            guard amount > 0 else { continue }
            guard amount <= due, amount <= unapplied else {
                throw AtlasError(kind: .conflict, status: 409, code: "OVERPAYMENT",
                                 message: "\(application.field): applying \(DecimalAmount.format(amount, payment.currency)) exceeds the invoice's "
                                     + "amount due (\(DecimalAmount.format(due, payment.currency))) or the payment's unapplied amount "
                                     + "(\(DecimalAmount.format(unapplied, payment.currency)))",
                                 details: ErrorDetails(field: application.field + ".amount_applied"))
            }
            let paidOff = amount == due
            try await tx.execute("""
                UPDATE accounting_invoices SET amount_paid_minor = amount_paid_minor + \(amount),
                    status = \(paidOff ? "paid" : "partial"), updated_at = \(now)
                WHERE id = \(application.invoiceId)
                """)
            try await tx.execute("""
                INSERT INTO accounting_payment_applications (id, payment_id, invoice_id, company_id, mode, amount_minor, created_at)
                VALUES (\(AccountingInput.newId()), \(paymentId), \(application.invoiceId), \(company.id), \(mode), \(amount), \(now))
                """)
            unapplied -= amount
            if paidOff { events.append(InvoiceStore.event("invoice.paid", id: application.invoiceId, company: company, mode: mode, now: now)) }
        }
        try await tx.execute("UPDATE accounting_payments SET unapplied_minor = \(unapplied), updated_at = \(now) WHERE id = \(paymentId)")
        return events
    }

    /// The customer's open invoices, oldest due date first (auto-apply, rule 13).
    func openInvoices(customerId: String, company: Company, mode: Mode, executor: any SQLExecutor) async throws -> [String] {
        try await executor.query("""
            SELECT id FROM accounting_invoices
            WHERE company_id = \(company.id) AND mode = \(mode) AND customer_id = \(customerId) AND status IN ('sent', 'viewed', 'partial')
            ORDER BY due_date, invoice_number
            """).map { try $0.decode("id") }
    }

    /// Applies to an existing payment: the given applications, or (`auto`) its customer's open invoices oldest due
    /// date first, each taking what is left of the payment.
    func applyLater(_ applications: [Application]?, auto: Bool, paymentId: String, company: Company, mode: Mode,
                    now: Date) async throws {
        try await database.transaction { tx in
            var events: [DomainEvent] = []
            if auto {
                guard let payment = try await tx.queryFirst("SELECT customer_id FROM accounting_payments WHERE id = \(paymentId)") else {
                    throw AccountingInput.notFound("Payment")
                }
                for invoiceId in try await openInvoices(customerId: try payment.decode("customer_id"), company: company, mode: mode,
                                                        executor: tx) {
                    events += try await apply([Application(invoiceId: invoiceId, amountMinor: nil, field: "auto")], paymentId: paymentId,
                                              company: company, mode: mode, now: now, executor: tx)
                }
            } else {
                events = try await apply(applications ?? [], paymentId: paymentId, company: company, mode: mode, now: now, executor: tx)
            }
            if !events.isEmpty { try await eventLog.append(events, in: tx) }
        }
        eventLog.appendCommitted()
    }

    /// Deletes an application: the payment's unapplied amount and the invoice's amount due are restored.
    func unapply(_ applicationId: String, paymentId: String, company: Company, mode: Mode, now: Date) async throws -> Bool {
        try await database.transaction { tx in
            guard try await tx.queryFirst("SELECT id FROM accounting_payments WHERE id = \(paymentId) FOR UPDATE") != nil,
                  let row = try await tx.queryFirst("""
                    DELETE FROM accounting_payment_applications WHERE id = \(applicationId) AND payment_id = \(paymentId)
                    RETURNING invoice_id, amount_minor
                    """) else { return false }
            let amount: Int64 = try row.decode("amount_minor")
            let invoiceId: String = try row.decode("invoice_id")
            try await tx.execute("""
                UPDATE accounting_invoices SET amount_paid_minor = amount_paid_minor - \(amount),
                    status = CASE WHEN amount_paid_minor - \(amount) > 0 THEN 'partial'
                                  WHEN viewed_at IS NOT NULL THEN 'viewed' ELSE 'sent' END,
                    updated_at = \(now)
                WHERE id = \(invoiceId)
                """)
            try await tx.execute("""
                UPDATE accounting_payments SET unapplied_minor = unapplied_minor + \(amount), updated_at = \(now) WHERE id = \(paymentId)
                """)
            return true
        }
    }

    /// completed and fully unapplied → voided, reversing its journal entry (rule 13).
    func void(_ paymentId: String, organizationId: String, mode: Mode, reason: String, userId: String, now: Date) async throws -> Bool {
        try await database.transaction { tx in
            guard let payment = try await tx.queryFirst("""
                SELECT \(literal: Payment.columns) FROM accounting_payments WHERE id = \(paymentId) AND mode = \(mode)
                  AND company_id IN (SELECT id FROM accounting_companies WHERE org_id = \(organizationId)) FOR UPDATE
                """).map(Payment.init(row:)) else { return false }
            guard payment.status == "completed" else { throw AccountingInput.conflict("The payment is already voided") }
            guard payment.unappliedMinor == payment.amountMinor else {
                throw AccountingInput.conflict("Only a fully unapplied payment can be voided; delete its applications first")
            }
            guard let entry = try await JournalStore(database: database).find(payment.journalEntryId, organizationId: organizationId,
                                                                              mode: mode, executor: tx, forUpdate: true) else {
                throw AccountingInput.conflict("The payment's journal entry is missing")
            }
            try await JournalStore.requireOpen(entry.postingDate ?? entry.entryDate, companyId: payment.companyId, mode: mode,
                                               field: "payment_date", executor: tx)
            let reversal = try await JournalStore.reverseLocked(entry, mode: mode, reason: "payment \(payment.number) voided: \(reason)",
                                                                correction: nil, userId: userId, at: now, executor: tx)
            try await tx.execute("""
                UPDATE accounting_payments SET status = 'voided', voided_at = \(now), void_reason = \(reason),
                    void_entry_id = \(reversal.reversal), updated_at = \(now)
                WHERE id = \(paymentId)
                """)
            return true
        }
    }

    func find(_ id: String, organizationId: String, mode: Mode) async throws -> Payment? {
        guard var payment = try await database.queryFirst("""
            SELECT \(literal: Payment.columns) FROM accounting_payments WHERE id = \(id) AND mode = \(mode)
              AND company_id IN (SELECT id FROM accounting_companies WHERE org_id = \(organizationId))
            """).map(Payment.init(row:)) else { return nil }
        payment.applications = try await database.query("""
            SELECT id, invoice_id, amount_minor FROM accounting_payment_applications WHERE payment_id = \(id) ORDER BY created_at, id
            """).map { (try $0.decode("id"), try $0.decode("invoice_id"), try $0.decode("amount_minor")) }
        return payment
    }

    func list(companyId: String, mode: Mode, customerId: String?, page: AccountingPage) async throws -> (items: [Payment], total: Int) {
        let total: Int = try await database.queryFirst("""
            SELECT count(*) AS n FROM accounting_payments WHERE company_id = \(companyId) AND mode = \(mode)\
            \(and: "customer_id = ?", customerId)
            """)?.decode("n") ?? 0
        let items = try await database.query("""
            SELECT \(literal: Payment.columns) FROM accounting_payments WHERE company_id = \(companyId) AND mode = \(mode)\
            \(and: "customer_id = ?", customerId)
            ORDER BY payment_date DESC, payment_number DESC LIMIT \(page.limit) OFFSET \(page.offset)
            """).map(Payment.init(row:))
        return (items, total)
    }

    static func event(_ type: String, id: String, company: Company, mode: Mode, now: Date) -> DomainEvent {
        DomainEvent(type: type, tenant: TenantContext(merchantId: company.merchantId ?? company.organizationId, mode: mode),
                    resourceId: id, occurredAt: now, payload: ["payment_id": .string(id), "company_id": .string(company.id)])
    }
}
