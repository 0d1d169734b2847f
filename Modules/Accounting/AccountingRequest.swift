import Foundation
import Kernel

/// Who calls the accounting surface: a signed-in user of one organization (Auth's user access tokens,
/// checked by the route's access guard). Every accounting handler takes this context instead of a
/// `RequestContext`: routing derives it once, after the route's middleware and before the handler
/// (`ChildRequestContext`), so no handler checks the caller itself and none can forget to. WHY not
/// `AuthenticatedContext`: this surface needs a *user* with an organization, not just any principal.
/// Everything else reads through as on `RequestContext` (`requestId`, slots such as `idempotency`).
struct AccountingContext: RequestContextReadThrough {
    let userId: String
    let organizationId: String
    /// The user's home merchant: its company is the caller's current company when `company_id` is absent.
    let merchantId: String
    /// Users act on the live ledger only (docs/auth-users.md); kept so every query names its mode.
    let mode: Mode
    /// The context the middleware built, for an API that takes a `RequestContext`.
    var requestContext: RequestContext

    /// 401 "Not authenticated" (in the accounting error body, rendered by the route group) unless the principal
    /// is a user with an organization: behind the accounting access guard only an API key or a token of
    /// another kind that the guard let through could get here.
    init(parent: RequestContext) throws(AtlasError) {
        guard let principal = parent.principal, principal.kind == .user, let organizationId = principal.organizationId else {
            throw AtlasError.unauthorized("Not authenticated")
        }
        userId = principal.id
        self.organizationId = organizationId
        merchantId = principal.tenant.merchantId
        mode = principal.tenant.mode
        requestContext = parent
    }
}

/// Role sets of the accounting surface (spec B.2 rule 27), written out so this module needs no Auth import.
enum AccountingRoles {
    static let all = ["owner", "admin", "accountant", "bookkeeper", "employee", "auditor"]
    /// Everyone may read the books.
    static let read = Set(all)
    /// Reports: everyone but employees.
    static let reports: Set<String> = ["owner", "admin", "accountant", "bookkeeper", "auditor"]
    /// Drafting entries: bookkeeper or above.
    static let bookkeeping: Set<String> = ["owner", "admin", "accountant", "bookkeeper"]
    /// Posting, voiding, correcting, the chart of accounts: accountant or above.
    static let accounting: Set<String> = ["owner", "admin", "accountant"]
    /// Company management: admin or owner.
    static let administration: Set<String> = ["owner", "admin"]
}

/// Ids, dates and field errors shared by every accounting handler.
enum AccountingInput {
    /// Canonical lower-case UUID text, or nil when `text` is not a UUID (such an id names nothing: 404).
    static func uuid(_ text: String?) -> String? {
        guard let text, let uuid = UUID(uuidString: text) else { return nil }
        return uuid.uuidString.lowercased()
    }

    /// Time-ordered (`TimeOrderedUUID`): ledger rows are written in bulk, and their keys then land at the index's right edge.
    static func newId() -> String { TimeOrderedUUID.make() }

    /// An optional id filter (`?customer_id=`): nil when absent, 422 on `field` when it is not a UUID.
    static func optionalUUID(_ text: String?, field: String) throws(AtlasError) -> String? {
        guard let text else { return nil }
        guard let id = uuid(text) else { throw AtlasError.invalidField(field, "\(field) must be a UUID") }
        return id
    }

    /// "2026-01-31" → the same text when it is a real calendar day between 1900 and 2999.
    static func date(_ text: String) -> String? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.utf8.count == 10, parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              (1900...2999).contains(year), (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else {
            return nil
        }
        return text
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// The UTC calendar day of `date` as "YYYY-MM-DD".
    static func day(of date: Date) -> String {
        let days = Int64((date.timeIntervalSince1970 / 86_400).rounded(.down))
        let civil = GregorianDays.civil(daysSinceEpoch: days)
        return GregorianDays.dateText(civil)
    }

    /// The calendar day after `day` ("2026-01-31" → "2026-02-01"); `day` is a valid date.
    static func nextDay(_ day: String) -> String {
        let parts = day.split(separator: "-").compactMap { Int64($0) }
        precondition(parts.count == 3, "nextDay takes a YYYY-MM-DD date")
        // Howard Hinnant's days_from_civil, then one day on.
        let year = parts[1] <= 2 ? parts[0] - 1 : parts[0]
        let era = (year >= 0 ? year : year - 399) / 400
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (parts[1] > 2 ? parts[1] - 3 : parts[1] + 9) + 2) / 5 + parts[2] - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let civil = GregorianDays.civil(daysSinceEpoch: era * 146_097 + dayOfEra - 719_468 + 1)
        return GregorianDays.dateText(civil)
    }

    static func requiredDate(_ value: String?, field: String) throws(AtlasError) -> String {
        guard let value else { throw AtlasError.missingField(field) }
        guard let date = date(value) else { throw invalid(field, "\(field) must be a date YYYY-MM-DD") }
        return date
    }

