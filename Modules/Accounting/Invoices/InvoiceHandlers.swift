import Foundation
import Kernel

/// `/invoices` (spec B.1, B.2 rules 1–7): draft, update, send (posts the receivable), mark viewed, void.
struct InvoiceHandlers: Sendable {
    static let notesLengthMax = 2_000
    static let termsLengthMax = 500
    static let reasonLengthMax = 500

    let store: InvoiceStore
    let contacts: ContactStore
    let accounts: AccountStore
    let scope: CompanyScope
    let clock: any WallClock

    /// One body for create and update; on create `customer_id`, `invoice_date` and `lines` are required.
    struct Body: Decodable {
        let company_id: String?
        let customer_id: String?
        let invoice_date: String?
        let due_date: String?
        let notes: String?
        let terms: String?
        let lines: [InvoiceMath.Input]?
        /// The customer's currency (the default); another is 422.
        let currency: String?
        /// Base-currency units per unit of the invoice's currency; default: the rate effective on the invoice date.
        let exchange_rate: AmountText?
    }

    var today: String { AccountingInput.day(of: clock.now()) }

    func create(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let body = try request.decodeJSON(Body.self)
        guard body.customer_id != nil else { throw AtlasError.missingField("customer_id") }
        guard body.invoice_date != nil else { throw AtlasError.missingField("invoice_date") }
        guard body.lines != nil else { throw AtlasError.missingField("lines") }
        let company = try await scope.resolve(request, caller, bodyCompanyId: body.company_id)
        let draft = try await draft(body, existing: nil, company: company, caller: caller)
        let id = try await store.create(draft, company: company, mode: caller.mode, userId: caller.userId, now: clock.now())
        return .json(try await load(id, caller).json(today: today), status: 201)
    }

