import Foundation
import Kernel

/// A stored invoice with its lines.
struct Invoice: Sendable {
    var id: String
    var companyId: String
    var number: String
    var customerId: String
    var status: InvoiceLifecycle.Status
    var invoiceDate: String
    var dueDate: String
    var notes: String?
    var terms: String?
    var currency: Currency
    /// Base-currency units per unit of `currency` the invoice is booked at (1 in the base currency).
    var exchangeRate: DecimalFactor
    var subtotalMinor: Int64
    var taxMinor: Int64
    var totalMinor: Int64
    var amountPaidMinor: Int64
    var sentAt: Date?
    var viewedAt: Date?
    var voidedAt: Date?
    var voidReason: String?
    var journalEntryId: String?
    var voidEntryId: String?
    var createdAt: Date
    var updatedAt: Date
    var lines: [(id: String, line: InvoiceMath.Line)] = []

    static let columns: StaticString = """
        id, company_id, invoice_number, customer_id, status, invoice_date::text AS invoice_date, due_date::text AS due_date,
        notes, terms, currency, exchange_rate::text AS exchange_rate, subtotal_minor, tax_minor, total_minor, amount_paid_minor,
        sent_at, viewed_at, voided_at, void_reason, journal_entry_id, void_entry_id, created_at, updated_at
        """

    init(row: Row) throws {
        guard let status = InvoiceLifecycle.Status(rawValue: try row.decode("status")),
              let currency = Currency(code: try row.decode("currency")),
              let exchangeRate = DecimalFactor(try row.decode("exchange_rate", as: String.self)) else {
            throw DatabaseError(kind: .decoding, message: "unexpected status, currency or rate in accounting_invoices")
        }
        id = try row.decode("id")
        companyId = try row.decode("company_id")
        number = try row.decode("invoice_number")
        customerId = try row.decode("customer_id")
        self.status = status
        invoiceDate = try row.decode("invoice_date")
        dueDate = try row.decode("due_date")
        notes = try row.decode("notes")
        terms = try row.decode("terms")
        self.currency = currency
        self.exchangeRate = exchangeRate
        subtotalMinor = try row.decode("subtotal_minor")
        taxMinor = try row.decode("tax_minor")
        totalMinor = try row.decode("total_minor")
        amountPaidMinor = try row.decode("amount_paid_minor")
        sentAt = try row.decode("sent_at")
        viewedAt = try row.decode("viewed_at")
        voidedAt = try row.decode("voided_at")
        voidReason = try row.decode("void_reason")
        journalEntryId = try row.decode("journal_entry_id")
        voidEntryId = try row.decode("void_entry_id")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
        precondition(totalMinor == subtotalMinor + taxMinor && amountPaidMinor <= totalMinor, "the database checks an invoice's totals")
    }

    func json(today: String) -> JSONValue {
        func money(_ minor: Int64) -> JSONValue { .string(DecimalAmount.format(minor, currency)) }
        let due = totalMinor - amountPaidMinor
        return [
            "id": .string(id), "company_id": .string(companyId), "invoice_number": .string(number),
            "customer_id": .string(customerId),
            "status": .string(InvoiceLifecycle.displayed(status, dueDate: dueDate, amountDueMinor: due, today: today)),
            "invoice_date": .string(invoiceDate), "due_date": .string(dueDate), "notes": .text(notes), "terms": .text(terms),
            "currency": .string(currency.code), "exchange_rate": .string(exchangeRate.text), "subtotal": money(subtotalMinor), "tax_amount": money(taxMinor),
            "total_amount": money(totalMinor), "amount_paid": money(amountPaidMinor), "amount_due": money(due),
            "sent_at": .timestamp(sentAt), "viewed_at": .timestamp(viewedAt), "voided_at": .timestamp(voidedAt),
            "void_reason": .text(voidReason), "journal_entry_id": .text(journalEntryId), "void_entry_id": .text(voidEntryId),
            "created_at": .timestamp(createdAt), "updated_at": .timestamp(updatedAt),
            "lines": .array(lines.enumerated().map { index, item in
                ["id": .string(item.id), "line_number": .int(Int64(index + 1)), "description": .string(item.line.description),
                 "quantity": .string(item.line.quantity.text), "unit_price": money(item.line.unitPriceMinor),
                 "tax_rate": .string(item.line.taxRate?.text ?? "0"), "revenue_account_id": .string(item.line.accountId),
                 "amount": money(item.line.subtotalMinor), "tax_amount": money(item.line.taxMinor)]
            }),
        ]
    }
}

