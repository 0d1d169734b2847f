import Foundation
import Kernel

/// `/accounts`: the chart of accounts (spec B.1, B.2 rules 21–23).
struct AccountHandlers: Sendable {
    static let numberLengthMax = 20
    static let nameLengthMax = 200
    static let subtypeLengthMax = 100
    static let descriptionLengthMax = 1_000

    let store: AccountStore
    let scope: CompanyScope
    let clock: any WallClock

    struct CreateBody: Decodable {
        let company_id: String?
        let account_number: String
        let name: String
        let account_type: String
        let normal_balance: String
        let account_subtype: String?
        let description: String?
        let parent_id: String?
        let is_system: Bool?
    }

    struct UpdateBody: Decodable {
        let name: String?
        let description: String?
        let account_subtype: String?
        let account_number: String?
        let account_type: String?
    }

    func create(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let body = try request.decodeJSON(CreateBody.self)
        try AccountingInput.text(body.account_number, field: "account_number", max: Self.numberLengthMax)
        try AccountingInput.text(body.name, field: "name", max: Self.nameLengthMax)
        guard Account.types.contains(body.account_type) else {
            throw AtlasError.invalidField("account_type", "account_type must be one of \(Account.types.joined(separator: ", "))")
        }
        guard Account.normalBalances.contains(body.normal_balance) else {
            throw AtlasError.invalidField("normal_balance", "normal_balance must be debit or credit")
        }
        try AccountingInput.optionalText(body.account_subtype, field: "account_subtype", max: Self.subtypeLengthMax)
        try AccountingInput.optionalText(body.description, field: "description", max: Self.descriptionLengthMax)
        let company = try await scope.resolve(request, caller, bodyCompanyId: body.company_id)
        var parentId: String?
        if let requested = body.parent_id {
            guard let id = AccountingInput.uuid(requested),
                  try await store.find(id, companyId: company.id, mode: caller.mode) != nil else {
                throw AtlasError.invalidField("parent_id", "parent_id is not an account of this company")
            }
            parentId = id
        }
        let new = AccountStore.NewAccount(number: body.account_number, name: body.name, type: body.account_type,
                                          normalBalance: body.normal_balance, subtype: body.account_subtype,
                                          description: body.description, parentId: parentId, isSystem: body.is_system ?? false)
        switch try await store.create(new, companyId: company.id, mode: caller.mode, now: clock.now()) {
        case .created(let account): return .json(account.json, status: 201)
        case .duplicateNumber:
            throw AtlasError(kind: .conflict, status: 409, code: "DUPLICATE_ACCOUNT_NUMBER",
                             message: "account_number \(body.account_number) already exists in this company",
                             details: ErrorDetails(field: "account_number"))
        }
    }

    func list(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let query = request.queryParameters
        let page = try AccountingPage(query)
        var filter = AccountStore.Filter()
        if let type = query["account_type"] {
            guard Account.types.contains(type) else {
                throw AtlasError.invalidField("account_type", "account_type must be one of \(Account.types.joined(separator: ", "))")
            }
            filter.type = type
        }
        filter.isActive = try ReportHandlers.optionalFlag(query["is_active"], field: "is_active")
        let company = try await scope.resolve(request, caller)
        let (items, total) = try await store.list(companyId: company.id, mode: caller.mode, filter: filter, page: page)
        return .json(page.envelope(items.map(\.json), total: total))
    }

    /// The chart as a tree: top-level accounts with nested `children`, each level in number order.
    func hierarchy(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let company = try await scope.resolve(request, caller)
        let accounts = try await store.all(companyId: company.id, mode: caller.mode)
        let children = Dictionary(grouping: accounts.filter { $0.parentId != nil }, by: { $0.parentId ?? "" })
        func node(_ account: Account, depth: Int) -> JSONValue {
            guard case .object(var object) = account.json else { return account.json }
            // The depth bound guards against a cycle (the database allows none, but a loop must never hang).
            let nested = depth < 32 ? (children[account.id] ?? []).map { node($0, depth: depth + 1) } : []
            object["children"] = .array(nested)
            return .object(object)
        }
        let roots = accounts.filter { $0.parentId == nil }.map { node($0, depth: 0) }
        return .json(["company_id": .string(company.id), "items": .array(roots)])
    }

