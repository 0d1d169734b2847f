import Foundation
import Kernel

/// `/bills` (spec B.1, B.2 rules 8–11): draft, update (drafts only), approve `{ap_account_id}`, void.
struct BillHandlers: Sendable {
    static let vendorBillNumberLengthMax = 50
    static let reasonLengthMax = 500

    let store: BillStore
    let contacts: ContactStore
    let accounts: AccountStore
    let scope: CompanyScope
    let clock: any WallClock

    /// One body for create and update; on create `vendor_id`, `bill_date` and `lines` are required.
    struct Body: Decodable {
        let company_id: String?
        let vendor_id: String?
        let bill_date: String?
        let due_date: String?
        let vendor_bill_number: String?
        let lines: [InvoiceMath.Input]?
        /// The vendor's currency (the default); another is 422.
        let currency: String?
        /// Base-currency units per unit of the bill's currency; default: the rate effective on the bill date.
        let exchange_rate: AmountText?
    }

    func create(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let body = try request.decodeJSON(Body.self)
        for (value, field) in [(body.vendor_id, "vendor_id"), (body.bill_date, "bill_date")] where value == nil {
            throw AtlasError.missingField(field)
        }
        guard body.lines != nil else { throw AtlasError.missingField("lines") }
        let company = try await scope.resolve(request, caller, bodyCompanyId: body.company_id)
        let draft = try await draft(body, existing: nil, company: company, caller: caller)
        guard let id = try await store.save(draft, existing: nil, company: company, mode: caller.mode, userId: caller.userId,
                                            now: clock.now()) else { throw AccountingInput.notFound("Bill") }
        return .json(try await load(id, caller).json, status: 201)
    }

