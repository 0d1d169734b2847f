import Foundation
import Kernel

/// What invoices, bills and payments (both sides) share around the journal: their yearly numbers, the one entry a
/// document posts, and the reversal its void posts. One place, so the four lifecycles cannot drift apart.
enum DocumentLedger {
    /// `PREFIX-YYYY-NNNN`: a counter per company, ledger, kind and year of `date` (`counter` + year), ≥ 4 digits.
    static func nextNumber(prefix: String, counter: String, date: String, companyId: String, mode: Mode,
                           executor: any SQLExecutor) async throws -> String {
        let year = String(date.prefix(4))
        let number = try await JournalStore.reserveNumbers(companyId: companyId, mode: mode, count: 1, kind: counter + year,
                                                           executor: executor)
        var digits = String(number)
        while digits.count < 4 { digits = "0" + digits }
        return prefix + year + "-" + digits
    }

    /// Numbers and inserts one posted entry and adds it to the day balances.
    static func post(_ entry: JournalStore.NewEntry, now: Date, executor: any SQLExecutor) async throws {
        precondition(entry.status == .posted, "a document posts its entry")
        let number = try await JournalStore.reserveNumbers(companyId: entry.companyId, mode: entry.mode, count: 1, executor: executor)
        try await JournalStore.insert([entry], firstNumber: number, now: now, executor: executor)
        try await JournalStore.addToDayBalances(entryIds: [entry.id], executor: executor)
    }

    /// A voided document's reversal: locks its entry, refuses a closed period (409 naming `field`), posts the
    /// reversing entry and returns its id.
    struct Voiding: Sendable {
        var kind: String
        var number: String
        var entryId: String?
        var companyId: String
        var field: String
    }

    static func reverse(_ void: Voiding, reason: String, organizationId: String, mode: Mode, userId: String, at: Date,
                        database: any Database, executor: any SQLExecutor) async throws -> String {
        guard let entryId = void.entryId,
              let entry = try await JournalStore(database: database).find(entryId, organizationId: organizationId, mode: mode,
                                                                          executor: executor, forUpdate: true) else {
            throw AccountingInput.conflict("The \(void.kind)'s journal entry is missing")
        }
        try await JournalStore.requireOpen(entry.postingDate ?? entry.entryDate, companyId: void.companyId, mode: mode,
                                           field: void.field, executor: executor)
        return try await JournalStore.reverseLocked(entry, mode: mode, reason: "\(void.kind) \(void.number) voided: \(reason)",
                                                    correction: nil, userId: userId, at: at, executor: executor).reversal
    }
}

/// The lines of invoices and bills: the same columns but the parent and the account (revenue or expense).
struct DocumentLines: Sendable {
    let table: StaticString
    let parentColumn: StaticString
    let accountColumn: StaticString

    static let invoice = DocumentLines(table: "accounting_invoice_lines", parentColumn: "invoice_id",
                                       accountColumn: "revenue_account_id")
    static let bill = DocumentLines(table: "accounting_bill_lines", parentColumn: "bill_id", accountColumn: "expense_account_id")

    func insert(_ lines: [InvoiceMath.Line], parentId: String, companyId: String, mode: Mode,
                executor: any SQLExecutor) async throws {
        for (index, line) in lines.enumerated() {
            try await executor.execute("""
                INSERT INTO \(literal: table) (id, \(literal: parentColumn), company_id, mode, line_number, description, quantity,
                    unit_price_minor, tax_rate, \(literal: accountColumn), subtotal_minor, tax_minor)
                VALUES (\(AccountingInput.newId()), \(parentId), \(companyId), \(mode), \(index + 1), \(line.description),
                    \(line.quantity.text)::numeric, \(line.unitPriceMinor), \(line.taxRate?.text ?? "0")::numeric,
                    \(line.accountId), \(line.subtotalMinor), \(line.taxMinor))
                """)
        }
    }

    /// The lines of each parent in line order, with their ids.
    func read(of parentIds: [String], executor: any SQLExecutor) async throws -> [String: [(id: String, line: InvoiceMath.Line)]] {
        guard !parentIds.isEmpty else { return [:] }
        let rows = try await executor.query("""
            SELECT id, \(literal: parentColumn) AS parent_id, description, quantity::text AS quantity, unit_price_minor,
                   tax_rate::text AS tax_rate, \(literal: accountColumn) AS account_id, subtotal_minor, tax_minor
            FROM \(literal: table) WHERE \(literal: parentColumn) = ANY(string_to_array(\(parentIds.joined(separator: ",")), ','))
            ORDER BY \(literal: parentColumn), line_number
            """)
        var result: [String: [(id: String, line: InvoiceMath.Line)]] = [:]
        for row in rows {
            guard let quantity = DecimalFactor(try row.decode("quantity", as: String.self)) else {
                throw DatabaseError(kind: .decoding, message: "unexpected quantity in \(table)")
            }
            let line = InvoiceMath.Line(description: try row.decode("description"), quantity: quantity,
                                        unitPriceMinor: try row.decode("unit_price_minor"),
                                        taxRate: DecimalFactor(try row.decode("tax_rate", as: String.self)),
                                        accountId: try row.decode("account_id"),
                                        subtotalMinor: try row.decode("subtotal_minor"), taxMinor: try row.decode("tax_minor"))
            result[try row.decode("parent_id"), default: []].append((try row.decode("id"), line))
        }
        return result
    }
}
