import Foundation
import Kernel

/// The bill state machine (spec B.2 rules 8–11) as a value: draft → approved (posts) → voided (no payments).
/// `pending` (awaiting approval, inferred) is accepted as stored but no route sets it yet.
struct BillLifecycle: Sendable, Hashable {
    enum Status: String, Sendable, Hashable, CaseIterable {
        case draft, pending, approved, partial, paid, voided
    }

    private(set) var status: Status
    let amountPaidMinor: Int64

    mutating func update() throws(AtlasError) {
        guard status == .draft else { throw AccountingInput.conflict("Only draft bills can be updated") }
    }

    mutating func approve() throws(AtlasError) {
        guard status == .draft || status == .pending else { throw AccountingInput.conflict("Only draft bills can be approved") }
        status = .approved
    }

    mutating func void() throws(AtlasError) {
        guard status == .approved, amountPaidMinor == 0 else {
            throw AccountingInput.conflict("Only approved bills without payments can be voided")
        }
        status = .voided
    }

    /// The approval's entry: debit each line's expense account with its amount and tax (tax on purchases is a
    /// cost here: there is no recoverable-tax account yet, inferred), credit payables with the total.
    static func postingLines(_ lines: [InvoiceMath.Line], payable: String, currency: Currency) -> [LedgerLine] {
        func line(_ account: String, _ side: LedgerLine.Side, _ amount: Int64) -> LedgerLine {
            LedgerLine(accountId: account, side: side, amountMinor: amount, currency: currency, exchangeRate: .one,
                       baseAmountMinor: amount, description: nil)
        }
        let (subtotal, tax) = InvoiceMath.totals(lines)
        return InvoiceMath.sumsByAccount(lines, includingTax: true).map { line($0.account, .debit, $0.amount) }
            + [line(payable, .credit, subtotal + tax)]
    }

    /// The entry of a bill in its currency at its rate, in the base currency (`DocumentExchange`).
    static func bookedLines(_ lines: [InvoiceMath.Line], payable: String, currency: Currency, rate: DecimalFactor,
                             base: Currency) throws(AtlasError) -> [LedgerLine] {
        try DocumentExchange.postingLines(postingLines(lines, payable: payable, currency: currency), currency: currency, rate: rate,
                                          base: base, field: "exchange_rate")
    }
}

struct Bill: Sendable {
    var id: String
    var companyId: String
    var number: String
    var vendorId: String
    var vendorBillNumber: String?
    var status: BillLifecycle.Status
    var billDate: String
    var dueDate: String
    var currency: Currency
    /// Base-currency units per unit of `currency` the bill is booked at (1 in the base currency).
    var exchangeRate: DecimalFactor
    var subtotalMinor: Int64
    var taxMinor: Int64
    var totalMinor: Int64
    var amountPaidMinor: Int64
    var approvedAt: Date?
    var approvedBy: String?
    var voidedAt: Date?
    var voidReason: String?
    var journalEntryId: String?
    var voidEntryId: String?
    var createdAt: Date
    var lines: [InvoiceMath.Line] = []

    static let columns: StaticString = """
        id, company_id, bill_number, vendor_id, vendor_bill_number, status, bill_date::text AS bill_date,
        due_date::text AS due_date, currency, exchange_rate::text AS exchange_rate, subtotal_minor, tax_minor, total_minor, amount_paid_minor, approved_at, approved_by,
        voided_at, void_reason, journal_entry_id, void_entry_id, created_at
        """

    init(row: Row) throws {
        guard let status = BillLifecycle.Status(rawValue: try row.decode("status")),
              let currency = Currency(code: try row.decode("currency")),
              let exchangeRate = DecimalFactor(try row.decode("exchange_rate", as: String.self)) else {
            throw DatabaseError(kind: .decoding, message: "unexpected status, currency or rate in accounting_bills")
        }
        id = try row.decode("id")
        companyId = try row.decode("company_id")
        number = try row.decode("bill_number")
        vendorId = try row.decode("vendor_id")
        vendorBillNumber = try row.decode("vendor_bill_number")
        self.status = status
        billDate = try row.decode("bill_date")
        dueDate = try row.decode("due_date")
        self.currency = currency
        self.exchangeRate = exchangeRate
        subtotalMinor = try row.decode("subtotal_minor")
        taxMinor = try row.decode("tax_minor")
        totalMinor = try row.decode("total_minor")
        amountPaidMinor = try row.decode("amount_paid_minor")
        approvedAt = try row.decode("approved_at")
        approvedBy = try row.decode("approved_by")
        voidedAt = try row.decode("voided_at")
        voidReason = try row.decode("void_reason")
        journalEntryId = try row.decode("journal_entry_id")
        voidEntryId = try row.decode("void_entry_id")
        createdAt = try row.decode("created_at")
    }

