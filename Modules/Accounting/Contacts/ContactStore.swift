import Foundation
import Kernel

/// Customers and vendors (spec B.1): the same record, `kind` apart. Customers have a credit limit, vendors a
/// default expense account.
enum ContactKind: String, Sendable, Hashable {
    case customer
    case vendor

    var numberPrefix: String { self == .customer ? "CUST-" : "VEND-" }
    var numberField: String { self == .customer ? "customer_number" : "vendor_number" }
    var title: String { self == .customer ? "Customer" : "Vendor" }
}

struct Contact: Sendable, Hashable {
    static let paymentTerms = ["due_on_receipt", "net_15", "net_30", "net_60", "net_90"]

    var id: String
    var companyId: String
    var kind: ContactKind
    var number: String
    var displayName: String
    var email: String?
    var currency: Currency
    var paymentTerms: String
    var creditLimitMinor: Int64?
    var defaultExpenseAccountId: String?
    var billingAddress: JSONValue
    var isActive: Bool
    var createdAt: Date
    var updatedAt: Date
    /// Open documents (sent/viewed/partial invoices, approved/partial bills) and unapplied payments.
    var openCount = 0
    var openMinor: Int64 = 0
    var unappliedMinor: Int64 = 0
    /// What the contact owes (customer) or is owed (vendor): open amounts due less unapplied payments.
    var balanceMinor: Int64 { openMinor - unappliedMinor }

    static let columns: StaticString = """
        id, company_id, kind, contact_number, display_name, email, currency, payment_terms, credit_limit_minor,
        default_expense_account_id, billing_address::text AS billing_address, is_active, created_at, updated_at
        """

    init(row: Row) throws {
        guard let kind = ContactKind(rawValue: try row.decode("kind")), let currency = Currency(code: try row.decode("currency")) else {
            throw DatabaseError(kind: .decoding, message: "unexpected kind or currency in accounting_contacts")
        }
        id = try row.decode("id")
        companyId = try row.decode("company_id")
        self.kind = kind
        number = try row.decode("contact_number")
        displayName = try row.decode("display_name")
        email = try row.decode("email")
        self.currency = currency
        paymentTerms = try row.decode("payment_terms")
        creditLimitMinor = try row.decode("credit_limit_minor")
        defaultExpenseAccountId = try row.decode("default_expense_account_id")
        let address: String = try row.decode("billing_address")
        billingAddress = (try? JSONCoding.decoder().decode(JSONValue.self, from: Data(address.utf8))) ?? [:]
        isActive = try row.decode("is_active")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
    }

    var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "company_id": .string(companyId), kind.numberField: .string(number),
            "display_name": .string(displayName), "email": .text(email), "currency": .string(currency.code),
            "payment_terms": .string(paymentTerms), "billing_address": billingAddress, "is_active": .bool(isActive),
            "current_balance": .string(DecimalAmount.format(balanceMinor, currency)), "created_at": .timestamp(createdAt),
            "updated_at": .timestamp(updatedAt),
        ]
        switch kind {
        case .customer: object["credit_limit"] = creditLimitMinor.map { .string(DecimalAmount.format($0, currency)) } ?? .null
        case .vendor: object["default_expense_account_id"] = .text(defaultExpenseAccountId)
        }
        return .object(object)
    }
}

struct ContactStore: Sendable {
    let database: any Database

    func create(_ contact: Contact, mode: Mode) async throws -> Contact {
        let address = String(decoding: contact.billingAddress.serialized(), as: UTF8.self)
        return try await database.transaction { tx in
            let number = try await JournalStore.reserveNumbers(companyId: contact.companyId, mode: mode, count: 1,
                                                               kind: contact.kind.rawValue, executor: tx)
            var digits = String(number)
            while digits.count < 5 { digits = "0" + digits }
            guard let row = try await tx.queryFirst("""
                INSERT INTO accounting_contacts (id, company_id, mode, kind, contact_number, display_name, email, currency,
                    payment_terms, credit_limit_minor, default_expense_account_id, billing_address, is_active, created_at, updated_at)
                VALUES (\(contact.id), \(contact.companyId), \(mode), \(contact.kind.rawValue), \(contact.kind.numberPrefix + digits),
                    \(contact.displayName), \(contact.email), \(contact.currency.code), \(contact.paymentTerms),
                    \(contact.creditLimitMinor), \(contact.defaultExpenseAccountId), \(SQLValue.json(address)), true,
                    \(contact.createdAt), \(contact.updatedAt))
                RETURNING \(literal: Contact.columns)
                """) else { throw DatabaseError(kind: .query, message: "contact insert returned no row") }
            return try Contact(row: row)
        }
    }

