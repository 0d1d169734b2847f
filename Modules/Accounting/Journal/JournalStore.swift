import Foundation
import Kernel

/// `accounting_journal_entries`, `accounting_journal_lines` and the day balances they feed. Every write
/// that changes a ledger runs in one database transaction: the entry, its lines and the day balances
/// commit together, and the deferred trigger checks the balance at that commit.
struct JournalStore: Sendable {
    let database: any Database

    /// A new entry to write (draft, or posted at once by automatic postings and reversals).
    struct NewEntry: Sendable {
        var id: String = AccountingInput.newId()
        var companyId: String
        var mode: Mode
        var status: JournalEntryLifecycle.Status
        var entryType: String
        var sourceType: String?
        var sourceId: String?
        var sourceEventId: String?
        var entryDate: String
        var postingDate: String?
        var description: String
        var reference: String?
        var currency: Currency
        var version: Int = 1
        var postedAt: Date?
        var postedBy: String?
        var correctsEntry: String?
        var reversesEntry: String?
        var createdBy: String?
        var lines: [LedgerLine]

        var totalBaseMinor: Int64 { JournalLineRules.totals(lines).debits }
    }

    struct Filter: Sendable {
        var status: String?
        var entryType: String?
        var startDate: String?
        var endDate: String?
    }

    enum Sort: String, CaseIterable {
        case entryDate = "entry_date"
        case entryNumber = "entry_number"
        case createdAt = "created_at"
    }

    // MARK: Reads

    func find(_ id: String, organizationId: String, mode: Mode, executor: (any SQLExecutor)? = nil,
              forUpdate: Bool = false) async throws -> JournalEntry? {
        let executor = executor ?? database
        let sql: SQL = forUpdate
            ? """
              SELECT \(literal: JournalEntry.columns) FROM accounting_journal_entries
              WHERE id = \(id) AND mode = \(mode)
                AND company_id IN (SELECT id FROM accounting_companies WHERE org_id = \(organizationId)) FOR UPDATE
              """
            : """
              SELECT \(literal: JournalEntry.columns) FROM accounting_journal_entries
              WHERE id = \(id) AND mode = \(mode)
                AND company_id IN (SELECT id FROM accounting_companies WHERE org_id = \(organizationId))
              """
        guard let row = try await executor.queryFirst(sql) else { return nil }
        var entry = try JournalEntry(row: row)
        entry.lines = try await lines(of: [entry.id], executor: executor)[entry.id] ?? []
        return entry
    }

    func lines(of entryIds: [String], executor: any SQLExecutor) async throws -> [String: [JournalEntry.StoredLine]] {
        guard !entryIds.isEmpty else { return [:] }
        let rows = try await executor.query("""
            SELECT l.id, l.entry_id, l.line_number, l.account_id, a.account_number, a.name AS account_name, l.side,
                   l.amount_minor, l.currency, l.exchange_rate::text AS exchange_rate, l.base_amount_minor, l.description
            FROM (SELECT DISTINCT unnest(string_to_array(\(entryIds.joined(separator: ",")), ',')) AS entry_id) AS wanted
            CROSS JOIN LATERAL (
                SELECT * FROM accounting_journal_lines WHERE entry_id = wanted.entry_id OFFSET 0
            ) AS l
            JOIN accounting_accounts a ON a.id = l.account_id
            ORDER BY l.entry_id, l.line_number
            """)
        var result: [String: [JournalEntry.StoredLine]] = [:]
        for row in rows {
            guard let side = LedgerLine.Side(rawValue: try row.decode("side")),
                  let currency = Currency(code: try row.decode("currency")),
                  let rate = DecimalFactor(try row.decode("exchange_rate", as: String.self)) else {
                throw DatabaseError(kind: .decoding, message: "unexpected line values in accounting_journal_lines")
            }
            let line = LedgerLine(accountId: try row.decode("account_id"), side: side, amountMinor: try row.decode("amount_minor"),
                                  currency: currency, exchangeRate: rate, baseAmountMinor: try row.decode("base_amount_minor"),
                                  description: try row.decode("description"))
            result[try row.decode("entry_id"), default: []].append(JournalEntry.StoredLine(
                id: try row.decode("id"), lineNumber: try row.decode("line_number"), accountId: line.accountId,
                accountNumber: try row.decode("account_number"), accountName: try row.decode("account_name"), line: line))
        }
        return result
    }

