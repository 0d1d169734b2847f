@testable import Accounting
import AtlasTestSupport
import Auth
import Foundation
import Kernel
import Postgres
import Testing

/// Period close (spec B.3 B35, issue 11 "Period close"): a balanced trial balance is required, closing
/// writes the closing entry, locks the period and emits `period.closed`; nothing posts into it; its reports
/// regenerate byte-identical; the SHA-256 chain verifies and reports tampering; reopening is audited.
@Suite(.serialized) struct PeriodCloseTests {
    @Test func closingLocksThePeriodChainsItAndReopeningIsAudited() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        func entry(_ debit: String, _ credit: String, _ amount: String, _ date: String) async throws -> String {
            let draft = await fixture.send(.post, "/api/v1/journal-entries/",
                                           fixture.entryBody(company, debit: try #require(accounts[debit]),
                                                             credit: try #require(accounts[credit]), amount: .string(amount), date: date))
            return try #require(draft.json["id"]?.stringValue)
        }
        func post(_ id: String, _ query: String = "") async -> Response {
            await fixture.send(.post, "/api/v1/journal-entries/\(id)/post\(query)")
        }
        let sale = try await entry("1000", "4000", "2500.00", "2026-01-10")
        #expect(await post(sale).status == 200)
        #expect(await post(try await entry("6100", "2100", "500.00", "2026-01-15")).status == 200)
        let late = try await entry("6000", "1000", "100.00", "2026-01-20")   // stays a draft through the close
        let pnlPath = "/api/v1/reports/profit-loss?period_start=2026-01-01&period_end=2026-01-31"
        let before = await fixture.send(.get, pnlPath)

        let bookkeeper = try await fixture.token(.bookkeeper)
        #expect(await fixture.send(.post, "/api/v1/periods/close", ["period_start": "2026-01-01", "period_end": "2026-01-31"],
                                   token: bookkeeper).status == 403)
        #expect(await fixture.send(.post, "/api/v1/periods/close", ["period_start": "2026-01-01"]).firstErrorField == "period_end")
        #expect(await fixture.send(.post, "/api/v1/periods/close", ["period_start": "2026-02-01", "period_end": "2026-01-31"]).status == 422)

        let closed = await fixture.send(.post, "/api/v1/periods/close", ["period_start": "2026-01-01", "period_end": "2026-01-31"])
        #expect(closed.status == 201)
        #expect(closed.json["status"] == "closed")
        #expect(closed.json["previous_hash"]?.stringValue == PeriodChain.genesisHash)
        let january = try #require(closed.json["id"]?.stringValue)
        let closingId = try #require(closed.json["closing_entry_id"]?.stringValue)
        let closing = await fixture.send(.get, "/api/v1/journal-entries/\(closingId)")
        #expect(closing.json["entry_type"] == "closing")
        #expect(closing.json["total_debit"] == "2500.00")
        let events = try await fixture.database.query("SELECT payload::text AS payload FROM event_log WHERE event_type = 'period.closed'")
        #expect(events.count == 1)

        // The P&L of the closed period still shows its activity, byte for byte; the balance sheet balances.
        let after = await fixture.send(.get, pnlPath)
        #expect(after.body == before.body)
        #expect(after.json["net_income"] == "2000.00")
        let sheet = await fixture.send(.get, "/api/v1/reports/balance-sheet?as_of_date=2026-01-31")
        #expect(sheet.json["is_balanced"] == true)
        #expect(sheet.json["equity"]?["total"] == "2000.00")

