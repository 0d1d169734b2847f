import Foundation
import Kernel

/// `/payments` (payments received; spec B.1, B.2 rules 12–14).
struct PaymentHandlers: Sendable {
    static let referenceLengthMax = 100
    static let applicationsMax = 100
    static let reasonLengthMax = 500

    let store: PaymentStore
    let contacts: ContactStore
    let accounts: AccountStore
    let scope: CompanyScope
    let clock: any WallClock

    /// `{invoice_id, amount_applied}` ([S]) or `{invoice_id, amount}` (B.4 rule 8).
    struct ApplicationInput: Decodable {
        let invoice_id: String?
        let amount_applied: AmountText?
        let amount: AmountText?
    }

    struct CreateBody: Decodable {
        let company_id: String?
        let customer_id: String?
        let payment_date: String?
        let amount: AmountText?
        let payment_method: String?
        let deposit_account_id: String?
        let reference_number: String?
        let applications: [ApplicationInput]?
    }

    struct ApplyBody: Decodable {
        let applications: [ApplicationInput]?
        let invoice_id: String?
        let amount_applied: AmountText?
        let amount: AmountText?
    }

    func create(_ request: Request, _ context: RequestContext) async throws -> Response {
        let caller = try AccountingCaller(context)
        let body = try request.decodeJSON(CreateBody.self)
        for (value, field) in [(body.customer_id, "customer_id"), (body.payment_date, "payment_date"),
                               (body.payment_method, "payment_method"), (body.deposit_account_id, "deposit_account_id")] where value == nil {
            throw AtlasError.missingField(field)
        }
        guard let amountText = body.amount else { throw AtlasError.missingField("amount") }
        let company = try await scope.resolve(request, caller, bodyCompanyId: body.company_id)
        guard let customerId = AccountingInput.uuid(body.customer_id),
              let customer = try await contacts.find(customerId, kind: .customer, organizationId: caller.organizationId, mode: caller.mode),
              customer.companyId == company.id, customer.isActive, customer.currency == company.baseCurrency else {
            throw AtlasError.invalidField("customer_id", "customer_id is not an active customer of this company in its base currency")
        }
        let date = try AccountingInput.requiredDate(body.payment_date, field: "payment_date")
        let amount = try amountText.positiveMinorUnits(company.baseCurrency, field: "amount")
        guard let method = body.payment_method, Payment.methods.contains(method) else {
            throw AtlasError.invalidField("payment_method", "payment_method must be one of \(Payment.methods.joined(separator: ", "))")
        }
        guard let depositId = AccountingInput.uuid(body.deposit_account_id),
              let deposit = try await accounts.find(depositId, companyId: company.id, mode: caller.mode), deposit.isActive,
              deposit.type == "asset" else {
            throw AtlasError.invalidField("deposit_account_id", "deposit_account_id is not an active asset account of this company")
        }
        try AccountingInput.optionalText(body.reference_number, field: "reference_number", max: Self.referenceLengthMax)
        let applications = try Self.applications(body.applications ?? [], currency: company.baseCurrency)
        let id = try await store.create(PaymentStore.NewPayment(customerId: customer.id, paymentDate: date, amountMinor: amount,
                                                                method: method, depositAccountId: deposit.id,
                                                                referenceNumber: body.reference_number),
                                        applications: applications, company: company, mode: caller.mode, userId: caller.userId,
                                        now: clock.now())
        return .json(try await load(id, caller).json, status: 201)
    }

    func list(_ request: Request, _ context: RequestContext) async throws -> Response {
        let caller = try AccountingCaller(context)
        let query = request.queryParameters
        let page = try AccountingPage(query)
        let customer = try query["customer_id"].map { text throws(AtlasError) -> String in
            guard let id = AccountingInput.uuid(text) else { throw AtlasError.invalidField("customer_id", "customer_id must be a UUID") }
            return id
        }
        let company = try await scope.resolve(request, caller)
        let (items, total) = try await store.list(companyId: company.id, mode: caller.mode, customerId: customer, page: page)
        return .json(page.envelope(items.map(\.json), total: total))
    }