/// `accounting_invoices` and their lines; every transition in one transaction with its journal entry and event.
struct InvoiceStore: Sendable {
    let database: any Database
    let eventLog: any EventLogWriter

    struct Draft: Sendable {
        var customerId: String
        var invoiceDate: String
        var dueDate: String
        var notes: String?
        var terms: String?
        var currency: Currency
        var exchangeRate: DecimalFactor
        var lines: [InvoiceMath.Line]
    }

    func create(_ draft: Draft, company: Company, mode: Mode, userId: String, now: Date) async throws -> String {
        let id = AccountingInput.newId()
        let (subtotal, tax) = InvoiceMath.totals(draft.lines)
        try await database.transaction { tx in
            let number = try await DocumentLedger.nextNumber(prefix: "INV-", counter: "invoice-", date: draft.invoiceDate,
                                                             companyId: company.id, mode: mode, executor: tx)
            try await tx.execute("""
                INSERT INTO accounting_invoices (id, company_id, mode, invoice_number, customer_id, status, invoice_date, due_date,
                    notes, terms, currency, exchange_rate, subtotal_minor, tax_minor, total_minor, created_by, created_at, updated_at)
                VALUES (\(id), \(company.id), \(mode), \(number), \(draft.customerId), 'draft',
                    \(draft.invoiceDate)::date, \(draft.dueDate)::date, \(draft.notes), \(draft.terms), \(draft.currency.code),
                    \(draft.exchangeRate.text)::numeric, \(subtotal), \(tax), \(subtotal + tax), \(userId), \(now), \(now))
                """)
            try await DocumentLines.invoice.insert(draft.lines, parentId: id, companyId: company.id, mode: mode, executor: tx)
            try await eventLog.append([Self.event("invoice.created", id: id, company: company, mode: mode, now: now)], in: tx)
        }
        eventLog.appendCommitted()
        return id
    }

    func find(_ id: String, organizationId: String, mode: Mode, executor: (any SQLExecutor)? = nil,
              forUpdate: Bool = false) async throws -> Invoice? {
        let executor = executor ?? database
        let sql: SQL = forUpdate
            ? """
              SELECT \(literal: Invoice.columns) FROM accounting_invoices WHERE id = \(id) AND mode = \(mode)
                AND company_id IN (SELECT id FROM accounting_companies WHERE org_id = \(organizationId)) FOR UPDATE
              """
            : """
              SELECT \(literal: Invoice.columns) FROM accounting_invoices WHERE id = \(id) AND mode = \(mode)
                AND company_id IN (SELECT id FROM accounting_companies WHERE org_id = \(organizationId))
              """
        guard let row = try await executor.queryFirst(sql) else { return nil }
        var invoice = try Invoice(row: row)
        invoice.lines = try await DocumentLines.invoice.read(of: [invoice.id], executor: executor)[invoice.id] ?? []
        return invoice
    }

    func list(companyId: String, mode: Mode, status: String?, customerId: String?, page: AccountingPage) async throws
        -> (items: [Invoice], total: Int) {
        let total: Int = try await database.queryFirst("""
            SELECT count(*) AS n FROM accounting_invoices WHERE company_id = \(companyId) AND mode = \(mode)\
            \(and: "status = ?", status)\(and: "customer_id = ?", customerId)
            """)?.decode("n") ?? 0
        var items = try await database.query("""
            SELECT \(literal: Invoice.columns) FROM accounting_invoices WHERE company_id = \(companyId) AND mode = \(mode)\
            \(and: "status = ?", status)\(and: "customer_id = ?", customerId)
            ORDER BY invoice_date DESC, invoice_number DESC LIMIT \(page.limit) OFFSET \(page.offset)
            """).map(Invoice.init(row:))
        let lines = try await DocumentLines.invoice.read(of: items.map(\.id), executor: database)
        for index in items.indices { items[index].lines = lines[items[index].id] ?? [] }
        return (items, total)
    }