    func list(companyId: String, mode: Mode, filter: Filter, sort: Sort, order: ListOrder,
              page: AccountingPage) async throws -> (items: [JournalEntry], total: Int) {
        let total: Int = try await database.queryFirst("""
            SELECT count(*) AS n FROM accounting_journal_entries
            WHERE company_id = \(companyId) AND mode = \(mode)\(and: "status = ?", filter.status)\
            \(and: "entry_type = ?", filter.entryType)\(and: "entry_date >= ?::date", filter.startDate)\
            \(and: "entry_date <= ?::date", filter.endDate)
            """)?.decode("n") ?? 0
        let rows = try await database.query(Self.listSQL(companyId: companyId, mode: mode, filter: filter, sort: sort,
                                                         order: order, page: page))
        var entries = try rows.map(JournalEntry.init(row:))
        let lines = try await lines(of: entries.map(\.id), executor: database)
        for index in entries.indices { entries[index].lines = lines[entries[index].id] ?? [] }
        return (entries, total)
    }

    /// Only the present filters are in the text; the order is one of a fixed set of source fragments.
    static func listSQL(companyId: String, mode: Mode, filter: Filter, sort: Sort, order: ListOrder, page: AccountingPage) -> SQL {
        let orderBy: StaticString = switch (sort, order) {
        case (.entryDate, .asc): "ORDER BY entry_date, entry_number"
        case (.entryDate, .desc): "ORDER BY entry_date DESC, entry_number DESC"
        case (.entryNumber, .asc): "ORDER BY entry_number"
        case (.entryNumber, .desc): "ORDER BY entry_number DESC"
        case (.createdAt, .asc): "ORDER BY created_at, id"
        case (.createdAt, .desc): "ORDER BY created_at DESC, id DESC"
        }
        return """
            SELECT \(literal: JournalEntry.columns) FROM accounting_journal_entries
            WHERE company_id = \(companyId) AND mode = \(mode)\(and: "status = ?", filter.status)\
            \(and: "entry_type = ?", filter.entryType)\(and: "entry_date >= ?::date", filter.startDate)\
            \(and: "entry_date <= ?::date", filter.endDate)
            \(literal: orderBy) LIMIT \(page.limit) OFFSET \(page.offset)
            """
    }

    // MARK: Writes

    /// Reserves `count` consecutive entry numbers of a ledger; returns the first.
    /// `kind` names the sequence: journal entries, customers, vendors (each numbered on its own).
    static func reserveNumbers(companyId: String, mode: Mode, count: Int, kind: String = "journal_entry",
                               executor: any SQLExecutor) async throws -> Int64 {
        precondition(count > 0, "reserve at least one number")
        let row = try await executor.queryFirst("""
            INSERT INTO accounting_sequences AS s (company_id, mode, kind, last_value)
            VALUES (\(companyId), \(mode), \(kind), \(count))
            ON CONFLICT (company_id, mode, kind) DO UPDATE SET last_value = s.last_value + EXCLUDED.last_value
            RETURNING last_value
            """)
        let last: Int64 = try row?.decode("last_value") ?? 0
        return last - Int64(count) + 1
    }