    var json: JSONValue {
        func money(_ minor: Int64) -> JSONValue { .string(DecimalAmount.format(minor, currency)) }
        return [
            "id": .string(id), "company_id": .string(companyId), "bill_number": .string(number), "vendor_id": .string(vendorId),
            "vendor_bill_number": .text(vendorBillNumber), "status": .string(status.rawValue), "bill_date": .string(billDate),
            "due_date": .string(dueDate), "currency": .string(currency.code), "exchange_rate": .string(exchangeRate.text),
            "subtotal": money(subtotalMinor),
            "tax_amount": money(taxMinor), "total_amount": money(totalMinor), "amount_paid": money(amountPaidMinor),
            "amount_due": money(totalMinor - amountPaidMinor), "approved_at": .timestamp(approvedAt), "approved_by": .text(approvedBy),
            "voided_at": .timestamp(voidedAt), "void_reason": .text(voidReason), "journal_entry_id": .text(journalEntryId),
            "void_entry_id": .text(voidEntryId), "created_at": .timestamp(createdAt),
            "lines": .array(lines.enumerated().map { index, line in
                ["line_number": .int(Int64(index + 1)), "description": .string(line.description), "quantity": .string(line.quantity.text),
                 "unit_price": money(line.unitPriceMinor), "tax_rate": .string(line.taxRate?.text ?? "0"),
                 "expense_account_id": .string(line.accountId), "amount": money(line.subtotalMinor), "tax_amount": money(line.taxMinor)]
            }),
        ]
    }
}

/// `accounting_bills` and their lines; approval and void run with their journal entries in one transaction.
struct BillStore: Sendable {
    let database: any Database
    let eventLog: any EventLogWriter

    struct Draft: Sendable {
        var vendorId: String
        var vendorBillNumber: String?
        var billDate: String
        var dueDate: String
        var currency: Currency
        var exchangeRate: DecimalFactor
        var lines: [InvoiceMath.Line]
    }

    /// Inserts (no `existing`) or replaces a draft (409 unless it still is one); returns its id, nil when not found.
    func save(_ draft: Draft, existing: String?, company: Company, mode: Mode, userId: String, now: Date) async throws -> String? {
        let (subtotal, tax) = InvoiceMath.totals(draft.lines)
        return try await database.transaction { tx -> String? in
            let id: String
            if let existing {
                guard let bill = try await find(existing, organizationId: company.organizationId, mode: mode, executor: tx,
                                                forUpdate: true) else { return nil }
                var lifecycle = BillLifecycle(status: bill.status, amountPaidMinor: bill.amountPaidMinor)
                try lifecycle.update()
                id = existing
                try await tx.execute("""
                    UPDATE accounting_bills SET vendor_id = \(draft.vendorId), vendor_bill_number = \(draft.vendorBillNumber),
                        bill_date = \(draft.billDate)::date, due_date = \(draft.dueDate)::date, currency = \(draft.currency.code),
                        exchange_rate = \(draft.exchangeRate.text)::numeric, subtotal_minor = \(subtotal),
                        tax_minor = \(tax), total_minor = \(subtotal + tax), updated_at = \(now)
                    WHERE id = \(id)
                    """)
                try await tx.execute("DELETE FROM accounting_bill_lines WHERE bill_id = \(id)")
            } else {
                id = AccountingInput.newId()
                let number = try await DocumentLedger.nextNumber(prefix: "BILL-", counter: "bill-", date: draft.billDate,
                                                                 companyId: company.id, mode: mode, executor: tx)
                try await tx.execute("""
                    INSERT INTO accounting_bills (id, company_id, mode, bill_number, vendor_id, vendor_bill_number, status, bill_date,
                        due_date, currency, exchange_rate, subtotal_minor, tax_minor, total_minor, created_by, created_at, updated_at)
                    VALUES (\(id), \(company.id), \(mode), \(number), \(draft.vendorId), \(draft.vendorBillNumber),
                        'draft', \(draft.billDate)::date, \(draft.dueDate)::date, \(draft.currency.code),
                        \(draft.exchangeRate.text)::numeric, \(subtotal), \(tax),
                        \(subtotal + tax), \(userId), \(now), \(now))
                    """)
            }
            try await DocumentLines.bill.insert(draft.lines, parentId: id, companyId: company.id, mode: mode, executor: tx)
            return id
        }
    }