    func list(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let query = request.queryParameters
        let page = try AccountingPage(query)
        if let status = query["status"], BillLifecycle.Status(rawValue: status) == nil {
            throw AtlasError.invalidField("status", "status must be one of \(BillLifecycle.Status.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let vendor = try AccountingInput.optionalUUID(query["vendor_id"], field: "vendor_id")
        let company = try await scope.resolve(request, caller)
        let (items, total) = try await store.list(companyId: company.id, mode: caller.mode, status: query["status"], vendorId: vendor,
                                                  page: page)
        return .json(page.envelope(items.map(\.json), total: total))
    }

    func get(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        return .json(try await load(try Self.id(request), caller).json)
    }

    func update(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let (existing, company) = try await billAndCompany(request, caller)
        var lifecycle = BillLifecycle(status: existing.status, amountPaidMinor: existing.amountPaidMinor)
        try lifecycle.update()
        let draft = try await draft(try request.decodeJSON(Body.self), existing: existing, company: company, caller: caller)
        guard try await store.save(draft, existing: existing.id, company: company, mode: caller.mode, userId: caller.userId,
                                   now: clock.now()) != nil else { throw AccountingInput.notFound("Bill") }
        return .json(try await load(existing.id, caller).json)
    }

    /// `POST …/{id}/approve {ap_account_id}` (or `?ap_account_id=`): required (B.3 B27).
    func approve(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let (bill, company) = try await billAndCompany(request, caller)
        let body = try request.optionalJSONObject()
        if let value = body["ap_account_id"], value != .null, value.stringValue == nil {
            throw AtlasError.invalidField("ap_account_id", "ap_account_id must be a UUID")
        }
        guard let requested = body["ap_account_id"]?.stringValue ?? request.queryParameters["ap_account_id"] else {
            throw AtlasError.missingField("ap_account_id")
        }
        guard let payableId = AccountingInput.uuid(requested),
              let payable = try await accounts.find(payableId, companyId: company.id, mode: caller.mode), payable.isActive,
              payable.type == "liability" else {
            throw AtlasError.invalidField("ap_account_id", "ap_account_id is not an active liability account of this company")
        }
        guard try await store.approve(bill.id, company: company, mode: caller.mode, payable: payable.id, userId: caller.userId,
                                      now: clock.now()) else { throw AccountingInput.notFound("Bill") }
        return .json(try await load(bill.id, caller).json)
    }

    func void(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let id = try Self.id(request)
        let reason = try request.actionReason(lengthMax: Self.reasonLengthMax)
        guard try await store.void(id, organizationId: caller.organizationId, mode: caller.mode, reason: reason,
                                   userId: caller.userId, now: clock.now()) else { throw AccountingInput.notFound("Bill") }
        return .json(try await load(id, caller).json)
    }

    // MARK: Helpers

    private func draft(_ body: Body, existing: Bill?, company: Company, caller: AccountingContext) async throws -> BillStore.Draft {
        guard let vendorId = AccountingInput.uuid(body.vendor_id ?? existing?.vendorId),
              let vendor = try await contacts.find(vendorId, kind: .vendor, organizationId: caller.organizationId, mode: caller.mode),
              vendor.companyId == company.id, vendor.isActive else {
            throw AtlasError.invalidField("vendor_id", "vendor_id is not an active vendor of this company")
        }
        let currency = try DocumentCurrency.of(body.currency, contact: vendor)
        let billDate = try AccountingInput.requiredDate(body.bill_date ?? existing?.billDate, field: "bill_date")
        let given = try AccountingInput.optionalDate(body.due_date, field: "due_date")
        let keep = body.bill_date == nil && body.vendor_id == nil ? existing?.dueDate : nil
        let due = given ?? keep ?? InvoiceMath.dueDate(invoiceDate: billDate, paymentTerms: vendor.paymentTerms)
        guard due >= billDate else { throw AtlasError.invalidField("due_date", "due_date must not be before bill_date") }
        try AccountingInput.optionalText(body.vendor_bill_number, field: "vendor_bill_number", max: Self.vendorBillNumberLengthMax)
        var lines = existing?.lines ?? []
        if let inputs = body.lines {
            let chart = try await accounts.all(companyId: company.id, mode: caller.mode)
            lines = try InvoiceMath.lines(inputs, accounts: Dictionary(chart.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first }),
                                          currency: currency,
                                          account: .expense(defaultAccountId: vendor.defaultExpenseAccountId))
        } else if let existing, existing.currency != currency {
            throw AtlasError.invalidField("lines", "lines are required when the currency changes")
        }
        let rate = try await DocumentCurrency.rate(currency: currency, explicit: body.exchange_rate, date: billDate, dateField: "bill_date",
                                                   kept: existing.map { ($0.currency, $0.billDate, $0.exchangeRate) },
                                                   company: company, mode: caller.mode, executor: store.database)
        _ = try BillLifecycle.bookedLines(lines, payable: "payable", currency: currency, rate: rate, base: company.baseCurrency)
        return BillStore.Draft(vendorId: vendor.id, vendorBillNumber: body.vendor_bill_number ?? existing?.vendorBillNumber,
                               billDate: billDate, dueDate: due, currency: currency, exchangeRate: rate, lines: lines)
    }

    private func billAndCompany(_ request: Request, _ caller: AccountingContext) async throws -> (Bill, Company) {
        let bill = try await load(try Self.id(request), caller)
        guard let company = try await scope.store.find(bill.companyId, organizationId: caller.organizationId) else {
            throw AccountingInput.notFound("Bill")
        }
        return (bill, company)
    }

    private func load(_ id: String, _ caller: AccountingContext) async throws -> Bill {
        guard let bill = try await store.find(id, organizationId: caller.organizationId, mode: caller.mode) else {
            throw AccountingInput.notFound("Bill")
        }
        return bill
    }

    private static func id(_ request: Request) throws(AtlasError) -> String {
        guard let id = AccountingInput.uuid(request.pathParameter("id")) else { throw AccountingInput.notFound("Bill") }
        return id
    }
}
