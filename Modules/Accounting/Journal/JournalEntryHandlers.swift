import Foundation
import Kernel

/// `/journal-entries`: drafts, post, void, correct (spec B.1, B.2 rules 15–20).
struct JournalEntryHandlers: Sendable {
    static let descriptionLengthMax = 500
    static let referenceLengthMax = 100
    static let reasonLengthMax = 500

    let store: JournalStore
    let accounts: AccountStore
    let scope: CompanyScope
    let clock: any WallClock

    struct CreateBody: Decodable {
        let company_id: String?
        let entry_date: String
        let description: String
        let lines: [JournalLineRules.Input]
        let entry_type: String?
        let source_type: String?
        let reference: String?
    }

    struct UpdateBody: Decodable {
        let entry_date: String?
        let description: String?
        let lines: [JournalLineRules.Input]?
        let entry_type: String?
        let reference: String?
    }

    struct CorrectBody: Decodable {
        let reason: String
        let lines: [JournalLineRules.Input]
        let entry_date: String?
        let description: String?
    }

    func create(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let body = try request.decodeJSON(CreateBody.self)
        let entryDate = try AccountingInput.requiredDate(body.entry_date, field: "entry_date")
        try AccountingInput.text(body.description, field: "description", max: Self.descriptionLengthMax)
        try AccountingInput.optionalText(body.reference, field: "reference", max: Self.referenceLengthMax)
        let entryType = try Self.entryType(body.entry_type)
        if let source = body.source_type, !JournalEntry.sourceTypes.contains(source) {
            throw AtlasError.invalidField("source_type", "source_type must be one of \(JournalEntry.sourceTypes.joined(separator: ", "))")
        }
        let company = try await scope.resolve(request, caller, bodyCompanyId: body.company_id)
        let lines = try await validate(body.lines, company: company, mode: caller.mode, date: entryDate)
        let entry = JournalStore.NewEntry(companyId: company.id, mode: caller.mode, status: .draft, entryType: entryType,
                                          sourceType: body.source_type ?? "manual", entryDate: entryDate,
                                          description: body.description, reference: body.reference,
                                          currency: company.baseCurrency, createdBy: caller.userId, lines: lines)
        let id = try await store.createDraft(entry, now: clock.now())
        return .json(try await load(id, caller).json, status: 201)
    }

