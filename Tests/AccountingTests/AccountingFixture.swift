import AtlasTestSupport
import Auth
import Foundation
import Kernel
import Postgres
import Synchronization

/// The whole app (AppHarness: every module, a fresh database, a manual clock) with an owner signed in
/// through `POST /api/v1/auth/login`, on the Enterprise tier, and a request helper that moves the clock a
/// little per request so the per-user rate limit never answers 429 in a test that is not about it.
struct AccountingFixture {
    let harness: AppHarness
    let owner: String

    var client: InProcessClient { harness.client }
    var database: PostgresDatabase { harness.database }

    static func make() async throws -> AccountingFixture {
        let harness = try await AppHarness.make()
        try await harness.auth.setOrganizationSettings(organizationId: harness.organizationId, tier: .enterprise)
        let owner = try await harness.userTokens(role: .owner).access
        return AccountingFixture(harness: harness, owner: owner)
    }

    func token(_ role: UserRole) async throws -> String { try await harness.userTokens(role: role).access }

    func send(_ method: HTTPMethod, _ path: String, _ body: JSONValue? = nil, token: String? = nil,
              advance: Bool = true) async -> Response {
        if advance { harness.clock.advance(seconds: 0.1) }
        var headers = HTTPHeaders()
        headers.add("Authorization", "Bearer " + (token ?? owner))
        if let body { return await client.send(method, path, headers: headers, json: body) }
        return await client.send(method, path, headers: headers)
    }

    /// A company (USD, calendar fiscal year) with the us_gaap/retail chart; returns its id.
    func company(name: String = "Books Co", token: String? = nil) async throws -> String {
        let created = await send(.post, "/api/v1/companies/", ["name": .string(name), "fiscal_year_start_date": "2026-01-01"],
                                 token: token)
        guard created.status == 201, let id = created.json["id"]?.stringValue else {
            throw HarnessError("company create failed: \(created.status) \(created.bodyText)")
        }
        let chart = await send(.post, "/api/v1/accounts/setup-coa?company_id=\(id)",
                               ["template_name": "us_gaap", "industry": "retail"], token: token)
        guard chart.status == 201 else { throw HarnessError("setup-coa failed: \(chart.status) \(chart.bodyText)") }
        return id
    }

    /// Account number → id in the company's live ledger.
    func accounts(_ companyId: String, token: String? = nil) async throws -> [String: String] {
        let response = await send(.get, "/api/v1/accounts/?company_id=\(companyId)&limit=500", token: token)
        guard response.status == 200, case .array(let items)? = response.json["items"] else {
            throw HarnessError("account list failed: \(response.status) \(response.bodyText)")
        }
        var result: [String: String] = [:]
        for item in items {
            if let number = item["account_number"]?.stringValue, let id = item["id"]?.stringValue { result[number] = id }
        }
        return result
    }

    static func line(_ accountId: String, _ side: String, _ amount: JSONValue) -> JSONValue {
        ["account_id": .string(accountId), "entry_type": .string(side), "amount": amount]
    }

    func entryBody(_ companyId: String, debit: String, credit: String, amount: JSONValue = "500.00",
                   date: String = "2026-01-15") -> JSONValue {
        ["company_id": .string(companyId), "entry_date": .string(date), "description": "Utilities for January",
         "lines": [Self.line(debit, "debit", amount), Self.line(credit, "credit", amount)]]
    }

    /// A draft DR `debit` / CR `credit` by account number, posted unless told; returns its id.
    func entry(_ companyId: String, _ accounts: [String: String], debit: String, credit: String, amount: String = "500.00",
               date: String = "2026-01-15", post: Bool = true) async throws -> String {
        guard let debitId = accounts[debit], let creditId = accounts[credit] else { throw HarnessError("no such account number") }
        let draft = await send(.post, "/api/v1/journal-entries/", entryBody(companyId, debit: debitId, credit: creditId,
                                                                             amount: .string(amount), date: date))
        guard draft.status == 201, let id = draft.json["id"]?.stringValue else {
            throw HarnessError("draft failed: \(draft.status) \(draft.bodyText)")
        }
        if post {
            let posted = await send(.post, "/api/v1/journal-entries/\(id)/post")
            guard posted.status == 200 else { throw HarnessError("post failed: \(posted.status) \(posted.bodyText)") }
        }
        return id
    }

    /// The live balance of an account on its normal side, as the API reports it.
    func balance(_ accountId: String) async -> String? {
        await send(.get, "/api/v1/accounts/\(accountId)/balance").json["balance"]?.stringValue
    }

    func close() { harness.close() }
}

extension Response {
    var json: JSONValue { bodyJSON ?? .null }
    var detail: String? { json["detail"]?.stringValue }
    var firstErrorField: String? {
        guard case .array(let errors)? = json["errors"] else { return nil }
        return errors.first?["field"]?.stringValue
    }
}

/// Thread-safe collector for concurrent test results.
final class Collected<T: Sendable>: Sendable {
    private let items = Mutex<[T]>([])
    func add(_ item: T) { items.withLock { $0.append(item) } }
    var all: [T] { items.withLock { $0 } }
}