    /// Inserts entries (numbered in order from `firstNumber`) and their lines in one statement whose text does not
    /// depend on how many there are: each column is one array parameter, read back with `unnest` (`SQLArrayLiteral`).
    /// WHY: an automatic posting batch writes hundreds of entries and lines; one VALUES row each made a statement of
    /// thousands of parameters, parsed and planned again for every batch and bounded by the protocol's 65,535.
    static func insert(_ entries: [NewEntry], firstNumber: Int64, now: Date, executor: any SQLExecutor) async throws {
        guard !entries.isEmpty else { return }
        let entry = EntryColumns(entries, firstNumber: firstNumber)
        let line = LineColumns(entries)
        try await executor.execute("""
            WITH new_entries AS (
                INSERT INTO accounting_journal_entries (id, company_id, mode, entry_number, status, entry_type, source_type,
                    source_id, source_event_id, entry_date, posting_date, description, reference, currency, total_base_minor,
                    version, posted_at, posted_by, corrects_entry, reverses_entry, created_by, created_at, updated_at)
                SELECT e.id, e.company_id, e.mode, e.entry_number, e.status, e.entry_type, e.source_type, e.source_id,
                       e.source_event_id, e.entry_date, e.posting_date, e.description, e.reference, e.currency,
                       e.total_base_minor, e.version, timestamptz 'epoch' + e.posted_microseconds * interval '1 microsecond',
                       e.posted_by, e.corrects_entry, e.reverses_entry, e.created_by, \(now), \(now)
                FROM unnest(\(entry.ids)::text[], \(entry.companyIds)::text[], \(entry.modes)::text[], \(entry.numbers)::text[],
                            \(entry.statuses)::text[], \(entry.entryTypes)::text[], \(entry.sourceTypes)::text[],
                            \(entry.sourceIds)::text[], \(entry.sourceEventIds)::text[], \(entry.entryDates)::date[],
                            \(entry.postingDates)::date[], \(entry.descriptions)::text[], \(entry.references)::text[],
                            \(entry.currencies)::text[], \(entry.totalsBaseMinor)::bigint[], \(entry.versions)::integer[],
                            \(entry.postedMicroseconds)::bigint[], \(entry.postedBy)::text[], \(entry.correctsEntries)::text[],
                            \(entry.reversesEntries)::text[], \(entry.createdBy)::text[])
                     AS e(id, company_id, mode, entry_number, status, entry_type, source_type, source_id, source_event_id,
                          entry_date, posting_date, description, reference, currency, total_base_minor, version,
                          posted_microseconds, posted_by, corrects_entry, reverses_entry, created_by)
                RETURNING id)
            INSERT INTO accounting_journal_lines (id, entry_id, company_id, mode, line_number, account_id, side, amount_minor,
                currency, exchange_rate, base_amount_minor, description)
            SELECT l.id, l.entry_id, l.company_id, l.mode, l.line_number, l.account_id, l.side, l.amount_minor, l.currency,
                   l.exchange_rate, l.base_amount_minor, l.description
            FROM unnest(\(line.ids)::text[], \(line.entryIds)::text[], \(line.companyIds)::text[], \(line.modes)::text[],
                        \(line.numbers)::integer[], \(line.accountIds)::text[], \(line.sides)::text[],
                        \(line.amountsMinor)::bigint[], \(line.currencies)::text[], \(line.exchangeRates)::numeric[],
                        \(line.baseAmountsMinor)::bigint[], \(line.descriptions)::text[])
                 AS l(id, entry_id, company_id, mode, line_number, account_id, side, amount_minor, currency, exchange_rate,
                      base_amount_minor, description)
            JOIN new_entries ON new_entries.id = l.entry_id
            """)
    }

    /// The entries' columns as array literals, position by position (`insert`), written row by row
    /// (`SQLArrayColumns`): a posting batch has up to 1,000 entries, and a pass per column copied each entry per column.
    private struct EntryColumns {
        let ids, companyIds, modes, numbers, statuses, entryTypes, sourceTypes, sourceIds, sourceEventIds: String
        let entryDates, postingDates, descriptions, references, currencies, totalsBaseMinor, versions: String
        let postedMicroseconds, postedBy, correctsEntries, reversesEntries, createdBy: String

        init(_ entries: [NewEntry], firstNumber: Int64) {
            var columns = SQLArrayColumns(count: 21, rowsExpected: entries.count)
            for (index, entry) in entries.enumerated() {
                columns.append([
                    .text(entry.id), .text(entry.companyId), .text(entry.mode.rawValue),
                    .text(JournalEntry.entryNumber(firstNumber + Int64(index))), .text(entry.status.rawValue),
                    .text(entry.entryType), entry.sourceType.sqlValue, entry.sourceId.sqlValue,
                    entry.sourceEventId.sqlValue, .text(entry.entryDate), entry.postingDate.sqlValue,
                    .text(entry.description), entry.reference.sqlValue, .text(entry.currency.code),
                    .int(entry.totalBaseMinor), .int(Int64(entry.version)),
                    entry.postedAt.map { .int(Timestamp.microsecondsSinceEpoch($0)) } ?? .null, entry.postedBy.sqlValue,
                    entry.correctsEntry.sqlValue, entry.reversesEntry.sqlValue, entry.createdBy.sqlValue,
                ])
            }
            let literals = columns.literals
            (ids, companyIds, modes, numbers, statuses, entryTypes) = (literals[0], literals[1], literals[2], literals[3],
                                                                       literals[4], literals[5])
            (sourceTypes, sourceIds, sourceEventIds, entryDates, postingDates) = (literals[6], literals[7], literals[8],
                                                                                literals[9], literals[10])
            (descriptions, references, currencies, totalsBaseMinor, versions) = (literals[11], literals[12], literals[13],
                                                                                literals[14], literals[15])
            (postedMicroseconds, postedBy, correctsEntries, reversesEntries, createdBy) = (literals[16], literals[17],
                                                                                         literals[18], literals[19], literals[20])
        }
    }