    static func optionalDate(_ value: String?, field: String) throws(AtlasError) -> String? {
        guard let value else { return nil }
        return try requiredDate(value, field: field)
    }

    static func invalid(_ field: String, _ message: String) -> AtlasError {
        AtlasError.invalidField(field, message)
    }

    /// A required text field of 1…`max` characters (trimmed for the emptiness check).
    static func text(_ value: String, field: String, max: Int) throws(AtlasError) {
        if value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw invalid(field, "\(field) must not be empty")
        }
        if value.count > max { throw invalid(field, "\(field) must be at most \(max) characters") }
    }

    static func optionalText(_ value: String?, field: String, max: Int) throws(AtlasError) {
        if let value, value.count > max { throw invalid(field, "\(field) must be at most \(max) characters") }
    }

    /// 409 for a state the request cannot act on (a posted entry edited, a second post).
    static func conflict(_ message: String) -> AtlasError {
        AtlasError.conflict(code: "CONFLICT", message)
    }

    static func notFound(_ what: String) -> AtlasError { AtlasError.notFound("\(what) not found") }
}

/// `page`/`page_size` ([G]) or `limit`/`offset` ([S], which win when present), and the list envelope
/// `{items, total, page, page_size, has_next}` (plus `has_more`, [S]'s name for `has_next`).
struct AccountingPage: Sendable, Hashable {
    static let pageSizeDefault = 20
    static let pageSizeMax = 100
    static let limitDefault = 100
    static let limitMax = 500

    let offset: Int
    let limit: Int
    let page: Int
    let pageSize: Int

    init(_ query: [String: String]) throws(AtlasError) {
        if query["limit"] != nil || query["offset"] != nil {
            let limit = try Self.integer(query["limit"], field: "limit", default: Self.limitDefault, range: 1...Self.limitMax)
            let offset = try Self.integer(query["offset"], field: "offset", default: 0, range: 0...10_000_000)
            self.limit = limit
            self.offset = offset
            pageSize = limit
            page = offset / limit + 1
        } else {
            let page = try Self.integer(query["page"], field: "page", default: 1, range: 1...1_000_000)
            let pageSize = try Self.integer(query["page_size"], field: "page_size", default: Self.pageSizeDefault,
                                            range: 1...Self.pageSizeMax)
            self.page = page
            self.pageSize = pageSize
            limit = pageSize
            offset = (page - 1) * pageSize
        }
    }

    private static func integer(_ text: String?, field: String, default fallback: Int, range: ClosedRange<Int>)
        throws(AtlasError) -> Int {
        guard let text else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw AtlasError.invalidField(field, "\(field) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    func envelope(_ items: [JSONValue], total: Int) -> JSONValue {
        let hasNext = offset + items.count < total
        return ["items": .array(items), "total": .int(Int64(total)), "page": .int(Int64(page)),
                "page_size": .int(Int64(pageSize)), "has_next": .bool(hasNext), "has_more": .bool(hasNext)]
    }
}

/// `sort_order=asc|desc` (default `fallback`).
enum ListOrder: String {
    case asc
    case desc

    static func parse(_ text: String?, default fallback: ListOrder) throws(AtlasError) -> ListOrder {
        guard let text else { return fallback }
        guard let order = ListOrder(rawValue: text) else {
            throw AtlasError.invalidField("sort_order", "sort_order must be asc or desc")
        }
        return order
    }
}

extension Request {
    /// The JSON body of an action endpoint whose body is optional (spec B.4 rule 5): empty, `{}`, or fields.
    func optionalJSONObject() throws(AtlasError) -> [String: JSONValue] {
        guard !body.isEmpty else { return [:] }
        guard case .object(let object) = try decodeJSON(JSONValue.self) else {
            throw AtlasError.malformedBody("Request body must be a JSON object")
        }
        return object
    }
}

extension Request {
    /// The `reason` of a void or reopen: in the JSON body or the query (spec B.4 rule 5), 1…`lengthMax`;
    /// required unless a `fallback` is given (a payment's void documents no reason).
    func actionReason(lengthMax: Int, fallback: String? = nil) throws(AtlasError) -> String {
        let body = try optionalJSONObject()
        if let value = body["reason"], value != .null, value.stringValue == nil {
            throw AtlasError.invalidField("reason", "reason must be a string")
        }
        guard let reason = body["reason"]?.stringValue ?? queryParameters["reason"] ?? fallback else {
            throw AtlasError.missingField("reason")
        }
        try AccountingInput.text(reason, field: "reason", max: lengthMax)
        return reason
    }
}

extension JSONValue {
    static func text(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
    static func timestamp(_ value: Date?) -> JSONValue { value.map { .string(Timestamp.iso8601($0)) } ?? .null }
}