    func find(_ id: String, kind: ContactKind, organizationId: String, mode: Mode) async throws -> Contact? {
        guard let contact = try await database.queryFirst("""
            SELECT \(literal: Contact.columns) FROM accounting_contacts
            WHERE id = \(id) AND kind = \(kind.rawValue) AND mode = \(mode)
              AND company_id IN (SELECT id FROM accounting_companies WHERE org_id = \(organizationId))
            """).map(Contact.init(row:)) else { return nil }
        return try await withBalances([contact], kind: kind).first
    }

    /// Fills each contact's open documents and unapplied payments (one statement for the lot).
    func withBalances(_ contacts: [Contact], kind: ContactKind) async throws -> [Contact] {
        guard !contacts.isEmpty else { return contacts }
        let side = kind == .customer ? PaymentSide.received : .made
        let rows = try await database.query("""
            SELECT c.id,
                (SELECT count(*) FROM \(literal: side.documentTable) d
                  WHERE d.\(literal: side.contactColumn) = c.id AND d.status IN \(literal: side.openStatusList))::bigint AS open_count,
                (SELECT coalesce(sum(d.total_minor - d.amount_paid_minor), 0) FROM \(literal: side.documentTable) d
                  WHERE d.\(literal: side.contactColumn) = c.id AND d.status IN \(literal: side.openStatusList))::bigint AS open_minor,
                (SELECT coalesce(sum(p.unapplied_minor), 0) FROM \(literal: side.table) p
                  WHERE p.\(literal: side.contactColumn) = c.id AND p.status = 'completed')::bigint AS unapplied_minor
            FROM accounting_contacts c WHERE c.id = ANY(string_to_array(\(contacts.map(\.id).joined(separator: ",")), ','))
            """)
        var balances: [String: (count: Int64, open: Int64, unapplied: Int64)] = [:]
        for row in rows {
            balances[try row.decode("id")] = (try row.decode("open_count"), try row.decode("open_minor"), try row.decode("unapplied_minor"))
        }
        return contacts.map { contact in
            var filled = contact
            let balance = balances[contact.id] ?? (0, 0, 0)
            filled.openCount = Int(balance.count)
            filled.openMinor = balance.open
            filled.unappliedMinor = balance.unapplied
            return filled
        }
    }

    func list(companyId: String, kind: ContactKind, mode: Mode, isActive: Bool?, page: AccountingPage) async throws
        -> (items: [Contact], total: Int) {
        let total: Int = try await database.queryFirst("""
            SELECT count(*) AS n FROM accounting_contacts
            WHERE company_id = \(companyId) AND mode = \(mode) AND kind = \(kind.rawValue)\(and: "is_active = ?", isActive)
            """)?.decode("n") ?? 0
        let items = try await database.query("""
            SELECT \(literal: Contact.columns) FROM accounting_contacts
            WHERE company_id = \(companyId) AND mode = \(mode) AND kind = \(kind.rawValue)\(and: "is_active = ?", isActive)
            ORDER BY contact_number LIMIT \(page.limit) OFFSET \(page.offset)
            """).map(Contact.init(row:))
        return (try await withBalances(items, kind: kind), total)
    }

    func update(_ contact: Contact, mode: Mode) async throws -> Contact? {
        let address = String(decoding: contact.billingAddress.serialized(), as: UTF8.self)
        return try await database.queryFirst("""
            UPDATE accounting_contacts SET display_name = \(contact.displayName), email = \(contact.email),
                currency = \(contact.currency.code), payment_terms = \(contact.paymentTerms),
                credit_limit_minor = \(contact.creditLimitMinor), default_expense_account_id = \(contact.defaultExpenseAccountId),
                billing_address = \(SQLValue.json(address)), is_active = \(contact.isActive), updated_at = \(contact.updatedAt)
            WHERE id = \(contact.id) AND company_id = \(contact.companyId) AND mode = \(mode)
            RETURNING \(literal: Contact.columns)
            """).map(Contact.init(row:))
    }
}
