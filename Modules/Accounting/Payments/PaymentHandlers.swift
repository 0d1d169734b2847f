import Foundation
import Kernel

/// `/payments` (payments received) and `/payments-made` (bill payments): spec B.1, B.2 rules 12–14, one set of
/// handlers parameterised by the store's `PaymentSide`.
struct PaymentHandlers: Sendable {
    static let referenceLengthMax = 100
    static let applicationsMax = 100
    static let reasonLengthMax = 500

    let store: PaymentStore
    let contacts: ContactStore
    let accounts: AccountStore
    let scope: CompanyScope
    let clock: any WallClock

    var side: PaymentSide { store.side }

    /// `{invoice_id | bill_id, amount_applied}` ([S]) or `{…, amount}` (B.4 rule 8).
    struct ApplicationInput: Decodable {
        let invoice_id: String?
        let bill_id: String?
        let amount_applied: AmountText?
        let amount: AmountText?

        func documentId(_ side: PaymentSide) -> String? { side.contactKind == .customer ? invoice_id : bill_id }
    }

    struct CreateBody: Decodable {
        let company_id: String?
        let customer_id: String?
        let vendor_id: String?
        let payment_date: String?
        let amount: AmountText?
        let payment_method: String?
        let deposit_account_id: String?
        let payment_account_id: String?
        let reference_number: String?
        let applications: [ApplicationInput]?
        let ar_account_id: String?
        let ap_account_id: String?
        /// The contact's currency (the default); another is 422.
        let currency: String?
        /// Base-currency units per unit of the payment's currency; default: the rate effective on the payment date.
        let exchange_rate: AmountText?

        func contactId(_ side: PaymentSide) -> String? { side.contactKind == .customer ? customer_id : vendor_id }
        func accountId(_ side: PaymentSide) -> String? { side.contactKind == .customer ? deposit_account_id : payment_account_id }
        func controlId(_ side: PaymentSide) -> String? { side.contactKind == .customer ? ar_account_id : ap_account_id }
    }

    struct ApplyBody: Decodable {
        let applications: [ApplicationInput]?
        let invoice_id: String?
        let bill_id: String?
        let amount_applied: AmountText?
        let amount: AmountText?
    }

    func create(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let body = try request.decodeJSON(CreateBody.self)
        for (value, field) in [(body.contactId(side), side.contactField), (body.payment_date, "payment_date"),
                               (body.payment_method, "payment_method"), (body.accountId(side), side.accountField)] where value == nil {
            throw AtlasError.missingField(field)
        }
        guard let amountText = body.amount else { throw AtlasError.missingField("amount") }
        let company = try await scope.resolve(request, caller, bodyCompanyId: body.company_id)
        let kind = side.contactKind
        guard let contactId = AccountingInput.uuid(body.contactId(side)),
              let contact = try await contacts.find(contactId, kind: kind, organizationId: caller.organizationId, mode: caller.mode),
              contact.companyId == company.id, contact.isActive else {
            throw AtlasError.invalidField(side.contactField, "\(side.contactField) is not an active \(kind.rawValue) of this company")
        }
        let currency = try DocumentCurrency.of(body.currency, contact: contact)
        let date = try AccountingInput.requiredDate(body.payment_date, field: "payment_date")
        let amount = try amountText.positiveMinorUnits(currency, field: "amount")
        guard let method = body.payment_method, side.methods.contains(method) else {
            throw AtlasError.invalidField("payment_method", "payment_method must be one of \(side.methods.joined(separator: ", "))")
        }
        guard let accountId = AccountingInput.uuid(body.accountId(side)),
              let account = try await accounts.find(accountId, companyId: company.id, mode: caller.mode), account.isActive,
              account.type == "asset" else {
            throw AtlasError.invalidField(side.accountField, "\(side.accountField) is not an active asset account of this company")
        }
        try AccountingInput.optionalText(body.reference_number, field: "reference_number", max: Self.referenceLengthMax)
        var control: String?
        if let requested = body.controlId(side) ?? request.queryParameters[side.controlField] {
            guard let controlId = AccountingInput.uuid(requested),
                  let account = try await accounts.find(controlId, companyId: company.id, mode: caller.mode), account.isActive,
                  account.type == side.controlType else {
                throw AtlasError.invalidField(side.controlField,
                                              "\(side.controlField) is not an active \(side.controlType) account of this company")
            }
            control = account.id
        }
        let applications = try Self.applications(body.applications ?? [], side: side, currency: currency)
        let rate = try await DocumentCurrency.rate(currency: currency, explicit: body.exchange_rate, date: date, dateField: "payment_date",
                                                   kept: nil, company: company, mode: caller.mode, executor: store.database)
        let baseAmount = try DocumentExchange.toBase(amount, currency: currency, rate: rate, base: company.baseCurrency, field: "amount")
        guard baseAmount > 0 else {
            throw AtlasError.invalidField("amount", "amount is worth less than one minor unit of \(company.baseCurrency.code)")
        }
        let id = try await store.create(PaymentStore.NewPayment(contactId: contact.id, paymentDate: date, amountMinor: amount,
                                                                currency: currency, exchangeRate: rate, baseAmountMinor: baseAmount,
                                                                method: method, accountId: account.id,
                                                                referenceNumber: body.reference_number, controlAccountId: control),
                                        applications: applications, company: company, mode: caller.mode, userId: caller.userId,
                                        now: clock.now())
        return .json(try await load(id, caller).json, status: 201)
    }

