import Foundation
import Kernel

/// `/customers` and `/vendors` (spec B.1): create, list, get, update, activate/deactivate, balance.
struct ContactHandlers: Sendable {
    static let displayNameLengthMax = 200
    static let emailLengthMax = 254
    static let addressBytesMax = 2_000

    let kind: ContactKind
    let store: ContactStore
    let accounts: AccountStore
    let scope: CompanyScope
    let clock: any WallClock

    /// One body for create and update: every field optional here, `display_name` required on create.
    struct Body: Decodable {
        let company_id: String?
        let display_name: String?
        let email: String?
        let currency: String?
        let payment_terms: String?
        let credit_limit: AmountText?
        let default_expense_account_id: String?
        let billing_address: JSONValue?
    }

    func create(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let body = try request.decodeJSON(Body.self)
        guard body.display_name != nil else { throw AtlasError.missingField("display_name") }
        let company = try await scope.resolve(request, caller, bodyCompanyId: body.company_id)
        var contact = Contact(id: AccountingInput.newId(), companyId: company.id, kind: kind, currency: company.baseCurrency,
                              now: clock.now())
        try await apply(body, to: &contact, mode: caller.mode)
        return .json(try await store.create(contact, mode: caller.mode).json, status: 201)
    }

    func list(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let query = request.queryParameters
        let page = try AccountingPage(query)
        let active = try ReportHandlers.optionalFlag(query["is_active"], field: "is_active")
        let company = try await scope.resolve(request, caller)
        let (items, total) = try await store.list(companyId: company.id, kind: kind, mode: caller.mode, isActive: active, page: page)
        return .json(page.envelope(items.map(\.json), total: total))
    }

    func get(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        .json(try await lookup(request, caller).json)
    }

    func update(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        var contact = try await lookup(request, caller)
        try await apply(try request.decodeJSON(Body.self), to: &contact, mode: caller.mode)
        guard let updated = try await store.update(contact, mode: caller.mode) else { throw AccountingInput.notFound(kind.title) }
        return .json(try await store.withBalances([updated], kind: kind)[0].json)
    }

    /// `POST …/{id}/activate` and `…/deactivate`.
    func setActive(_ active: Bool) -> ChildHandler<AccountingContext> {
        { request, caller in
            var contact = try await lookup(request, caller)
            contact.isActive = active
            contact.updatedAt = clock.now()
            guard let updated = try await store.update(contact, mode: caller.mode) else { throw AccountingInput.notFound(kind.title) }
            return .json(try await store.withBalances([updated], kind: kind)[0].json)
        }
    }

    /// Open documents arrive with invoices and bills; until then nothing is open.
    func balance(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let contact = try await lookup(request, caller)
        func money(_ minor: Int64) -> JSONValue { .string(DecimalAmount.format(minor, contact.currency)) }
        return .json([
            "\(kind.rawValue)_id": .string(contact.id), "currency": .string(contact.currency.code),
            "current_balance": money(contact.balanceMinor),
            kind == .customer ? "open_invoices_count" : "open_bills_count": .int(Int64(contact.openCount)),
            "total_open_amount": money(contact.openMinor), "unapplied_payments": money(contact.unappliedMinor),
        ])
    }

    // MARK: Helpers

    private func apply(_ body: Body, to contact: inout Contact, mode: Mode) async throws {
        if let name = body.display_name {
            try AccountingInput.text(name, field: "display_name", max: Self.displayNameLengthMax)
            contact.displayName = name
        }
        if let email = body.email {
            guard email.count <= Self.emailLengthMax, email.contains("@") else {
                throw AtlasError.invalidField("email", "email must be an address of at most \(Self.emailLengthMax) characters")
            }
            contact.email = email
        }
        if let code = body.currency {
            guard let currency = Currency(code: code) else {
                throw AtlasError.invalidField("currency", "currency must be an ISO 4217 code such as USD")
            }
            contact.currency = currency
        }
        if let terms = body.payment_terms {
            guard Contact.paymentTerms.contains(terms) else {
                throw AtlasError.invalidField("payment_terms", "payment_terms must be one of \(Contact.paymentTerms.joined(separator: ", "))")
            }
            contact.paymentTerms = terms
        }
        if let limit = body.credit_limit {
            guard kind == .customer else { throw AtlasError.invalidField("credit_limit", "Only customers have a credit limit") }
            let minor = try limit.minorUnits(contact.currency, field: "credit_limit")
            guard minor >= 0 else { throw AtlasError.invalidField("credit_limit", "credit_limit must be 0 or more") }
            contact.creditLimitMinor = minor
        }
        if let accountText = body.default_expense_account_id {
            guard kind == .vendor else {
                throw AtlasError.invalidField("default_expense_account_id", "Only vendors have a default expense account")
            }
            guard let accountId = AccountingInput.uuid(accountText),
                  let account = try await accounts.find(accountId, companyId: contact.companyId, mode: mode), account.isActive else {
                throw AtlasError.invalidField("default_expense_account_id", "default_expense_account_id is not an active account of this company")
            }
            contact.defaultExpenseAccountId = account.id
        }
        if let address = body.billing_address, address != .null {
            guard case .object = address, address.serialized().count <= Self.addressBytesMax else {
                throw AtlasError.invalidField("billing_address", "billing_address must be an object of at most \(Self.addressBytesMax) bytes")
            }
            contact.billingAddress = address
        }
        contact.updatedAt = clock.now()
    }

    private func lookup(_ request: Request, _ caller: AccountingContext) async throws -> Contact {
        guard let id = AccountingInput.uuid(request.pathParameter("id")),
              let contact = try await store.find(id, kind: kind, organizationId: caller.organizationId, mode: caller.mode) else {
            throw AccountingInput.notFound(kind.title)
        }
        return contact
    }
}

extension Contact {
    /// A new contact with the documented defaults: the company's base currency, net_30, active.
    init(id: String, companyId: String, kind: ContactKind, currency: Currency, now: Date) {
        self.id = id
        self.companyId = companyId
        self.kind = kind
        number = ""
        displayName = ""
        email = nil
        self.currency = currency
        paymentTerms = "net_30"
        creditLimitMinor = nil
        defaultExpenseAccountId = nil
        billingAddress = [:]
        isActive = true
        createdAt = now
        updatedAt = now
    }
}