    func list(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let query = request.queryParameters
        let page = try AccountingPage(query)
        var filter = JournalStore.Filter()
        if let status = query["status"] {
            guard JournalEntryLifecycle.Status(rawValue: status) != nil else {
                throw AtlasError.invalidField("status", "status must be draft, posted or void")
            }
            filter.status = status
        }
        if let type = query["entry_type"] { filter.entryType = try Self.entryType(type) }
        filter.startDate = try AccountingInput.optionalDate(query["start_date"], field: "start_date")
        filter.endDate = try AccountingInput.optionalDate(query["end_date"], field: "end_date")
        let sort: JournalStore.Sort
        if let sortBy = query["sort_by"] {
            guard let parsed = JournalStore.Sort(rawValue: sortBy) else {
                throw AtlasError.invalidField("sort_by", "sort_by must be one of \(JournalStore.Sort.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            sort = parsed
        } else {
            sort = .entryDate
        }
        let order = try ListOrder.parse(query["sort_order"], default: .desc)
        let company = try await scope.resolve(request, caller)
        let (items, total) = try await store.list(companyId: company.id, mode: caller.mode, filter: filter, sort: sort,
                                                  order: order, page: page)
        return .json(page.envelope(items.map(\.json), total: total))
    }

    func get(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        return .json(try await load(try Self.id(request), caller).json)
    }

    func update(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let id = try Self.id(request)
        let existing = try await load(id, caller)
        var lifecycle = JournalEntryLifecycle(status: existing.status)
        _ = try lifecycle.update()
        let body = try request.decodeJSON(UpdateBody.self)
        var changes = JournalStore.DraftChanges()
        changes.entryDate = try AccountingInput.optionalDate(body.entry_date, field: "entry_date")
        if let description = body.description {
            try AccountingInput.text(description, field: "description", max: Self.descriptionLengthMax)
            changes.description = description
        }
        try AccountingInput.optionalText(body.reference, field: "reference", max: Self.referenceLengthMax)
        changes.reference = body.reference
        if let type = body.entry_type { changes.entryType = try Self.entryType(type) }
        if let lines = body.lines {
            guard let company = try await scope.store.find(existing.companyId, organizationId: caller.organizationId) else {
                throw AccountingInput.notFound("Journal entry")
            }
            changes.lines = try await validate(lines, company: company, mode: caller.mode,
                                               date: changes.entryDate ?? existing.entryDate)
        }
        guard try await store.updateDraft(id, organizationId: caller.organizationId, mode: caller.mode, changes: changes,
                                          now: clock.now()) else { throw AccountingInput.notFound("Journal entry") }
        return .json(try await load(id, caller).json)
    }

    func delete(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        guard try await store.deleteDraft(try Self.id(request), organizationId: caller.organizationId, mode: caller.mode) else {
            throw AccountingInput.notFound("Journal entry")
        }
        return Response(status: 204)
    }

    /// `POST …/{id}/post[?posting_date]` (or `{posting_date}` in the body).
    func post(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let id = try Self.id(request)
        let body = try request.optionalJSONObject()
        let postingText = body["posting_date"]?.stringValue ?? request.queryParameters["posting_date"]
        if let value = body["posting_date"], value != .null, value.stringValue == nil {
            throw AtlasError.invalidField("posting_date", "posting_date must be a date YYYY-MM-DD")
        }
        let postingDate = try AccountingInput.optionalDate(postingText, field: "posting_date")
        guard try await store.post(id, organizationId: caller.organizationId, mode: caller.mode, postingDate: postingDate,
                                   userId: caller.userId, clock: clock) else { throw AccountingInput.notFound("Journal entry") }
        return .json(try await load(id, caller).json)
    }

    /// `POST …/{id}/void {reason}`: the original becomes void and a reversing entry is posted.
    func void(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let id = try Self.id(request)
        let reason = try request.actionReason(lengthMax: Self.reasonLengthMax)
        guard try await store.reverse(id, organizationId: caller.organizationId, mode: caller.mode, reason: reason,
                                      correction: nil, userId: caller.userId, clock: clock) != nil else {
            throw AccountingInput.notFound("Journal entry")
        }
        return .json(try await load(id, caller).json)
    }

    /// `POST …/{id}/correct {reason, lines}`: reversal plus a new entry; answers the new entry.
    func correct(_ request: Request, _ caller: AccountingContext) async throws -> Response {
        let id = try Self.id(request)
        let existing = try await load(id, caller)
        var lifecycle = JournalEntryLifecycle(status: existing.status)
        _ = try lifecycle.reverse(reason: "check", clock: clock)
        let body = try request.decodeJSON(CorrectBody.self)
        try AccountingInput.text(body.reason, field: "reason", max: Self.reasonLengthMax)
        let entryDate = try AccountingInput.optionalDate(body.entry_date, field: "entry_date")
        if let description = body.description {
            try AccountingInput.text(description, field: "description", max: Self.descriptionLengthMax)
        }
        guard let company = try await scope.store.find(existing.companyId, organizationId: caller.organizationId) else {
            throw AccountingInput.notFound("Journal entry")
        }
        let lines = try await validate(body.lines, company: company, mode: caller.mode, date: entryDate ?? existing.entryDate)
        let correction = JournalStore.Correction(entryDate: entryDate, description: body.description, lines: lines)
        guard let newId = try await store.reverse(id, organizationId: caller.organizationId, mode: caller.mode, reason: body.reason,
                                                  correction: correction, userId: caller.userId, clock: clock) else {
            throw AccountingInput.notFound("Journal entry")
        }
        return .json(try await load(newId, caller).json)
    }

    // MARK: Helpers

    /// `date`: the entry date, whose exchange rates foreign-currency lines without `exchange_rate` take.
    private func validate(_ inputs: [JournalLineRules.Input], company: Company, mode: Mode, date: String) async throws -> [LedgerLine] {
        let chart = try await accounts.all(companyId: company.id, mode: mode)
        let byId = Dictionary(chart.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let rates = try await ExchangeRateLookup.rates(for: inputs, base: company.baseCurrency, on: date, companyId: company.id,
                                                       mode: mode, executor: accounts.database)
        return try JournalLineRules.validate(inputs, accounts: byId, base: company.baseCurrency, rates: rates)
    }

    private func load(_ id: String, _ caller: AccountingContext) async throws -> JournalEntry {
        guard let entry = try await store.find(id, organizationId: caller.organizationId, mode: caller.mode) else {
            throw AccountingInput.notFound("Journal entry")
        }
        return entry
    }

    private static func id(_ request: Request) throws(AtlasError) -> String {
        guard let id = AccountingInput.uuid(request.pathParameter("id")) else { throw AccountingInput.notFound("Journal entry") }
        return id
    }

    static func entryType(_ text: String?) throws(AtlasError) -> String {
        guard let text else { return "manual" }
        guard JournalEntry.entryTypes.contains(text) else {
            throw AtlasError.invalidField("entry_type", "entry_type must be one of \(JournalEntry.entryTypes.joined(separator: ", "))")
        }
        return text
    }
}