    /// Every line of the entries as array literals, in entry order, numbered from 1 within its entry (`insert`),
    /// written row by row as the entries are.
    private struct LineColumns {
        let ids, entryIds, companyIds, modes, numbers, accountIds, sides, amountsMinor, currencies: String
        let exchangeRates, baseAmountsMinor, descriptions: String

        init(_ entries: [NewEntry]) {
            var columns = SQLArrayColumns(count: 12, rowsExpected: entries.reduce(0) { $0 + $1.lines.count })
            for entry in entries {
                for (offset, line) in entry.lines.enumerated() {
                    columns.append([
                        .text(AccountingInput.newId()), .text(entry.id), .text(entry.companyId), .text(entry.mode.rawValue),
                        .int(Int64(offset + 1)), .text(line.accountId), .text(line.side.rawValue), .int(line.amountMinor),
                        .text(line.currency.code), .text(line.exchangeRate.text), .int(line.baseAmountMinor),
                        line.description.sqlValue,
                    ])
                }
            }
            let literals = columns.literals
            (ids, entryIds, companyIds, modes, numbers, accountIds) = (literals[0], literals[1], literals[2], literals[3],
                                                                       literals[4], literals[5])
            (sides, amountsMinor, currencies, exchangeRates, baseAmountsMinor, descriptions) = (literals[6], literals[7],
                                                                                             literals[8], literals[9],
                                                                                             literals[10], literals[11])
        }
    }

    /// Adds the lines of `entryIds` (now posted) to the per-day account balances, in account order so
    /// concurrent postings lock the rows in the same order. The entries and their lines are probed per id (the
    /// LATERALs; OFFSET 0 keeps each a probe) as in `lines(of:)`: with `entry_id = ANY(…)` the generic plan made while
    /// the ledger had no statistics read every line and entry of the database per batch (4.8 s a batch after a
    /// minute of sales on a new database).
    static func addToDayBalances(entryIds: [String], executor: any SQLExecutor) async throws {
        guard !entryIds.isEmpty else { return }
        try await executor.execute("""
            INSERT INTO accounting_account_days AS d (company_id, mode, account_id, day, debit_minor, credit_minor,
                closing_debit_minor, closing_credit_minor)
            SELECT l.company_id, l.mode, l.account_id, e.posting_date,
                   sum(CASE WHEN l.side = 'debit' THEN l.base_amount_minor ELSE 0 END)::bigint,
                   sum(CASE WHEN l.side = 'credit' THEN l.base_amount_minor ELSE 0 END)::bigint,
                   sum(CASE WHEN l.side = 'debit' AND e.entry_type = 'closing' THEN l.base_amount_minor ELSE 0 END)::bigint,
                   sum(CASE WHEN l.side = 'credit' AND e.entry_type = 'closing' THEN l.base_amount_minor ELSE 0 END)::bigint
            FROM (SELECT DISTINCT unnest(string_to_array(\(entryIds.joined(separator: ",")), ',')) AS entry_id) AS wanted
            CROSS JOIN LATERAL (
                SELECT company_id, mode, account_id, side, base_amount_minor FROM accounting_journal_lines
                WHERE entry_id = wanted.entry_id OFFSET 0
            ) AS l
            CROSS JOIN LATERAL (
                SELECT posting_date, entry_type FROM accounting_journal_entries WHERE id = wanted.entry_id OFFSET 0
            ) AS e
            GROUP BY l.company_id, l.mode, l.account_id, e.posting_date
            ORDER BY l.account_id, e.posting_date
            \(literal: Self.addToDaySQL)
            """)
    }

    /// How both `addToDayBalances` fold their rows into `accounting_account_days` (aliased `d`).
    private static let addToDaySQL: StaticString = """
        ON CONFLICT (company_id, mode, account_id, day) DO UPDATE
            SET debit_minor = d.debit_minor + EXCLUDED.debit_minor, credit_minor = d.credit_minor + EXCLUDED.credit_minor,
                closing_debit_minor = d.closing_debit_minor + EXCLUDED.closing_debit_minor,
                closing_credit_minor = d.closing_credit_minor + EXCLUDED.closing_credit_minor
        """

