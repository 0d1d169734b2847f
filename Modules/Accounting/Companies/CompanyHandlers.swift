import Foundation
import Kernel

/// `/companies`: create (admin or owner), list, get, update, hard delete (spec B.1).
struct CompanyHandlers: Sendable {
    static let nameLengthMax = 200
    static let addressFieldLengthMax = 200
    static let methods = ["accrual", "cash"]

    let store: CompanyStore
    let clock: any WallClock

    struct CreateBody: Decodable {
        let name: String
        let fiscal_year_start_date: String
        let base_currency: String?
        let accounting_method: String?
        let address_line1: String?
        let address_line2: String?
        let city: String?
        let state: String?
        let postal_code: String?
        let country: String?

        var address: [String: String] {
            var fields: [String: String] = [:]
            for (key, value) in [("address_line1", address_line1), ("address_line2", address_line2), ("city", city),
                                 ("state", state), ("postal_code", postal_code), ("country", country)] {
                if let value { fields[key] = value }
            }
            return fields
        }
    }

    struct UpdateBody: Decodable {
        let name: String?
        let fiscal_year_start_date: String?
        let base_currency: String?
        let accounting_method: String?
        let address_line1: String?
        let address_line2: String?
        let city: String?
        let state: String?
        let postal_code: String?
        let country: String?
    }

    var today: String { AccountingInput.day(of: clock.now()) }

    func create(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let body = try request.decodeJSON(CreateBody.self)
        try AccountingInput.text(body.name, field: "name", max: Self.nameLengthMax)
        let start = try AccountingInput.requiredDate(body.fiscal_year_start_date, field: "fiscal_year_start_date")
        let currency = try Self.currency(body.base_currency ?? "USD")
        let method = try Self.method(body.accounting_method ?? "accrual")
        let address = body.address
        for (field, value) in address { try AccountingInput.optionalText(value, field: field, max: Self.addressFieldLengthMax) }
        let company = try await store.create(id: AccountingInput.newId(), organizationId: caller.organizationId,
                                             merchantId: caller.merchantId, name: body.name, baseCurrency: currency,
                                             fiscalYearStartDate: start, accountingMethod: method, address: address,
                                             now: clock.now())
        return .json(company.json(today: today), status: 201)
    }

    func list(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let page = try AccountingPage(request.queryParameters)
        let (items, total) = try await store.list(organizationId: caller.organizationId, page: page)
        let day = today
        return .json(page.envelope(items.map { $0.json(today: day) }, total: total))
    }

    func get(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        return .json(try await company(request, caller).json(today: today))
    }

    func update(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        var company = try await company(request, caller)
        let body = try request.decodeJSON(UpdateBody.self)
        if let name = body.name {
            try AccountingInput.text(name, field: "name", max: Self.nameLengthMax)
            company.name = name
        }
        if let start = body.fiscal_year_start_date {
            company.fiscalYearStartDate = try AccountingInput.requiredDate(start, field: "fiscal_year_start_date")
        }
        if let code = body.base_currency, code != company.baseCurrency.code {
            _ = try Self.currency(code)
            throw AtlasError.invalidField("base_currency", "base_currency cannot be changed once the company exists")
        }
        if let method = body.accounting_method { company.accountingMethod = try Self.method(method) }
        for (field, value) in [("address_line1", body.address_line1), ("address_line2", body.address_line2),
                               ("city", body.city), ("state", body.state), ("postal_code", body.postal_code),
                               ("country", body.country)] {
            guard let value else { continue }
            try AccountingInput.optionalText(value, field: field, max: Self.addressFieldLengthMax)
            company.address[field] = value
        }
        guard let updated = try await store.update(company, now: clock.now()) else { throw AccountingInput.notFound("Company") }
        return .json(updated.json(today: today))
    }

    /// SQLSTATE 23503: a row elsewhere still references the one being deleted.
    static let foreignKeyViolation = "23503"

    func delete(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        guard let id = AccountingInput.uuid(request.pathParameter("id")) else { throw AccountingInput.notFound("Company") }
        let outcome: CompanyStore.DeleteOutcome
        do {
            outcome = try await store.delete(id, organizationId: caller.organizationId)
        } catch let error as DatabaseError where error.sqlState == Self.foreignKeyViolation {
            // Customers, vendors, documents, currencies or periods still name the company (schemathesis found a 500).
            throw AccountingInput.conflict("A company with customers, vendors, documents or periods cannot be deleted")
        }
        switch outcome {
        case .deleted: return Response(status: 204)
        case .notFound: throw AccountingInput.notFound("Company")
        case .hasPostedEntries:
            throw AccountingInput.conflict("A company with posted journal entries cannot be deleted")
        }
    }

    private func company(_ request: Request, _ caller: AccountingContext) async throws -> Company {
        guard let id = AccountingInput.uuid(request.pathParameter("id")),
              let company = try await store.find(id, organizationId: caller.organizationId) else {
            throw AccountingInput.notFound("Company")
        }
        return company
    }

    static func currency(_ code: String) throws(AtlasError) -> Currency {
        guard let currency = Currency(code: code) else {
            throw AtlasError.invalidField("base_currency", "base_currency must be an ISO 4217 code such as USD")
        }
        return currency
    }

    static func method(_ text: String) throws(AtlasError) -> String {
        guard methods.contains(text) else {
            throw AtlasError.invalidField("accounting_method", "accounting_method must be accrual or cash")
        }
        return text
    }
}

/// The company a company-scoped request acts on: `?company_id=` (spec B.4 rule 6) or the caller's current
/// company. Another organization's company, or an id that is not a UUID, is 404.
struct CompanyScope: Sendable {
    let store: CompanyStore

    func resolve(_ request: Request, _ caller: AccountingContext, bodyCompanyId: String? = nil) async throws -> Company {
        if let requested = request.queryParameters["company_id"] ?? bodyCompanyId {
            guard let id = AccountingInput.uuid(requested),
                  let company = try await store.find(id, organizationId: caller.organizationId) else {
                throw AccountingInput.notFound("Company")
            }
            return company
        }
        guard let company = try await store.current(organizationId: caller.organizationId, merchantId: caller.merchantId) else {
            throw AccountingInput.notFound("Company")
        }
        return company
    }
}