    func setupChart(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let body = try request.optionalJSONObject()
        let query = request.queryParameters
        for field in ["template_name", "industry", "company_id"] {
            if let value = body[field], value != .null, value.stringValue == nil {
                throw AtlasError.invalidField(field, "\(field) must be a string")
            }
        }
        let standard = body["template_name"]?.stringValue ?? query["template_name"] ?? "us_gaap"
        let industry = body["industry"]?.stringValue ?? query["industry"] ?? "general"
        guard ChartTemplates.standards.contains(standard) else {
            throw AtlasError.invalidField("template_name", "template_name must be one of \(ChartTemplates.standards.joined(separator: ", "))")
        }
        guard let accounts = ChartTemplates.accounts(standard: standard, industry: industry) else {
            throw AtlasError.invalidField("industry", "industry must be one of \(ChartTemplates.industries.joined(separator: ", "))")
        }
        let company = try await scope.resolve(request, caller, bodyCompanyId: body["company_id"]?.stringValue)
        switch try await store.setUpChart(companyId: company.id, standard: standard, industry: industry, accounts: accounts,
                                          now: clock.now()) {
        case .alreadySetUp: throw AccountingInput.conflict("This company already has a chart of accounts")
        case .created(let count):
            let created = try await store.all(companyId: company.id, mode: caller.mode)
            return .json(["company_id": .string(company.id), "template_name": .string(standard), "industry": .string(industry),
                          "accounts_created": .int(Int64(count)), "items": .array(created.map(\.json))], status: 201)
        }
    }

    func get(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        return .json(try await lookup(request, caller).account.json)
    }

    func update(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        var (account, _) = try await lookup(request, caller)
        let body = try request.decodeJSON(UpdateBody.self)
        if let number = body.account_number, number != account.number {
            throw AtlasError.invalidField("account_number", "account_number cannot be changed")
        }
        if let type = body.account_type, type != account.type {
            throw AtlasError.invalidField("account_type", "account_type cannot be changed")
        }
        if let name = body.name {
            try AccountingInput.text(name, field: "name", max: Self.nameLengthMax)
            account.name = name
        }
        if let description = body.description {
            try AccountingInput.optionalText(description, field: "description", max: Self.descriptionLengthMax)
            account.description = description
        }
        if let subtype = body.account_subtype {
            try AccountingInput.optionalText(subtype, field: "account_subtype", max: Self.subtypeLengthMax)
            account.subtype = subtype
        }
        guard let updated = try await store.update(account, mode: caller.mode, now: clock.now()) else {
            throw AccountingInput.notFound("Account")
        }
        return .json(updated.json)
    }

    /// Soft delete (`is_active=false`); refused for system accounts and accounts with a balance (rule 23).
    func delete(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let (account, _) = try await lookup(request, caller)
        guard !account.isSystem else { throw AccountingInput.conflict("System accounts cannot be deleted") }
        let totals = try await store.totals(account.id, companyId: account.companyId, mode: caller.mode, asOf: nil)
        guard totals.debit == totals.credit else {
            throw AccountingInput.conflict("An account with a non-zero balance cannot be deleted")
        }
        try await store.deactivate(account, mode: caller.mode, now: clock.now())
        return Response(status: 204)
    }

    /// `GET /accounts/{id}/balance?as_of_date`: totals and the balance on the account's normal side.
    func balance(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let asOf = try AccountingInput.optionalDate(request.queryParameters["as_of_date"], field: "as_of_date")
            ?? AccountingInput.day(of: clock.now())
        let (account, company) = try await lookup(request, caller)
        let totals = try await store.totals(account.id, companyId: account.companyId, mode: caller.mode, asOf: asOf)
        let balance = account.normalBalance == "debit" ? totals.debit - totals.credit : totals.credit - totals.debit
        let currency = company.baseCurrency
        return .json([
            "account_id": .string(account.id), "account_number": .string(account.number), "account_name": .string(account.name),
            "account_type": .string(account.type), "normal_balance": .string(account.normalBalance),
            "as_of_date": .string(asOf), "currency": .string(currency.code),
            "debit_total": .string(DecimalAmount.format(totals.debit, currency)),
            "credit_total": .string(DecimalAmount.format(totals.credit, currency)),
            "balance": .string(DecimalAmount.format(balance, currency)),
        ])
    }

    private func lookup(_ request: Request, _ caller: AccountingContext) async throws -> (account: Account, company: Company) {
        guard let id = AccountingInput.uuid(request.pathParameter("id")),
              let found = try await store.find(id, organizationId: caller.organizationId, mode: caller.mode) else {
            throw AccountingInput.notFound("Account")
        }
        return found
    }
}