    /// Adds `entries`, posted by the same transaction, to the per-day account balances from the lines in hand: one row
    /// per account and day. WHY: the posting consumer wrote these lines a statement ago; reading them back (two index
    /// probes per entry, `addToDayBalances(entryIds:)`) cost more than the upsert. Rows are locked in account order, as
    /// there.
    static func addToDayBalances(_ entries: [NewEntry], executor: any SQLExecutor) async throws {
        let days = DayColumns(entries)
        guard days.rowCount > 0 else { return }
        try await executor.execute("""
            INSERT INTO accounting_account_days AS d (company_id, mode, account_id, day, debit_minor, credit_minor,
                closing_debit_minor, closing_credit_minor)
            SELECT company_id, mode, account_id, day, debit, credit, closing_debit, closing_credit
            FROM unnest(\(days.companyIds)::text[], \(days.modes)::text[], \(days.accountIds)::text[], \(days.days)::date[],
                        \(days.debits)::bigint[], \(days.credits)::bigint[], \(days.closingDebits)::bigint[],
                        \(days.closingCredits)::bigint[])
                 AS v(company_id, mode, account_id, day, debit, credit, closing_debit, closing_credit)
            ORDER BY account_id, day
            \(literal: Self.addToDaySQL)
            """)
    }

    /// Posted entries' base amounts summed per company, mode, account and posting day, as array literals.
    private struct DayColumns {
        struct Key: Hashable {
            let companyId: String
            let mode: Mode
            let accountId: String
            let day: String
        }

        struct Sums {
            var debit: Int64 = 0
            var credit: Int64 = 0
            var closingDebit: Int64 = 0
            var closingCredit: Int64 = 0
        }

        let rowCount: Int
        let companyIds, modes, accountIds, days, debits, credits, closingDebits, closingCredits: String

        init(_ entries: [NewEntry]) {
            var sums: [Key: Sums] = [:]
            var order: [Key] = []
            for entry in entries {
                precondition(entry.status != .draft, "a draft is not in the day balances")
                guard let day = entry.postingDate else { preconditionFailure("a posted entry has a posting date") }
                let closing = entry.entryType == "closing"
                for line in entry.lines {
                    let key = Key(companyId: entry.companyId, mode: entry.mode, accountId: line.accountId, day: day)
                    let known = sums[key]
                    if known == nil { order.append(key) }
                    var sum = known ?? Sums()
                    let debit = line.side == .debit ? line.baseAmountMinor : 0
                    let credit = line.side == .credit ? line.baseAmountMinor : 0
                    sum.debit += debit
                    sum.credit += credit
                    if closing {
                        sum.closingDebit += debit
                        sum.closingCredit += credit
                    }
                    sums[key] = sum
                }
            }
            let rows = order.map { (key: $0, sums: sums[$0] ?? Sums()) }
            rowCount = rows.count
            companyIds = SQLArrayLiteral.text(rows.map(\.key.companyId))
            modes = SQLArrayLiteral.text(rows.map(\.key.mode.rawValue))
            accountIds = SQLArrayLiteral.text(rows.map(\.key.accountId))
            days = SQLArrayLiteral.text(rows.map(\.key.day))
            debits = SQLArrayLiteral.integers(rows.map(\.sums.debit))
            credits = SQLArrayLiteral.integers(rows.map(\.sums.credit))
            closingDebits = SQLArrayLiteral.integers(rows.map(\.sums.closingDebit))
            closingCredits = SQLArrayLiteral.integers(rows.map(\.sums.closingCredit))
        }
    }

    func createDraft(_ entry: NewEntry, now: Date) async throws -> String {
        precondition(entry.status == .draft, "the API creates drafts")
        return try await database.transaction { tx in
            let number = try await Self.reserveNumbers(companyId: entry.companyId, mode: entry.mode, count: 1, executor: tx)
            try await Self.insert([entry], firstNumber: number, now: now, executor: tx)
            return entry.id
        }
    }

    struct DraftChanges: Sendable {
        var entryDate: String?
        var description: String?
        var reference: String?
        var entryType: String?
        var lines: [LedgerLine]?
    }