    func list(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let query = request.queryParameters
        let page = try AccountingPage(query)
        if let status = query["status"], InvoiceLifecycle.Status(rawValue: status) == nil {
            throw AtlasError.invalidField("status", "status must be one of \(InvoiceLifecycle.Status.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let customer = try AccountingInput.optionalUUID(query["customer_id"], field: "customer_id")
        let company = try await scope.resolve(request, caller)
        let (items, total) = try await store.list(companyId: company.id, mode: caller.mode, status: query["status"],
                                                  customerId: customer, page: page)
        let day = today
        return .json(page.envelope(items.map { $0.json(today: day) }, total: total))
    }

    func get(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        return .json(try await load(try Self.id(request), caller).json(today: today))
    }

    func update(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let id = try Self.id(request)
        let existing = try await load(id, caller)
        var lifecycle = InvoiceLifecycle(status: existing.status, amountPaidMinor: existing.amountPaidMinor)
        _ = try lifecycle.update()
        guard let company = try await scope.store.find(existing.companyId, organizationId: caller.organizationId) else {
            throw AccountingInput.notFound("Invoice")
        }
        let draft = try await draft(try request.decodeJSON(Body.self), existing: existing, company: company, caller: caller)
        guard try await store.updateDraft(id, organizationId: caller.organizationId, mode: caller.mode, draft: draft,
                                          now: clock.now()) else { throw AccountingInput.notFound("Invoice") }
        return .json(try await load(id, caller).json(today: today))
    }

    /// `POST …/{id}/send[?ar_account_id]`.
    func send(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let id = try Self.id(request)
        let body = try request.optionalJSONObject()
        if let value = body["ar_account_id"], value != .null, value.stringValue == nil {
            throw AtlasError.invalidField("ar_account_id", "ar_account_id must be a UUID")
        }
        let existing = try await load(id, caller)
        guard let company = try await scope.store.find(existing.companyId, organizationId: caller.organizationId) else {
            throw AccountingInput.notFound("Invoice")
        }
        try await store.send(id, company: company, mode: caller.mode,
                             receivable: body["ar_account_id"]?.stringValue ?? request.queryParameters["ar_account_id"],
                             userId: caller.userId, clock: clock)
        return .json(try await load(id, caller).json(today: today))
    }

    func markViewed(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let id = try Self.id(request)
        guard try await store.markViewed(id, organizationId: caller.organizationId, mode: caller.mode, clock: clock) else {
            throw AccountingInput.notFound("Invoice")
        }
        return .json(try await load(id, caller).json(today: today))
    }

    func void(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let id = try Self.id(request)
        let reason = try request.actionReason(lengthMax: Self.reasonLengthMax)
        guard try await store.void(id, organizationId: caller.organizationId, mode: caller.mode, reason: reason,
                                   userId: caller.userId, clock: clock) else { throw AccountingInput.notFound("Invoice") }
        return .json(try await load(id, caller).json(today: today))
    }

    // MARK: Helpers

    /// The body's fields over `existing` (a draft being updated) or the defaults (a new invoice), validated.
    private func draft(_ body: Body, existing: Invoice?, company: Company, caller: AccountingContext) async throws -> InvoiceStore.Draft {
        let customerText = body.customer_id ?? existing?.customerId ?? ""
        guard let customerId = AccountingInput.uuid(customerText),
              let customer = try await contacts.find(customerId, kind: .customer, organizationId: caller.organizationId,
                                                     mode: caller.mode),
              customer.companyId == company.id, customer.isActive else {
            throw AtlasError.invalidField("customer_id", "customer_id is not an active customer of this company")
        }
        let currency = try DocumentCurrency.of(body.currency, contact: customer)
        let invoiceDate = try AccountingInput.requiredDate(body.invoice_date ?? existing?.invoiceDate, field: "invoice_date")
        var dueDate = try AccountingInput.optionalDate(body.due_date, field: "due_date")
        if dueDate == nil, let existing, body.invoice_date == nil, body.customer_id == nil { dueDate = existing.dueDate }
        let due = dueDate ?? InvoiceMath.dueDate(invoiceDate: invoiceDate, paymentTerms: customer.paymentTerms)
        guard due >= invoiceDate else { throw AtlasError.invalidField("due_date", "due_date must not be before invoice_date") }
        try AccountingInput.optionalText(body.notes, field: "notes", max: Self.notesLengthMax)
        try AccountingInput.optionalText(body.terms, field: "terms", max: Self.termsLengthMax)
        var lines = existing?.lines.map(\.line) ?? []
        if let inputs = body.lines {
            let chart = try await accounts.all(companyId: company.id, mode: caller.mode)
            lines = try InvoiceMath.lines(inputs, accounts: Dictionary(chart.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first }),
                                          currency: currency)
        } else if let existing, existing.currency != currency {
            throw AtlasError.invalidField("lines", "lines are required when the currency changes")
        }
        let rate = try await DocumentCurrency.rate(currency: currency, explicit: body.exchange_rate, date: invoiceDate,
                                                   dateField: "invoice_date",
                                                   kept: existing.map { ($0.currency, $0.invoiceDate, $0.exchangeRate) },
                                                   company: company, mode: caller.mode, executor: store.database)
        _ = try InvoiceStore.bookedLines(lines, receivable: "receivable", taxPayable: "tax", currency: currency, rate: rate,
                                         base: company.baseCurrency)
        return InvoiceStore.Draft(customerId: customer.id, invoiceDate: invoiceDate, dueDate: due,
                                  notes: body.notes ?? existing?.notes, terms: body.terms ?? existing?.terms,
                                  currency: currency, exchangeRate: rate, lines: lines)
    }

    private func load(_ id: String, _ caller: AccountingContext) async throws -> Invoice {
        guard let invoice = try await store.find(id, organizationId: caller.organizationId, mode: caller.mode) else {
            throw AccountingInput.notFound("Invoice")
        }
        return invoice
    }

    private static func id(_ request: Request) throws(AtlasError) -> String {
        guard let id = AccountingInput.uuid(request.pathParameter("id")) else { throw AccountingInput.notFound("Invoice") }
        return id
    }
}