    func list(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let query = request.queryParameters
        let page = try AccountingPage(query)
        let contact = try AccountingInput.optionalUUID(query[side.contactField], field: side.contactField)
        let company = try await scope.resolve(request, caller)
        let (items, total) = try await store.list(companyId: company.id, mode: caller.mode, contactId: contact, page: page)
        return .json(page.envelope(items.map(\.json), total: total))
    }

    func get(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        return .json(try await load(try pathId(request), caller).json)
    }

    func apply(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let (payment, company) = try await paymentAndCompany(request, caller)
        let body = try request.decodeJSON(ApplyBody.self)
        let inputs = body.applications ?? [ApplicationInput(invoice_id: body.invoice_id, bill_id: body.bill_id,
                                                            amount_applied: body.amount_applied, amount: body.amount)]
        let applications = try Self.applications(inputs, side: side, currency: payment.currency)
        try await store.applyLater(applications, auto: false, payment: payment, company: company, mode: caller.mode, userId: caller.userId,
                                   now: clock.now())
        return .json(try await load(payment.id, caller).json)
    }

    func autoApply(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let (payment, company) = try await paymentAndCompany(request, caller)
        try await store.applyLater(nil, auto: true, payment: payment, company: company, mode: caller.mode, userId: caller.userId,
                                   now: clock.now())
        return .json(try await load(payment.id, caller).json)
    }

    func unapply(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let payment = try await load(try pathId(request), caller)
        guard let applicationId = AccountingInput.uuid(request.pathParameter("application_id")),
              try await store.unapply(applicationId, payment: payment, organizationId: caller.organizationId, mode: caller.mode,
                                      userId: caller.userId, now: clock.now()) else {
            throw AccountingInput.notFound("Application")
        }
        return Response(status: 204)
    }

    func void(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let id = try pathId(request)
        let reason = try request.actionReason(lengthMax: Self.reasonLengthMax, fallback: "voided")
        guard try await store.void(id, organizationId: caller.organizationId, mode: caller.mode, reason: reason,
                                   userId: caller.userId, now: clock.now()) else { throw AccountingInput.notFound(side.title) }
        return .json(try await load(id, caller).json)
    }

    // MARK: Helpers

    static func applications(_ inputs: [ApplicationInput], side: PaymentSide,
                             currency: Currency) throws(AtlasError) -> [PaymentStore.Application] {
        guard inputs.count <= applicationsMax else {
            throw AtlasError.invalidField("applications", "At most \(applicationsMax) applications at once")
        }
        var result: [PaymentStore.Application] = []
        for (index, input) in inputs.enumerated() {
            let field = "applications[\(index)]"
            guard let documentId = AccountingInput.uuid(input.documentId(side)) else {
                throw AtlasError.invalidField(field + "." + side.documentField,
                                              "\(field).\(side.documentField) must be \(side.documentArticle) \(side.documentTitle) id")
            }
            guard let amountText = input.amount_applied ?? input.amount else { throw AtlasError.missingField(field + ".amount_applied") }
            let amount = try amountText.positiveMinorUnits(currency, field: field + ".amount_applied")
            result.append(PaymentStore.Application(documentId: documentId, amountMinor: amount, field: field))
        }
        return result
    }

    private func paymentAndCompany(_ request: Request, _ caller: AccountingContext) async throws -> (Payment, Company) {
        let payment = try await load(try pathId(request), caller)
        guard let company = try await scope.store.find(payment.companyId, organizationId: caller.organizationId) else {
            throw AccountingInput.notFound(side.title)
        }
        return (payment, company)
    }

    private func load(_ id: String, _ caller: AccountingContext) async throws -> Payment {
        guard let payment = try await store.find(id, organizationId: caller.organizationId, mode: caller.mode) else {
            throw AccountingInput.notFound(side.title)
        }
        return payment
    }

    private func pathId(_ request: Request) throws(AtlasError) -> String {
        guard let id = AccountingInput.uuid(request.pathParameter("id")) else { throw AccountingInput.notFound(side.title) }
        return id
    }
}