    /// Applies `changes` to a draft (409 unless it is one); nil when the entry does not exist for the caller.
    func updateDraft(_ id: String, organizationId: String, mode: Mode, changes: DraftChanges, now: Date) async throws -> Bool {
        try await database.transaction { tx in
            guard let entry = try await find(id, organizationId: organizationId, mode: mode, executor: tx, forUpdate: true) else {
                return false
            }
            var lifecycle = JournalEntryLifecycle(status: entry.status)
            _ = try lifecycle.update()
            let total = changes.lines.map { JournalLineRules.totals($0).debits } ?? entry.totalBaseMinor
            try await tx.execute("""
                UPDATE accounting_journal_entries SET entry_date = \(changes.entryDate ?? entry.entryDate)::date,
                    description = \(changes.description ?? entry.description), reference = \(changes.reference ?? entry.reference),
                    entry_type = \(changes.entryType ?? entry.entryType), total_base_minor = \(total), updated_at = \(now)
                WHERE id = \(id)
                """)
            if let lines = changes.lines {
                try await tx.execute("DELETE FROM accounting_journal_lines WHERE entry_id = \(id)")
                try await Self.insertLines(lines, entryId: id, companyId: entry.companyId, mode: mode, executor: tx)
            }
            return true
        }
    }

    private static func insertLines(_ lines: [LedgerLine], entryId: String, companyId: String, mode: Mode,
                                    executor: any SQLExecutor) async throws {
        for (number, line) in lines.enumerated() {
            try await executor.execute("""
                INSERT INTO accounting_journal_lines (id, entry_id, company_id, mode, line_number, account_id, side,
                    amount_minor, currency, exchange_rate, base_amount_minor, description)
                VALUES (\(AccountingInput.newId()), \(entryId), \(companyId), \(mode), \(number + 1), \(line.accountId),
                    \(line.side.rawValue), \(line.amountMinor), \(line.currency.code), \(line.exchangeRate.text)::numeric,
                    \(line.baseAmountMinor), \(line.description))
                """)
        }
    }

    func deleteDraft(_ id: String, organizationId: String, mode: Mode) async throws -> Bool {
        try await database.transaction { tx in
            guard let entry = try await find(id, organizationId: organizationId, mode: mode, executor: tx, forUpdate: true) else {
                return false
            }
            var lifecycle = JournalEntryLifecycle(status: entry.status)
            _ = try lifecycle.delete()
            try await tx.execute("DELETE FROM accounting_journal_lines WHERE entry_id = \(id)")
            try await tx.execute("DELETE FROM accounting_journal_entries WHERE id = \(id)")
            return true
        }
    }

    /// draft → posted: the entry is frozen and its lines join the day balances, in one commit.
    func post(_ id: String, organizationId: String, mode: Mode, postingDate: String?, userId: String,
              clock: any WallClock) async throws -> Bool {
        try await database.transaction { tx in
            guard let entry = try await find(id, organizationId: organizationId, mode: mode, executor: tx, forUpdate: true) else {
                return false
            }
            var lifecycle = JournalEntryLifecycle(status: entry.status)
            guard case .post(let date, let at) = try lifecycle.post(postingDate: postingDate ?? entry.entryDate, clock: clock) else {
                preconditionFailure("post returns a post action")
            }
            let (debits, credits) = JournalLineRules.totals(entry.ledgerLines)
            guard entry.lines.count >= JournalLineRules.linesMin, debits == credits, debits > 0 else {
                throw AtlasError.invalidField("lines", "The entry is unbalanced and cannot be posted")
            }
            try await Self.requireOpen(date, companyId: entry.companyId, mode: mode, field: "posting_date", executor: tx)
            try await tx.execute("""
                UPDATE accounting_journal_entries SET status = 'posted', posting_date = \(date)::date, posted_at = \(at),
                    posted_by = \(userId), total_base_minor = \(debits), updated_at = \(at)
                WHERE id = \(id)
                """)
            try await Self.addToDayBalances(entryIds: [id], executor: tx)
            return true
        }
    }

    struct Correction: Sendable {
        var entryDate: String?
        var description: String?
        var lines: [LedgerLine]
    }

