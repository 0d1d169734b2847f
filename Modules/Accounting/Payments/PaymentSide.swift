import Kernel

/// What tells a payment received (from a customer, paying invoices, crediting receivables) from a payment made
/// (to a vendor, paying bills, debiting payables): spec B.2 rules 12–14 are one lifecycle for both directions, so
/// one store and one set of handlers take the side as a value. SQL names are `StaticString`s (`\(literal:)`).
struct PaymentSide: Sendable {
    /// Wire names.
    let title: String
    let contactKind: ContactKind
    let contactField: String
    let accountField: String
    let documentField: String
    let documentTitle: String
    let documentArticle: String
    let numberPrefix: String
    let numberCounter: String
    let methods: [String]
    /// The control account the payment settles, and the side the cash account takes in the payment's entry.
    let controlRule: PostingRule
    /// The request field that names another control account (`?ar_account_id` [S]), and the type it must have.
    let controlField: String
    let controlType: String
    let cashSide: LedgerLine.Side
    let entryDescription: String
    /// Document statuses a payment can be applied to.
    let openStatuses: [String]
    let openStatusList: StaticString
    let createdEvent: String?
    let paidEvent: String?
    /// SQL.
    let table: StaticString
    let applicationsTable: StaticString
    let documentTable: StaticString
    let columns: StaticString
    let documentColumn: StaticString
    /// `customer_id`/`vendor_id` in the payment and the document tables; the cash account's column.
    let contactColumn: StaticString
    let contactFilter: StaticString
    let accountColumn: StaticString
    let documentNumberColumn: StaticString
    let documentDateColumn: StaticString
    /// Document statuses that were open at some time (posted, not void): what an aging report as of a date reads.
    let postedStatusList: StaticString
    /// The status of a document whose last application was deleted: what it was before it was paid.
    let unpaidStatus: StaticString

    static let received = PaymentSide(
        title: "Payment", contactKind: .customer, contactField: "customer_id", accountField: "deposit_account_id",
        documentField: "invoice_id", documentTitle: "invoice", documentArticle: "an", numberPrefix: "PMT-", numberCounter: "payment-",
        methods: ["cash", "check", "credit_card", "ach", "wire", "stripe", "other"],
        controlRule: .accountsReceivable, controlField: "ar_account_id", controlType: "asset", cashSide: .debit, entryDescription: "Payment received",
        openStatuses: ["sent", "viewed", "partial"], openStatusList: "('sent', 'viewed', 'partial')", createdEvent: "payment.received", paidEvent: "invoice.paid",
        table: "accounting_payments", applicationsTable: "accounting_payment_applications", documentTable: "accounting_invoices",
        columns: """
            id, company_id, payment_number, customer_id AS contact_id, payment_date::text AS payment_date, amount_minor,
            unapplied_minor, currency, exchange_rate::text AS exchange_rate, payment_method, deposit_account_id AS account_id, reference_number, status, journal_entry_id,
            void_entry_id, voided_at, void_reason, created_at
            """,
        documentColumn: "invoice_id", contactColumn: "customer_id", contactFilter: "customer_id = ?",
        accountColumn: "deposit_account_id", documentNumberColumn: "invoice_number", documentDateColumn: "invoice_date",
        postedStatusList: "('sent', 'viewed', 'partial', 'paid')",
        unpaidStatus: "CASE WHEN viewed_at IS NOT NULL THEN 'viewed' ELSE 'sent' END")

    /// Payments made (bill payments): `PAY-YYYY-NNNN`, DR payables / CR the payment account; no `stripe` ([S]).
    static let made = PaymentSide(
        title: "Payment made", contactKind: .vendor, contactField: "vendor_id", accountField: "payment_account_id",
        documentField: "bill_id", documentTitle: "bill", documentArticle: "a", numberPrefix: "PAY-", numberCounter: "payment-made-",
        methods: ["cash", "check", "credit_card", "ach", "wire", "other"],
        controlRule: .accountsPayable, controlField: "ap_account_id", controlType: "liability", cashSide: .credit, entryDescription: "Payment made",
        openStatuses: ["approved", "partial"], openStatusList: "('approved', 'partial')", createdEvent: nil, paidEvent: nil,
        table: "accounting_payments_made", applicationsTable: "accounting_payment_made_applications",
        documentTable: "accounting_bills",
        columns: """
            id, company_id, payment_number, vendor_id AS contact_id, payment_date::text AS payment_date, amount_minor,
            unapplied_minor, currency, exchange_rate::text AS exchange_rate, payment_method, payment_account_id AS account_id, reference_number, status, journal_entry_id,
            void_entry_id, voided_at, void_reason, created_at
            """,
        documentColumn: "bill_id", contactColumn: "vendor_id", contactFilter: "vendor_id = ?",
        accountColumn: "payment_account_id", documentNumberColumn: "bill_number", documentDateColumn: "bill_date",
        postedStatusList: "('approved', 'partial', 'paid')",
        unpaidStatus: "'approved'")
}