    /// Replaces a draft's fields and lines (409 unless it is a draft).
    func updateDraft(_ id: String, organizationId: String, mode: Mode, draft: Draft, now: Date) async throws -> Bool {
        let (subtotal, tax) = InvoiceMath.totals(draft.lines)
        return try await database.transaction { tx in
            guard let invoice = try await find(id, organizationId: organizationId, mode: mode, executor: tx, forUpdate: true) else {
                return false
            }
            var lifecycle = InvoiceLifecycle(status: invoice.status, amountPaidMinor: invoice.amountPaidMinor)
            _ = try lifecycle.update()
            try await tx.execute("""
                UPDATE accounting_invoices SET customer_id = \(draft.customerId), invoice_date = \(draft.invoiceDate)::date,
                    due_date = \(draft.dueDate)::date, notes = \(draft.notes), terms = \(draft.terms),
                    currency = \(draft.currency.code), exchange_rate = \(draft.exchangeRate.text)::numeric, subtotal_minor = \(subtotal), tax_minor = \(tax), total_minor = \(subtotal + tax), updated_at = \(now)
                WHERE id = \(id)
                """)
            try await tx.execute("DELETE FROM accounting_invoice_lines WHERE invoice_id = \(id)")
            try await DocumentLines.invoice.insert(draft.lines, parentId: id, companyId: invoice.companyId, mode: mode, executor: tx)
            return true
        }
    }

    /// draft → sent: posts DR receivables / CR revenue and tax payable, in one commit with `invoice.sent`.
    func send(_ id: String, company: Company, mode: Mode, receivable: String?, userId: String, clock: any WallClock) async throws {
        try await database.transaction { tx in
            guard let invoice = try await find(id, organizationId: company.organizationId, mode: mode, executor: tx,
                                               forUpdate: true) else { throw AccountingInput.notFound("Invoice") }
            var lifecycle = InvoiceLifecycle(status: invoice.status, amountPaidMinor: invoice.amountPaidMinor)
            guard case .send(let at) = try lifecycle.send(clock: clock) else { preconditionFailure("send returns send") }
            try await JournalStore.requireOpen(invoice.invoiceDate, companyId: company.id, mode: mode, field: "invoice_date",
                                               executor: tx)
            guard let taxPayable = try await Self.ruleAccount(.salesTaxPayable, companyId: company.id, mode: mode, executor: tx),
                  let arAccount = try await receivableAccount(receivable, companyId: company.id, mode: mode, executor: tx) else {
                throw AccountingInput.conflict("The company has no receivable or sales tax account (setup-coa)")
            }
            let entry = JournalStore.NewEntry(
                companyId: company.id, mode: mode, status: .posted, entryType: "invoice", sourceType: "invoice", sourceId: invoice.id,
                entryDate: invoice.invoiceDate, postingDate: invoice.invoiceDate, description: "Invoice \(invoice.number)",
                reference: invoice.number, currency: company.baseCurrency, postedAt: at, postedBy: userId, createdBy: userId,
                lines: try Self.bookedLines(invoice.lines.map(\.line), receivable: arAccount, taxPayable: taxPayable,
                                            currency: invoice.currency, rate: invoice.exchangeRate, base: company.baseCurrency))
            try await DocumentLedger.post(entry, now: at, executor: tx)
            try await tx.execute("""
                UPDATE accounting_invoices SET status = 'sent', sent_at = \(at), journal_entry_id = \(entry.id), updated_at = \(at)
                WHERE id = \(id)
                """)
            try await eventLog.append([Self.event("invoice.sent", id: id, company: company, mode: mode, now: at)], in: tx)
        }
        eventLog.appendCommitted()
    }

