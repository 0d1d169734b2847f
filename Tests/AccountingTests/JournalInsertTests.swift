@testable import Accounting
import AtlasTestSupport
import Foundation
import Kernel
import Postgres
import Testing

/// `JournalStore.insert` binds each column as one array: every value round-trips through PostgreSQL exactly,
/// including text that looks like array syntax, NULLs, microsecond timestamps and exchange rates.
@Suite(.serialized) struct JournalInsertTests {
    @Test func everyColumnOfEveryEntryAndLineRoundTrips() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        let debit = try #require(accounts["6100"]), credit = try #require(accounts["2100"])
        let postedAt = Date(timeIntervalSince1970: 1_790_000_000.123_456)
        let awkward = [#"quote " and \ backslash"#, "NULL", "{braces},commas", "Zoë ☕︎ 日本", ""]
        func line(_ account: String, _ side: LedgerLine.Side, _ amount: Int64, _ description: String?) -> LedgerLine {
            LedgerLine(accountId: account, side: side, amountMinor: amount, currency: Currency(code: "USD")!,
                       exchangeRate: .one, baseAmountMinor: amount, description: description)
        }
        let entries = awkward.enumerated().map { index, text in
            JournalStore.NewEntry(companyId: company, mode: .live, status: .posted, entryType: "payment",
                                  sourceType: index == 0 ? nil : "test", sourceId: index == 1 ? nil : "src_\(index)",
                                  sourceEventId: "evt_\(UUID().uuidString)", entryDate: "2026-11-0\(index + 1)",
                                  postingDate: "2026-11-0\(index + 1)", description: text, reference: index.isMultiple(of: 2) ? nil : text,
                                  currency: Currency(code: "USD")!, postedAt: postedAt, postedBy: "tester", createdBy: nil,
                                  lines: [line(debit, .debit, 100 + Int64(index), text), line(credit, .credit, 100 + Int64(index), nil)])
        }
        let now = Date(timeIntervalSince1970: 1_790_000_001.654_321)
        try await fixture.database.transaction { tx in
            try await JournalStore.insert(entries, firstNumber: 41, now: now, executor: tx)
        }
        for (index, entry) in entries.enumerated() {
            let row = try #require(try await fixture.database.queryFirst("""
                SELECT entry_number, company_id, mode, status, source_type, source_id, source_event_id, entry_date::text AS entry_date,
                       posting_date::text AS posting_date, description, reference, total_base_minor,
                       (extract(epoch FROM posted_at) * 1000000)::bigint AS posted_us, posted_by, created_by,
                       (extract(epoch FROM created_at) * 1000000)::bigint AS created_us
                FROM accounting_journal_entries WHERE id = \(entry.id)
                """))
            #expect(try row.decode("entry_number", as: String.self) == JournalEntry.entryNumber(41 + Int64(index)))
            #expect(try row.decode("mode", as: String.self) == "live")
            #expect(try row.decode("status", as: String.self) == "posted")
            #expect(try row.decode("source_type", as: String?.self) == entry.sourceType)
            #expect(try row.decode("source_id", as: String?.self) == entry.sourceId)
            #expect(try row.decode("source_event_id", as: String?.self) == entry.sourceEventId)
            #expect(try row.decode("entry_date", as: String.self) == entry.entryDate)
            #expect(try row.decode("posting_date", as: String?.self) == entry.postingDate)
            #expect(try row.decode("description", as: String.self) == entry.description)
            #expect(try row.decode("reference", as: String?.self) == entry.reference)
            #expect(try row.decode("total_base_minor", as: Int64.self) == 100 + Int64(index))
            #expect(try row.decode("posted_us", as: Int64.self) == 1_790_000_000_123_456)
            #expect(try row.decode("posted_by", as: String?.self) == "tester")
            #expect(try row.decode("created_by", as: String?.self) == nil)
            #expect(try row.decode("created_us", as: Int64.self) == 1_790_000_001_654_321)
            let lines = try await fixture.database.query("""
                SELECT line_number, account_id, side, amount_minor, currency, exchange_rate::text AS exchange_rate,
                       base_amount_minor, description, company_id, mode
                FROM accounting_journal_lines WHERE entry_id = \(entry.id) ORDER BY line_number
                """)
            #expect(lines.count == 2)
            for (number, stored) in lines.enumerated() {
                let expected = entry.lines[number]
                #expect(try stored.decode("line_number", as: Int64.self) == Int64(number + 1))
                #expect(try stored.decode("account_id", as: String.self) == expected.accountId)
                #expect(try stored.decode("side", as: String.self) == expected.side.rawValue)
                #expect(try stored.decode("amount_minor", as: Int64.self) == expected.amountMinor)
                #expect(try stored.decode("base_amount_minor", as: Int64.self) == expected.baseAmountMinor)
                #expect(try stored.decode("exchange_rate", as: String.self) == "1")
                #expect(try stored.decode("description", as: String?.self) == expected.description)
                #expect(try stored.decode("company_id", as: String.self) == company)
                #expect(try stored.decode("mode", as: String.self) == "live")
            }
        }
    }

    /// The statement-level guards refuse a whole statement when one of its entries falls in a closed period or one of
    /// its lines joins an entry posted by another transaction, with migration 1's and 2's messages; nothing is written.
    @Test func aStatementWithOneRefusedRowWritesNothing() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        let debit = try #require(accounts["6100"]), credit = try #require(accounts["2100"])
        try await fixture.database.execute("""
            INSERT INTO accounting_periods (id, company_id, mode, sequence, period_start, period_end, status, entries_count,
                entries_hash, previous_hash, chain_hash, closed_at, closed_by)
            VALUES ('per_test', \(company), 'live', 1, '2026-01-01', '2026-01-31', 'closed', 0, 'x', 'x', 'x', now(), 'tester')
            """)
        func entry(on day: String) -> JournalStore.NewEntry {
            JournalStore.NewEntry(companyId: company, mode: .live, status: .posted, entryType: "payment", entryDate: day,
                                  postingDate: day, description: "d", currency: Currency(code: "USD")!, postedAt: Date(),
                                  lines: [LedgerLine(accountId: debit, side: .debit, amountMinor: 5, currency: Currency(code: "USD")!,
                                                     exchangeRate: .one, baseAmountMinor: 5, description: nil),
                                          LedgerLine(accountId: credit, side: .credit, amountMinor: 5, currency: Currency(code: "USD")!,
                                                     exchangeRate: .one, baseAmountMinor: 5, description: nil)])
        }
        do {
            let batch = [entry(on: "2026-02-01"), entry(on: "2026-01-15")]
            try await fixture.database.transaction { tx in
                try await JournalStore.insert(batch, firstNumber: 1, now: Date(), executor: tx)
            }
            Issue.record("an entry posted into a closed period")
        } catch {
            #expect(String(describing: error).contains("2026-01-15 falls in a closed period"))
        }
        let open = entry(on: "2026-02-02")
        try await fixture.database.transaction { tx in
            try await JournalStore.insert([open], firstNumber: 1, now: Date(), executor: tx)
        }
        do {
            try await fixture.database.execute("""
                INSERT INTO accounting_journal_lines (id, entry_id, company_id, mode, line_number, account_id, side, amount_minor,
                    currency, exchange_rate, base_amount_minor)
                VALUES ('line_sneak', \(open.id), \(company), 'live', 3, \(debit), 'debit', 1, 'USD', 1, 1)
                """)
            Issue.record("a line joined an entry posted by another transaction")
        } catch {
            #expect(String(describing: error).contains("lines cannot be added to a posted journal entry"))
        }
        let count = try await fixture.database.queryFirst("""
            SELECT count(*) AS n FROM accounting_journal_entries WHERE company_id = \(company) AND mode = 'live'
            """)
        #expect(try count?.decode("n", as: Int64.self) == 1)
    }

    /// Migration 16: a non-draft entry balances when its statement ends. A posted entry inserted without lines, and a
    /// later statement of the same transaction that unbalances an entry it posted, are refused with the commit-time
    /// check's message; a balanced batch commits, and posting a draft keeps its check at commit.
    @Test func aPostedEntryBalancesWhenItsStatementEnds() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        let debit = try #require(accounts["6100"]), credit = try #require(accounts["2100"])
        let usd = try #require(Currency(code: "USD"))
        @Sendable func line(_ account: String, _ side: LedgerLine.Side, _ amount: Int64) -> LedgerLine {
            LedgerLine(accountId: account, side: side, amountMinor: amount, currency: usd, exchangeRate: .one,
                       baseAmountMinor: amount, description: nil)
        }
        @Sendable func entry(_ lines: [LedgerLine], status: JournalEntryLifecycle.Status = .posted) -> JournalStore.NewEntry {
            JournalStore.NewEntry(companyId: company, mode: .live, status: status, entryType: "payment", entryDate: "2026-03-02",
                                  postingDate: status == .draft ? nil : "2026-03-02", description: "d", currency: usd,
                                  postedAt: status == .draft ? nil : Date(), lines: lines)
        }
        func refusedAsUnbalanced(_ batch: [JournalStore.NewEntry], thenLine extra: LedgerLine? = nil) async {
            do {
                try await fixture.database.transaction { tx in
                    try await JournalStore.insert(batch, firstNumber: 100, now: Date(), executor: tx)
                    if let extra, let first = batch.first {
                        try await tx.execute("""
                            INSERT INTO accounting_journal_lines (id, entry_id, company_id, mode, line_number, account_id, side,
                                amount_minor, currency, exchange_rate, base_amount_minor)
                            VALUES ('line_extra', \(first.id), \(company), 'live', 3, \(extra.accountId), \(extra.side.rawValue),
                                \(extra.amountMinor), 'USD', 1, \(extra.baseAmountMinor))
                            """)
                    }
                }
                Issue.record("an unbalanced posted entry was written")
            } catch {
                #expect(String(describing: error).contains("does not balance"))
            }
        }
        let balanced = entry([line(debit, .debit, 5), line(credit, .credit, 5)])
        await refusedAsUnbalanced([balanced, entry([])])
        await refusedAsUnbalanced([balanced, entry([line(debit, .debit, 5), line(credit, .credit, 4)])])
        await refusedAsUnbalanced([entry([line(debit, .debit, 5), line(credit, .credit, 5)])], thenLine: line(debit, .debit, 1))
        let count = try await fixture.database.queryFirst("""
            SELECT count(*) AS n FROM accounting_journal_entries WHERE company_id = \(company) AND mode = 'live'
            """)
        #expect(try count?.decode("n", as: Int64.self) == 0)

        let second = entry([line(debit, .debit, 7), line(credit, .credit, 7)])
        try await fixture.database.transaction { tx in
            try await JournalStore.insert([balanced, second], firstNumber: 100, now: Date(), executor: tx)
            try await JournalStore.addToDayBalances(entryIds: [balanced.id, second.id], executor: tx)
        }
        // A draft posted by UPDATE is still checked at commit, whatever order its statements come in.
        let draft = entry([line(debit, .debit, 5), line(credit, .credit, 3)], status: .draft)
        try await fixture.database.transaction { tx in
            try await JournalStore.insert([draft], firstNumber: 200, now: Date(), executor: tx)
        }
        do {
            try await fixture.database.execute("""
                UPDATE accounting_journal_entries SET status = 'posted', posting_date = entry_date, posted_at = now() WHERE id = \(draft.id)
                """)
            Issue.record("an unbalanced draft was posted")
        } catch {
            #expect(String(describing: error).contains("does not balance"))
        }
        let posted = try await fixture.database.queryFirst("""
            SELECT count(*) FILTER (WHERE status = 'posted') AS posted, count(*) FILTER (WHERE status = 'draft') AS drafts
            FROM accounting_journal_entries WHERE company_id = \(company) AND mode = 'live'
            """)
        #expect(try posted?.decode("posted", as: Int64.self) == 2)
        #expect(try posted?.decode("drafts", as: Int64.self) == 1)
        #expect(try await BalanceCheck(database: fixture.database).drifts().isEmpty)
    }

    /// Migration 13: the line's keys name ids only, and a statement whose line disagrees with its entry's or its
    /// account's company or mode is refused whole (insert or update), as the composite keys did; so is moving an entry
    /// or an account with lines to another ledger.
    @Test func aLineOfAnotherLedgerIsRefused() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        let other = try await fixture.company(name: "Other Books")
        let otherAccounts = try await fixture.accounts(other)
        let debit = try #require(accounts["6100"]), credit = try #require(accounts["2100"])
        let foreign = try #require(otherAccounts["6100"])
        let draft = try await fixture.database.transaction { tx -> String in
            let entry = JournalStore.NewEntry(companyId: company, mode: .live, status: .draft, entryType: "manual",
                                              entryDate: "2026-03-01", description: "draft", currency: Currency(code: "USD")!,
                                              lines: [LedgerLine(accountId: debit, side: .debit, amountMinor: 5, currency: Currency(code: "USD")!,
                                                                 exchangeRate: .one, baseAmountMinor: 5, description: nil),
                                                      LedgerLine(accountId: credit, side: .credit, amountMinor: 5,
                                                                 currency: Currency(code: "USD")!, exchangeRate: .one, baseAmountMinor: 5,
                                                                 description: nil)])
            try await JournalStore.insert([entry], firstNumber: 900, now: Date(), executor: tx)
            return entry.id
        }
        func refusedAsAnotherLedger(_ sql: SQL) async {
            do {
                try await fixture.database.execute(sql)
                Issue.record("a statement mixing ledgers was accepted")
            } catch {
                #expect(String(describing: error).contains("sqlstate 23503"))
            }
        }
        await refusedAsAnotherLedger("""
            INSERT INTO accounting_journal_lines (id, entry_id, company_id, mode, line_number, account_id, side, amount_minor,
                currency, exchange_rate, base_amount_minor)
            VALUES ('line_mode', \(draft), \(company), 'test', 3, \(debit), 'debit', 1, 'USD', 1, 1)
            """)
        await refusedAsAnotherLedger("""
            INSERT INTO accounting_journal_lines (id, entry_id, company_id, mode, line_number, account_id, side, amount_minor,
                currency, exchange_rate, base_amount_minor)
            VALUES ('line_account', \(draft), \(company), 'live', 3, \(foreign), 'debit', 1, 'USD', 1, 1)
            """)
        await refusedAsAnotherLedger("UPDATE accounting_journal_lines SET account_id = \(foreign) WHERE entry_id = \(draft) AND line_number = 1")
        await refusedAsAnotherLedger("UPDATE accounting_journal_entries SET company_id = \(other) WHERE id = \(draft)")
        await refusedAsAnotherLedger("UPDATE accounting_accounts SET mode = 'test', account_number = '6100-moved' WHERE id = \(debit)")
        let lines = try await fixture.database.query("""
            SELECT account_id FROM accounting_journal_lines WHERE entry_id = \(draft) ORDER BY line_number
            """)
        #expect(try lines.map { try $0.decode("account_id", as: String.self) } == [debit, credit])
    }

    /// Migration 17: the line's references are checked by its statement guard, not by foreign keys. A line naming no
    /// entry or no account, deleting an entry or account that lines name, and changing such an id are refused with
    /// SQLSTATE 23503 as before; a draft's delete racing a line added to it waits for the other transaction, either
    /// way round, and then is refused, as a foreign key's locks made it.
    @Test func aLinesEntryAndAccountAreCheckedAsForeignKeysWere() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        let debit = try #require(accounts["6100"]), credit = try #require(accounts["2100"])
        let usd = try #require(Currency(code: "USD"))
        func draft(_ lines: [LedgerLine], number: Int64) async throws -> String {
            let entry = JournalStore.NewEntry(companyId: company, mode: .live, status: .draft, entryType: "manual",
                                              entryDate: "2026-03-01", description: "draft", currency: usd, lines: lines)
            try await fixture.database.transaction { tx in
                try await JournalStore.insert([entry], firstNumber: number, now: Date(), executor: tx)
            }
            return entry.id
        }
        @Sendable func lineSQL(_ id: String, entry: String, account: String) -> SQL {
            """
            INSERT INTO accounting_journal_lines (id, entry_id, company_id, mode, line_number, account_id, side, amount_minor,
                currency, exchange_rate, base_amount_minor)
            VALUES (\(id), \(entry), \(company), 'live', 1, \(account), 'debit', 1, 'USD', 1, 1)
            """
        }
        @Sendable func outcome(_ sql: SQL) async -> String {
            do {
                try await fixture.database.execute(sql)
                return "accepted"
            } catch {
                return String(describing: error)
            }
        }
        let named = try await draft([LedgerLine(accountId: debit, side: .debit, amountMinor: 5, currency: usd, exchangeRate: .one,
                                                baseAmountMinor: 5, description: nil),
                                     LedgerLine(accountId: credit, side: .credit, amountMinor: 5, currency: usd, exchangeRate: .one,
                                                baseAmountMinor: 5, description: nil)], number: 300)
        let empty = try await draft([], number: 301)
        for sql: SQL in [lineSQL("line_no_entry", entry: "entry_nowhere", account: debit),
                         lineSQL("line_no_account", entry: empty, account: "account_nowhere"),
                         "DELETE FROM accounting_journal_entries WHERE id = \(named)",
                         "DELETE FROM accounting_accounts WHERE id = \(debit)",
                         "UPDATE accounting_accounts SET id = 'account_moved' WHERE id = \(debit)",
                         "UPDATE accounting_journal_entries SET id = 'entry_moved' WHERE id = \(named)"] {
            #expect(await outcome(sql).contains("sqlstate 23503"), "\(sql.text)")
        }

        // A line added first: the draft's delete waits for that transaction, then finds the line.
        let deletion = Task {
            try await Task.sleep(for: .milliseconds(150))
            return await outcome("DELETE FROM accounting_journal_entries WHERE id = \(empty)")
        }
        try await fixture.database.transaction { tx in
            try await tx.execute(lineSQL("line_first", entry: empty, account: debit))
            try await Task.sleep(for: .milliseconds(600))
        }
        #expect(try await deletion.value.contains("sqlstate 23503"))

        // The delete first: the line waits for it, then finds no draft.
        let doomed = try await draft([], number: 302)
        let insertion = Task {
            try await Task.sleep(for: .milliseconds(150))
            return await outcome(lineSQL("line_late", entry: doomed, account: debit))
        }
        try await fixture.database.transaction { tx in
            try await tx.execute("DELETE FROM accounting_journal_entries WHERE id = \(doomed)")
            try await Task.sleep(for: .milliseconds(600))
        }
        #expect(try await insertion.value.contains("sqlstate 23503"))
        let lines = try await fixture.database.query("""
            SELECT id FROM accounting_journal_lines WHERE entry_id IN (\(empty), \(doomed)) ORDER BY id
            """)
        #expect(try lines.map { try $0.decode("id", as: String.self) } == ["line_first"])
    }

    /// Migration 17: an entry's company is checked once per statement, not by a foreign key. An entry naming no
    /// company, deleting a company that entries name and changing its id are refused with SQLSTATE 23503; a company's
    /// delete waits for a transaction adding an entry to it, then is refused.
    @Test func anEntrysCompanyIsCheckedAsAForeignKeyWas() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let created = await fixture.send(.post, "/api/v1/companies/", ["name": "Bare Co", "fiscal_year_start_date": "2026-01-01"])
        let bare = try #require(created.json["id"]?.stringValue)
        let usd = try #require(Currency(code: "USD"))
        @Sendable func draft(_ company: String, number: Int64) -> JournalStore.NewEntry {
            JournalStore.NewEntry(companyId: company, mode: .live, status: .draft, entryType: "manual", entryDate: "2026-03-01",
                                  description: "draft", currency: usd, lines: [])
        }
        @Sendable func outcome(_ work: @Sendable () async throws -> Void) async -> String {
            do {
                try await work()
                return "accepted"
            } catch {
                return String(describing: error)
            }
        }
        #expect(await outcome {
            try await fixture.database.transaction { tx in
                try await JournalStore.insert([draft("company_nowhere", number: 1)], firstNumber: 1, now: Date(), executor: tx)
            }
        }.contains("sqlstate 23503"))
        let named = draft(bare, number: 2)
        try await fixture.database.transaction { tx in try await JournalStore.insert([named], firstNumber: 2, now: Date(), executor: tx) }
        #expect(await outcome { try await fixture.database.execute("UPDATE accounting_journal_entries SET company_id = 'company_nowhere' WHERE id = \(named.id)") }
            .contains("sqlstate 23503"))
        #expect(await outcome { try await fixture.database.execute("DELETE FROM accounting_companies WHERE id = \(bare)") }
            .contains("the ledger still names"))
        #expect(await outcome { try await fixture.database.execute("UPDATE accounting_companies SET id = 'company_moved' WHERE id = \(bare)") }
            .contains("sqlstate 23503"))

        // An entry added first: the company's delete waits for that transaction, then finds the entry.
        try await fixture.database.execute("DELETE FROM accounting_journal_entries WHERE id = \(named.id)")
        let deletion = Task {
            try await Task.sleep(for: .milliseconds(150))
            return await outcome { try await fixture.database.execute("DELETE FROM accounting_companies WHERE id = \(bare)") }
        }
        try await fixture.database.transaction { tx in
            try await JournalStore.insert([draft(bare, number: 3)], firstNumber: 3, now: Date(), executor: tx)
            try await Task.sleep(for: .milliseconds(600))
        }
        #expect(try await deletion.value.contains("the ledger still names"))
    }

    /// Migration 18: an inserted entry's `posted_xid` is the column's default, the inserting transaction's id, and an
    /// INSERT that gives a posted entry another is refused (23000) with nothing written. Posting a draft stamps the
    /// posting transaction's id, and lines then join it in that transaction only.
    @Test func aPostedEntryCarriesTheIdOfTheTransactionThatInsertedIt() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        let debit = try #require(accounts["6100"]), credit = try #require(accounts["2100"])
        let usd = try #require(Currency(code: "USD"))
        func entry(_ status: JournalEntryLifecycle.Status) -> JournalStore.NewEntry {
            JournalStore.NewEntry(companyId: company, mode: .live, status: status, entryType: "manual", entryDate: "2026-03-02",
                                  postingDate: status == .draft ? nil : "2026-03-02", description: "stamp", currency: usd,
                                  postedAt: status == .draft ? nil : Date(), postedBy: nil, createdBy: nil,
                                  lines: [LedgerLine(accountId: debit, side: .debit, amountMinor: 7, currency: usd, exchangeRate: .one,
                                                     baseAmountMinor: 7, description: nil),
                                          LedgerLine(accountId: credit, side: .credit, amountMinor: 7, currency: usd, exchangeRate: .one,
                                                     baseAmountMinor: 7, description: nil)])
        }
        let posted = entry(.posted)
        let stampedByItsOwnTransaction = try await fixture.database.transaction { tx in
            try await JournalStore.insert([posted], firstNumber: 901, now: Date(), executor: tx)
            let row = try await tx.query("""
                SELECT posted_xid = pg_current_xact_id() AS own FROM accounting_journal_entries WHERE id = \(posted.id)
                """)
            return try row.first?.decode("own", as: Bool.self)
        }
        #expect(stampedByItsOwnTransaction == true)

        let sneaked = "je_\(UUID().uuidString.lowercased())"
        do {
            try await fixture.database.execute("""
                INSERT INTO accounting_journal_entries (id, company_id, mode, entry_number, status, entry_type, entry_date,
                    posting_date, description, currency, total_base_minor, posted_at, posted_xid, created_at, updated_at)
                VALUES (\(sneaked), \(company), 'live', 'JE-STAMP', 'posted', 'manual', '2026-03-02', '2026-03-02', 'x', 'USD', 7,
                        now(), '3'::xid8, now(), now())
                """)
            Issue.record("a posted entry with another transaction's id was inserted")
        } catch {
            #expect(String(describing: error).contains("sqlstate 23000"))
            #expect(String(describing: error).contains("must carry the id"))
        }
        let sneakedRows = try await fixture.database.query("SELECT 1 FROM accounting_journal_entries WHERE id = \(sneaked)")
        #expect(sneakedRows.isEmpty)

        let draft = entry(.draft)
        try await fixture.database.transaction { tx in try await JournalStore.insert([draft], firstNumber: 902, now: Date(), executor: tx) }
        let postedByItsOwnTransaction = try await fixture.database.transaction { tx in
            _ = try await tx.execute("""
                UPDATE accounting_journal_entries SET status = 'posted', posting_date = entry_date, posted_at = now()
                WHERE id = \(draft.id)
                """)
            let row = try await tx.query("""
                SELECT posted_xid = pg_current_xact_id() AS own FROM accounting_journal_entries WHERE id = \(draft.id)
                """)
            return try row.first?.decode("own", as: Bool.self)
        }
        #expect(postedByItsOwnTransaction == true)
        do {
            _ = try await fixture.database.execute("""
                INSERT INTO accounting_journal_lines (id, entry_id, company_id, mode, line_number, account_id, side, amount_minor,
                    currency, exchange_rate, base_amount_minor)
                VALUES (\("jl_\(UUID().uuidString.lowercased())"), \(draft.id), \(company), 'live', 3, \(debit), 'debit', 1, 'USD', 1, 1)
                """)
            Issue.record("a line joined an entry another transaction posted")
        } catch {
            #expect(String(describing: error).contains("lines cannot be added"))
        }
    }
}
