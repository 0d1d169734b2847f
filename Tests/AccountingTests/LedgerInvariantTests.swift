@testable import Accounting
import AtlasTestSupport
import Foundation
import Kernel
import Postgres
import Testing

/// The ledger's invariants hold in PostgreSQL itself, whatever a statement tries: posted entries and their
/// lines are immutable, a posted entry balances, and concurrent postings to one account leave it exact.
@Suite(.serialized) struct LedgerInvariantTests {
    /// A company with one posted and one draft entry (DR 6100 / CR 2100, 500.00).
    func ledgerWithEntries(_ fixture: AccountingFixture) async throws -> (company: String, posted: String, draft: String, accounts: [String: String]) {
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        let body = fixture.entryBody(company, debit: try #require(accounts["6100"]), credit: try #require(accounts["2100"]))
        let first = try #require(await fixture.send(.post, "/api/v1/journal-entries/", body).json["id"]?.stringValue)
        #expect(await fixture.send(.post, "/api/v1/journal-entries/\(first)/post").status == 200)
        let draft = try #require(await fixture.send(.post, "/api/v1/journal-entries/", body).json["id"]?.stringValue)
        return (company, first, draft, accounts)
    }

    func refused(_ database: PostgresDatabase, _ sql: SQL) async -> Bool {
        do {
            try await database.execute(sql)
            return false
        } catch {
            return true
        }
    }

    @Test func postedEntriesAndLinesAreImmutableInTheDatabase() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let (_, posted, draft, accounts) = try await ledgerWithEntries(fixture)
        let database = fixture.database
        #expect(await refused(database, "UPDATE accounting_journal_entries SET description = 'edited' WHERE id = \(posted)"))
        #expect(await refused(database, "UPDATE accounting_journal_entries SET status = 'draft' WHERE id = \(posted)"))
        #expect(await refused(database, "DELETE FROM accounting_journal_entries WHERE id = \(posted)"))
        #expect(await refused(database, "UPDATE accounting_journal_lines SET amount_minor = 1 WHERE entry_id = \(posted)"))
        #expect(await refused(database, "DELETE FROM accounting_journal_lines WHERE entry_id = \(posted)"))
        let sneak: SQL = """
            INSERT INTO accounting_journal_lines (id, entry_id, company_id, mode, line_number, account_id, side, amount_minor,
                currency, exchange_rate, base_amount_minor)
            SELECT \(UUID().uuidString.lowercased()), id, company_id, mode, 9, \(accounts["6100"] ?? ""), 'debit', 1, 'USD', 1, 1
            FROM accounting_journal_entries WHERE id = \(posted)
            """
        #expect(await refused(database, sneak))
        // Posting a draft that does not balance is refused at commit, even when Swift is bypassed.
        try await database.execute("UPDATE accounting_journal_lines SET base_amount_minor = 1 WHERE entry_id = \(draft) AND line_number = 1")
        #expect(await refused(database, """
            UPDATE accounting_journal_entries SET status = 'posted', posting_date = entry_date, posted_at = now() WHERE id = \(draft)
            """))
        let status = try await database.queryFirst("SELECT status FROM accounting_journal_entries WHERE id = \(draft)")
        #expect(try status?.decode("status", as: String.self) == "draft")
        // A one-line posted entry is refused too.
        #expect(await refused(database, """
            WITH e AS (INSERT INTO accounting_journal_entries (id, company_id, mode, entry_number, status, entry_type, entry_date,
                posting_date, description, currency, total_base_minor, posted_at, created_at, updated_at)
                SELECT \(UUID().uuidString.lowercased()), company_id, mode, 'JE-X', 'posted', 'manual', entry_date, entry_date, 'x',
                    'USD', 1, now(), now(), now() FROM accounting_journal_entries WHERE id = \(posted) RETURNING id, company_id, mode)
            INSERT INTO accounting_journal_lines (id, entry_id, company_id, mode, line_number, account_id, side, amount_minor,
                currency, exchange_rate, base_amount_minor)
            SELECT \(UUID().uuidString.lowercased()), e.id, e.company_id, e.mode, 1, \(accounts["6100"] ?? ""), 'debit', 1, 'USD', 1, 1 FROM e
            """))
        // Voiding through the API is the one change a posted entry takes.
        #expect(await fixture.send(.post, "/api/v1/journal-entries/\(posted)/void", ["reason": "dup"]).status == 200)
        #expect(await refused(database, "UPDATE accounting_journal_entries SET void_reason = 'other' WHERE id = \(posted)"))
        #expect(try await BalanceCheck(database: database).drifts().isEmpty)
    }

    @Test func aHundredParallelPostingsToOneAccountLeaveItsBalanceExact() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        let sales = try #require(accounts["4000"])
        let cash = try #require(accounts["1000"])
        var drafts: [String] = []
        for index in 1...100 {
            let amount = JSONValue.string("\(index).0\(index % 10)")
            let draft = await fixture.send(.post, "/api/v1/journal-entries/", fixture.entryBody(company, debit: cash, credit: sales,
                                                                                                amount: amount))
            drafts.append(try #require(draft.json["id"]?.stringValue))
        }
        fixture.harness.clock.advance(seconds: 120)  // a full rate-limit burst for the parallel part (each request adds 0.1 s)
        let statuses = Collected<Int>()
        await withTaskGroup(of: Void.self) { group in
            for id in drafts {
                group.addTask {
                    statuses.add(await fixture.send(.post, "/api/v1/journal-entries/\(id)/post").status)
                }
            }
        }
        #expect(statuses.all.filter { $0 == 200 }.count == 100)
        // Σ (i + (i mod 10)/100) for i in 1…100 = 5050 + 4.50 = 5054.50.
        #expect(await fixture.balance(sales) == "5054.50")
        #expect(await fixture.balance(cash) == "5054.50")
        #expect(try await BalanceCheck(database: fixture.database).drifts().isEmpty)
    }
}