    func find(_ id: String, organizationId: String, mode: Mode, executor: (any SQLExecutor)? = nil,
              forUpdate: Bool = false) async throws -> Bill? {
        let executor = executor ?? database
        let sql: SQL = forUpdate
            ? """
              SELECT \(literal: Bill.columns) FROM accounting_bills WHERE id = \(id) AND mode = \(mode)
                AND company_id IN (SELECT id FROM accounting_companies WHERE org_id = \(organizationId)) FOR UPDATE
              """
            : """
              SELECT \(literal: Bill.columns) FROM accounting_bills WHERE id = \(id) AND mode = \(mode)
                AND company_id IN (SELECT id FROM accounting_companies WHERE org_id = \(organizationId))
              """
        guard var bill = try await executor.queryFirst(sql).map(Bill.init(row:)) else { return nil }
        bill.lines = try await DocumentLines.bill.read(of: [id], executor: executor)[id]?.map(\.line) ?? []
        return bill
    }

    func list(companyId: String, mode: Mode, status: String?, vendorId: String?, page: AccountingPage) async throws
        -> (items: [Bill], total: Int) {
        let total: Int = try await database.queryFirst("""
            SELECT count(*) AS n FROM accounting_bills WHERE company_id = \(companyId) AND mode = \(mode)\
            \(and: "status = ?", status)\(and: "vendor_id = ?", vendorId)
            """)?.decode("n") ?? 0
        let items = try await database.query("""
            SELECT \(literal: Bill.columns) FROM accounting_bills WHERE company_id = \(companyId) AND mode = \(mode)\
            \(and: "status = ?", status)\(and: "vendor_id = ?", vendorId)
            ORDER BY bill_date DESC, bill_number DESC LIMIT \(page.limit) OFFSET \(page.offset)
            """).map(Bill.init(row:))
        return (items, total)
    }

    /// draft → approved: DR expenses / CR the payable account, with `bill.approved`, in one commit.
    func approve(_ id: String, company: Company, mode: Mode, payable: String, userId: String, now: Date) async throws -> Bool {
        let approved = try await database.transaction { tx -> Bool in
            guard let bill = try await find(id, organizationId: company.organizationId, mode: mode, executor: tx, forUpdate: true) else {
                return false
            }
            var lifecycle = BillLifecycle(status: bill.status, amountPaidMinor: bill.amountPaidMinor)
            try lifecycle.approve()
            try await JournalStore.requireOpen(bill.billDate, companyId: company.id, mode: mode, field: "bill_date", executor: tx)
            let entry = JournalStore.NewEntry(
                companyId: company.id, mode: mode, status: .posted, entryType: "bill", sourceType: "bill", sourceId: bill.id,
                entryDate: bill.billDate, postingDate: bill.billDate, description: "Bill \(bill.number)", reference: bill.number,
                currency: company.baseCurrency, postedAt: now, postedBy: userId, createdBy: userId,
                lines: try BillLifecycle.bookedLines(bill.lines, payable: payable, currency: bill.currency, rate: bill.exchangeRate,
                                                     base: company.baseCurrency))
            try await DocumentLedger.post(entry, now: now, executor: tx)
            try await tx.execute("""
                UPDATE accounting_bills SET status = 'approved', approved_at = \(now), approved_by = \(userId),
                    journal_entry_id = \(entry.id), updated_at = \(now)
                WHERE id = \(id)
                """)
            try await eventLog.append([DomainEvent(
                type: "bill.approved", tenant: TenantContext(merchantId: company.merchantId ?? company.organizationId, mode: mode),
                resourceId: id, occurredAt: now, payload: ["bill_id": .string(id), "company_id": .string(company.id)])], in: tx)
            return true
        }
        if approved { eventLog.appendCommitted() }
        return approved
    }

    /// approved without payments → voided, reversing the approval's entry.
    func void(_ id: String, organizationId: String, mode: Mode, reason: String, userId: String, now: Date) async throws -> Bool {
        try await database.transaction { tx in
            guard let bill = try await find(id, organizationId: organizationId, mode: mode, executor: tx, forUpdate: true) else {
                return false
            }
            var lifecycle = BillLifecycle(status: bill.status, amountPaidMinor: bill.amountPaidMinor)
            try lifecycle.void()
            let reversal = try await DocumentLedger.reverse(
                DocumentLedger.Voiding(kind: "bill", number: bill.number, entryId: bill.journalEntryId, companyId: bill.companyId,
                                    field: "bill_date"),
                reason: reason, organizationId: organizationId, mode: mode, userId: userId, at: now, database: database, executor: tx)
            try await tx.execute("""
                UPDATE accounting_bills SET status = 'voided', voided_at = \(now), void_reason = \(reason),
                    void_entry_id = \(reversal), updated_at = \(now)
                WHERE id = \(id)
                """)
            return true
        }
    }
}