        // Nothing posts into the closed period: a draft dated in it, a void of an entry in it.
        let refused = await post(late)
        #expect(refused.status == 409)
        #expect(refused.firstErrorField == "posting_date")
        #expect(await fixture.send(.get, "/api/v1/journal-entries/\(late)").json["status"] == "draft")
        #expect(await post(late, "?posting_date=2026-02-03").status == 200)
        #expect(await fixture.send(.post, "/api/v1/journal-entries/\(sale)/void", ["reason": "late"]).status == 409)
        #expect(await fixture.send(.get, "/api/v1/journal-entries/\(sale)").json["status"] == "posted")
        // The database refuses it too.
        let raw = try await entry("1000", "4000", "1.00", "2026-01-25")
        await #expect(throws: (any Error).self) {
            try await fixture.database.execute("""
                UPDATE accounting_journal_entries SET status = 'posted', posting_date = entry_date, posted_at = now() WHERE id = \(raw)
                """)
        }
        // Posting into February and regenerating January's P&L changes nothing in it.
        #expect(await post(try await entry("1000", "4000", "700.00", "2026-02-10")).status == 200)
        #expect(await fixture.send(.get, pnlPath).body == before.body)

        #expect(await fixture.send(.post, "/api/v1/periods/close", ["period_start": "2026-01-15", "period_end": "2026-02-15"]).status == 409)
        let february = await fixture.send(.post, "/api/v1/periods/close?period_start=2026-02-01&period_end=2026-02-28")
        #expect(february.status == 201)
        #expect(february.json["previous_hash"] == closed.json["chain_hash"])
        #expect(february.json["sequence"]?.intValue == 2)
        let februaryId = try #require(february.json["id"]?.stringValue)
        let verified = await fixture.send(.get, "/api/v1/periods/verify-chain")
        #expect(verified.json["is_valid"] == true)
        #expect(verified.json["periods_checked"]?.intValue == 2)

        // Reopening: only the latest, with a reason; audited on the row; its closing entry is reversed.
        #expect(await fixture.send(.post, "/api/v1/periods/\(january)/reopen", ["reason": "audit"]).status == 409)
        #expect(await fixture.send(.post, "/api/v1/periods/\(februaryId)/reopen", [:]).firstErrorField == "reason")
        let reopened = await fixture.send(.post, "/api/v1/periods/\(februaryId)/reopen", ["reason": "missing invoice"])
        #expect(reopened.status == 200)
        #expect(reopened.json["status"] == "reopened")
        #expect(reopened.json["reopen_reason"] == "missing invoice")
        #expect(reopened.json["reopened_by"]?.stringValue != nil)
        #expect(await post(try await entry("6100", "1000", "50.00", "2026-02-20")).status == 200)
        let list = await fixture.send(.get, "/api/v1/periods/")
        #expect(list.json["total"]?.intValue == 2)
        #expect(try await BalanceCheck(database: fixture.database).drifts().isEmpty)
        let trial = await fixture.send(.get, "/api/v1/reports/trial-balance?as_of_date=2026-02-28")
        #expect(trial.json["is_balanced"] == true)

        // Tampering with a closed period's record breaks the chain, and the check says where.
        try await fixture.database.execute("UPDATE accounting_periods SET entries_hash = repeat('a', 64) WHERE id = \(january)")
        let broken = await fixture.send(.get, "/api/v1/periods/verify-chain")
        #expect(broken.json["is_valid"] == false)
        #expect(broken.json["breaks"]?.firstLine?["period_id"]?.stringValue == january)
    }

    @Test func aTrialBalanceThatDoesNotBalanceCannotBeClosed() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        _ = try await fixture.entry(company, accounts, debit: "6100", credit: "2100")
        // Drift planted behind the ledger's back (the day balances are not the ledger; the lines are).
        try await fixture.database.execute("UPDATE accounting_account_days SET debit_minor = debit_minor + 1 WHERE company_id = \(company)")
        let refused = await fixture.send(.post, "/api/v1/periods/close", ["period_start": "2026-01-01", "period_end": "2026-01-31"])
        #expect(refused.status == 409)
        #expect(try await fixture.database.queryFirst("SELECT count(*) AS n FROM accounting_periods")?.decode("n", as: Int.self) == 0)
        #expect(try await BalanceCheck(database: fixture.database).drifts().count == 2)  // both account-days of the entry
    }

    @Test func paymentsDuringAClosedPeriodPostIntoTheNextOpenDay() {
        #expect(AccountingInput.nextDay("2026-01-31") == "2026-02-01")
        #expect(AccountingInput.nextDay("2024-02-28") == "2024-02-29")
        #expect(AccountingInput.nextDay("2026-12-31") == "2027-01-01")
        let closed = [(start: "2026-01-01", end: "2026-01-31"), (start: "2026-02-01", end: "2026-02-28")]
        #expect(LedgerPostingConsumer.firstOpenDay("2026-01-15", closed: closed) == "2026-03-01")
        #expect(LedgerPostingConsumer.firstOpenDay("2026-03-02", closed: closed) == "2026-03-02")
    }
}
