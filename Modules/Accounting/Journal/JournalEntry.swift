import Foundation
import Kernel

/// A stored journal entry with its lines (amounts in integer minor units).
struct JournalEntry: Sendable {
    static let entryTypes = ["manual", "invoice", "bill", "payment", "adjustment", "closing"]
    static let sourceTypes = ["invoice", "bill", "bank_feed", "manual"]

    var id: String
    var companyId: String
    var entryNumber: String
    var status: JournalEntryLifecycle.Status
    var entryType: String
    var sourceType: String?
    var sourceId: String?
    var entryDate: String
    var postingDate: String?
    var description: String
    var reference: String?
    var currency: Currency
    var totalBaseMinor: Int64
    var version: Int
    var postedAt: Date?
    var postedBy: String?
    var voidedAt: Date?
    var voidedBy: String?
    var voidReason: String?
    var supersededBy: String?
    var correctsEntry: String?
    var reversesEntry: String?
    var reversedBy: String?
    var createdBy: String?
    var createdAt: Date
    var updatedAt: Date
    var lines: [StoredLine] = []

    struct StoredLine: Sendable {
        var id: String
        var lineNumber: Int
        var accountId: String
        var accountNumber: String?
        var accountName: String?
        var line: LedgerLine

        func json(base: Currency) -> JSONValue {
            ["id": .string(id), "line_number": .int(Int64(lineNumber)), "account_id": .string(accountId),
             "account_number": .text(accountNumber), "account_name": .text(accountName),
             "entry_type": .string(line.side.rawValue), "amount": .string(DecimalAmount.format(line.amountMinor, line.currency)),
             "currency": .string(line.currency.code), "exchange_rate": .string(line.exchangeRate.text),
             "base_amount": .string(DecimalAmount.format(line.baseAmountMinor, base)), "description": .text(line.description)]
        }
    }

    static let columns: StaticString = """
        id, company_id, entry_number, status, entry_type, source_type, source_id, entry_date::text AS entry_date,
        posting_date::text AS posting_date, description, reference, currency, total_base_minor, version, posted_at,
        posted_by, voided_at, voided_by, void_reason, superseded_by, corrects_entry, reverses_entry, reversed_by,
        created_by, created_at, updated_at
        """

    init(row: Row) throws {
        guard let status = JournalEntryLifecycle.Status(rawValue: try row.decode("status")),
              let currency = Currency(code: try row.decode("currency")) else {
            throw DatabaseError(kind: .decoding, message: "unexpected status or currency in accounting_journal_entries")
        }
        id = try row.decode("id")
        companyId = try row.decode("company_id")
        entryNumber = try row.decode("entry_number")
        self.status = status
        entryType = try row.decode("entry_type")
        sourceType = try row.decode("source_type")
        sourceId = try row.decode("source_id")
        entryDate = try row.decode("entry_date")
        postingDate = try row.decode("posting_date")
        description = try row.decode("description")
        reference = try row.decode("reference")
        self.currency = currency
        totalBaseMinor = try row.decode("total_base_minor")
        version = try row.decode("version")
        postedAt = try row.decode("posted_at")
        postedBy = try row.decode("posted_by")
        voidedAt = try row.decode("voided_at")
        voidedBy = try row.decode("voided_by")
        voidReason = try row.decode("void_reason")
        supersededBy = try row.decode("superseded_by")
        correctsEntry = try row.decode("corrects_entry")
        reversesEntry = try row.decode("reverses_entry")
        reversedBy = try row.decode("reversed_by")
        createdBy = try row.decode("created_by")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
    }

    var ledgerLines: [LedgerLine] { lines.map(\.line) }

    var json: JSONValue {
        let (debits, credits) = JournalLineRules.totals(ledgerLines)
        return [
            "id": .string(id), "company_id": .string(companyId), "entry_number": .string(entryNumber),
            "status": .string(status.rawValue), "entry_type": .string(entryType), "source_type": .text(sourceType),
            "source_id": .text(sourceId), "entry_date": .string(entryDate), "posting_date": .text(postingDate),
            "description": .string(description), "reference": .text(reference), "currency": .string(currency.code),
            "total_debit": .string(DecimalAmount.format(debits, currency)),
            "total_credit": .string(DecimalAmount.format(credits, currency)),
            "version": .int(Int64(version)), "posted_at": .timestamp(postedAt), "posted_by": .text(postedBy),
            "voided_at": .timestamp(voidedAt), "voided_by": .text(voidedBy), "void_reason": .text(voidReason),
            "superseded_by": .text(supersededBy), "corrects_entry": .text(correctsEntry),
            "reverses_entry": .text(reversesEntry), "reversed_by": .text(reversedBy), "created_by": .text(createdBy),
            "created_at": .timestamp(createdAt), "updated_at": .timestamp(updatedAt),
            "lines": .array(lines.map { $0.json(base: currency) }),
        ]
    }

    static func entryNumber(_ value: Int64) -> String {
        var digits = String(value)
        while digits.count < 6 { digits = "0" + digits }
        return "JE-" + digits
    }
}