    func markViewed(_ id: String, organizationId: String, mode: Mode, clock: any WallClock) async throws -> Bool {
        try await database.transaction { tx in
            guard let invoice = try await find(id, organizationId: organizationId, mode: mode, executor: tx, forUpdate: true) else {
                return false
            }
            var lifecycle = InvoiceLifecycle(status: invoice.status, amountPaidMinor: invoice.amountPaidMinor)
            guard case .markViewed(let at) = try lifecycle.markViewed(clock: clock) else { preconditionFailure("markViewed") }
            try await tx.execute("UPDATE accounting_invoices SET status = 'viewed', viewed_at = \(at), updated_at = \(at) WHERE id = \(id)")
            return true
        }
    }

    /// sent/viewed without payments → voided, with the reversal of its journal entry.
    func void(_ id: String, organizationId: String, mode: Mode, reason: String, userId: String, clock: any WallClock) async throws -> Bool {
        try await database.transaction { tx in
            guard let invoice = try await find(id, organizationId: organizationId, mode: mode, executor: tx, forUpdate: true) else {
                return false
            }
            var lifecycle = InvoiceLifecycle(status: invoice.status, amountPaidMinor: invoice.amountPaidMinor)
            guard case .void(_, let at) = try lifecycle.void(reason: reason, clock: clock) else { preconditionFailure("void") }
            let reversal = try await DocumentLedger.reverse(
                DocumentLedger.Voiding(kind: "invoice", number: invoice.number, entryId: invoice.journalEntryId,
                                    companyId: invoice.companyId, field: "invoice_date"),
                reason: reason, organizationId: organizationId, mode: mode, userId: userId, at: at, database: database, executor: tx)
            try await tx.execute("""
                UPDATE accounting_invoices SET status = 'voided', voided_at = \(at), void_reason = \(reason),
                    void_entry_id = \(reversal), updated_at = \(at)
                WHERE id = \(id)
                """)
            return true
        }
    }

    // MARK: Helpers

    /// The entry of an invoice in its currency at its rate, in the base currency (`DocumentExchange`); a draft is checked
    /// with placeholder accounts, so what was accepted can be sent.
    static func bookedLines(_ lines: [InvoiceMath.Line], receivable: String, taxPayable: String, currency: Currency,
                            rate: DecimalFactor, base: Currency) throws(AtlasError) -> [LedgerLine] {
        try DocumentExchange.postingLines(InvoiceMath.postingLines(lines, receivable: receivable, taxPayable: taxPayable, currency: currency),
                                          currency: currency, rate: rate, base: base, field: "exchange_rate")
    }

    static func ruleAccount(_ rule: PostingRule, companyId: String, mode: Mode, executor: any SQLExecutor) async throws -> String? {
        try await executor.queryFirst("""
            SELECT a.id FROM accounting_posting_rules r JOIN accounting_accounts a
              ON a.company_id = r.company_id AND a.mode = r.mode AND a.account_number = r.account_number
            WHERE r.company_id = \(companyId) AND r.mode = \(mode) AND r.rule_key = \(rule.rawValue)
            """)?.decode("id")
    }

    /// `ar_account_id` when given (an active asset account of the company, else 422), else the posting rule's.
    private func receivableAccount(_ requested: String?, companyId: String, mode: Mode, executor: any SQLExecutor) async throws -> String? {
        guard let requested else { return try await Self.ruleAccount(.accountsReceivable, companyId: companyId, mode: mode, executor: executor) }
        guard let id = AccountingInput.uuid(requested), try await executor.queryFirst("""
            SELECT id FROM accounting_accounts
            WHERE id = \(id) AND company_id = \(companyId) AND mode = \(mode) AND account_type = 'asset' AND is_active
            """) != nil else {
            throw AtlasError.invalidField("ar_account_id", "ar_account_id is not an active asset account of this company")
        }
        return id
    }

    static func event(_ type: String, id: String, company: Company, mode: Mode, now: Date) -> DomainEvent {
        DomainEvent(type: type, tenant: TenantContext(merchantId: company.merchantId ?? company.organizationId, mode: mode),
                    resourceId: id, occurredAt: now,
                    payload: ["invoice_id": .string(id), "company_id": .string(company.id), "type": .string(type)])
    }
}