    func get(_ request: Request, _ context: RequestContext) async throws -> Response {
        let caller = try AccountingCaller(context)
        return .json(try await load(try Self.id(request), caller).json)
    }

    func apply(_ request: Request, _ context: RequestContext) async throws -> Response {
        let caller = try AccountingCaller(context)
        let (payment, company) = try await paymentAndCompany(request, caller)
        let body = try request.decodeJSON(ApplyBody.self)
        let inputs = body.applications ?? [ApplicationInput(invoice_id: body.invoice_id, amount_applied: body.amount_applied,
                                                            amount: body.amount)]
        let applications = try Self.applications(inputs, currency: company.baseCurrency)
        try await store.applyLater(applications, auto: false, paymentId: payment.id, company: company, mode: caller.mode, now: clock.now())
        return .json(try await load(payment.id, caller).json)
    }

    func autoApply(_ request: Request, _ context: RequestContext) async throws -> Response {
        let caller = try AccountingCaller(context)
        let (payment, company) = try await paymentAndCompany(request, caller)
        try await store.applyLater(nil, auto: true, paymentId: payment.id, company: company, mode: caller.mode, now: clock.now())
        return .json(try await load(payment.id, caller).json)
    }

    func unapply(_ request: Request, _ context: RequestContext) async throws -> Response {
        let caller = try AccountingCaller(context)
        let (payment, company) = try await paymentAndCompany(request, caller)
        guard let applicationId = AccountingInput.uuid(request.pathParameter("application_id")),
              try await store.unapply(applicationId, paymentId: payment.id, company: company, mode: caller.mode, now: clock.now()) else {
            throw AccountingInput.notFound("Application")
        }
        return Response(status: 204)
    }

    func void(_ request: Request, _ context: RequestContext) async throws -> Response {
        let caller = try AccountingCaller(context)
        let id = try Self.id(request)
        let reason = try request.actionReason(lengthMax: Self.reasonLengthMax, fallback: "voided")
        guard try await store.void(id, organizationId: caller.organizationId, mode: caller.mode, reason: reason,
                                   userId: caller.userId, now: clock.now()) else { throw AccountingInput.notFound("Payment") }
        return .json(try await load(id, caller).json)
    }

    // MARK: Helpers

    static func applications(_ inputs: [ApplicationInput], currency: Currency) throws(AtlasError) -> [PaymentStore.Application] {
        guard inputs.count <= applicationsMax else {
            throw AtlasError.invalidField("applications", "At most \(applicationsMax) applications at once")
        }
        var result: [PaymentStore.Application] = []
        for (index, input) in inputs.enumerated() {
            let field = "applications[\(index)]"
            guard let invoiceId = AccountingInput.uuid(input.invoice_id) else {
                throw AtlasError.invalidField(field + ".invoice_id", "\(field).invoice_id must be an invoice id")
            }
            guard let amountText = input.amount_applied ?? input.amount else { throw AtlasError.missingField(field + ".amount_applied") }
            let amount = try amountText.positiveMinorUnits(currency, field: field + ".amount_applied")
            result.append(PaymentStore.Application(invoiceId: invoiceId, amountMinor: amount, field: field))
        }
        return result
    }

    private func paymentAndCompany(_ request: Request, _ caller: AccountingCaller) async throws -> (Payment, Company) {
        let payment = try await load(try Self.id(request), caller)
        guard let company = try await scope.store.find(payment.companyId, organizationId: caller.organizationId) else {
            throw AccountingInput.notFound("Payment")
        }
        return (payment, company)
    }

    private func load(_ id: String, _ caller: AccountingCaller) async throws -> Payment {
        guard let payment = try await store.find(id, organizationId: caller.organizationId, mode: caller.mode) else {
            throw AccountingInput.notFound("Payment")
        }
        return payment
    }

    private static func id(_ request: Request) throws(AtlasError) -> String {
        guard let id = AccountingInput.uuid(request.pathParameter("id")) else { throw AccountingInput.notFound("Payment") }
        return id
    }
}