    /// posted → void: posts the reversing entry (dated like the original, so every report is back to what it
    /// was) and, for a correction, the corrected entry (version + 1). Returns the reversal's or the new entry's id.
    func reverse(_ id: String, organizationId: String, mode: Mode, reason: String, correction: Correction?, userId: String,
                 clock: any WallClock) async throws -> String? {
        try await database.transaction { tx in
            guard let entry = try await find(id, organizationId: organizationId, mode: mode, executor: tx, forUpdate: true) else {
                return nil
            }
            var lifecycle = JournalEntryLifecycle(status: entry.status)
            guard case .reverse(_, let at) = try lifecycle.reverse(reason: reason, clock: clock) else {
                preconditionFailure("reverse returns a reverse action")
            }
            try await Self.requireOpen(entry.postingDate ?? entry.entryDate, companyId: entry.companyId, mode: mode,
                                       field: "entry_date", executor: tx)
            if let correction {
                try await Self.requireOpen(correction.entryDate ?? entry.entryDate, companyId: entry.companyId, mode: mode,
                                           field: "entry_date", executor: tx)
            }
            let written = try await Self.reverseLocked(entry, mode: mode, reason: reason, correction: correction, userId: userId,
                                                       at: at, executor: tx)
            return written.corrected ?? written.reversal
        }
    }

    /// Writes the reversal (and correction) of `entry`, read under `FOR UPDATE` by the caller's transaction, and
    /// marks it void. The caller has checked the transition and the periods.
    static func reverseLocked(_ entry: JournalEntry, mode: Mode, reason: String, correction: Correction?, userId: String,
                              at: Date, executor tx: any SQLExecutor) async throws -> (reversal: String, corrected: String?) {
        let postingDate = entry.postingDate ?? entry.entryDate
        let reversal = NewEntry(companyId: entry.companyId, mode: mode, status: .posted, entryType: entry.entryType,
                                sourceType: entry.sourceType, sourceId: entry.sourceId, entryDate: postingDate,
                                postingDate: postingDate, description: "Reversal of \(entry.entryNumber): \(reason)",
                                reference: entry.reference, currency: entry.currency, postedAt: at, postedBy: userId,
                                reversesEntry: entry.id, createdBy: userId, lines: entry.ledgerLines.map(\.reversed))
        var written = [reversal]
        var corrected: NewEntry?
        if let correction {
            let date = correction.entryDate ?? entry.entryDate
            let new = NewEntry(companyId: entry.companyId, mode: mode, status: .posted, entryType: entry.entryType,
                               sourceType: entry.sourceType, sourceId: entry.sourceId, entryDate: date, postingDate: date,
                               description: correction.description ?? entry.description, reference: entry.reference,
                               currency: entry.currency, version: entry.version + 1, postedAt: at, postedBy: userId,
                               correctsEntry: entry.id, createdBy: userId, lines: correction.lines)
            written.append(new)
            corrected = new
        }
        let first = try await reserveNumbers(companyId: entry.companyId, mode: mode, count: written.count, executor: tx)
        try await insert(written, firstNumber: first, now: at, executor: tx)
        try await tx.execute("""
            UPDATE accounting_journal_entries SET status = 'void', voided_at = \(at), voided_by = \(userId),
                void_reason = \(reason), reversed_by = \(reversal.id), superseded_by = \(corrected?.id), updated_at = \(at)
            WHERE id = \(entry.id)
            """)
        try await addToDayBalances(entryIds: written.map(\.id), executor: tx)
        return (reversal.id, corrected?.id)
    }

    /// 409 naming `field` when `day` falls in a closed period of the ledger. Takes a share lock on the company
    /// row first, so a concurrent period close (which locks it for update) either precedes this check or waits.
    static func requireOpen(_ day: String, companyId: String, mode: Mode, field: String, executor: any SQLExecutor) async throws {
        try await executor.execute("SELECT id FROM accounting_companies WHERE id = \(companyId) FOR SHARE")
        guard let row = try await executor.queryFirst("""
            SELECT period_start::text AS period_start, period_end::text AS period_end FROM accounting_periods
            WHERE company_id = \(companyId) AND mode = \(mode) AND status = 'closed'
              AND \(day)::date BETWEEN period_start AND period_end
            LIMIT 1
            """) else { return }
        let start: String = try row.decode("period_start")
        let end: String = try row.decode("period_end")
        throw AtlasError(kind: .conflict, status: 409, code: "PERIOD_CLOSED",
                         message: "\(field) \(day) falls in the closed period \(start) to \(end); reopen it or post into an open period",
                         details: ErrorDetails(field: field))
    }
}
