import Foundation
import Kernel

/// One closed (or reopened) period of a ledger: its place in the chain and what it locked.
struct Period: Sendable, Hashable {
    var id: String
    var companyId: String
    var mode: Mode
    var sequence: Int64
    var periodStart: String
    var periodEnd: String
    var status: String
    var entriesCount: Int64
    var entriesHash: String
    var previousHash: String
    var chainHash: String
    var closingEntryId: String?
    /// The unrealised exchange differences posted at the close (dated the period end) and their reversal (dated the
    /// day after); nil when no open foreign-currency document changed value.
    var revaluationEntryId: String?
    var revaluationReversalEntryId: String?
    var closedAt: Date
    var closedBy: String
    var reopenedAt: Date?
    var reopenedBy: String?
    var reopenReason: String?

    static let columns: StaticString = """
        id, company_id, mode, sequence, period_start::text AS period_start, period_end::text AS period_end, status,
        entries_count, entries_hash, previous_hash, chain_hash, closing_entry_id, revaluation_entry_id,
        revaluation_reversal_entry_id, closed_at, closed_by, reopened_at, reopened_by, reopen_reason
        """

    init(row: Row) throws {
        guard let mode = Mode(rawValue: try row.decode("mode")) else {
            throw DatabaseError(kind: .decoding, message: "unexpected mode in accounting_periods")
        }
        id = try row.decode("id")
        companyId = try row.decode("company_id")
        self.mode = mode
        sequence = try row.decode("sequence")
        periodStart = try row.decode("period_start")
        periodEnd = try row.decode("period_end")
        status = try row.decode("status")
        entriesCount = try row.decode("entries_count")
        entriesHash = try row.decode("entries_hash")
        previousHash = try row.decode("previous_hash")
        chainHash = try row.decode("chain_hash")
        closingEntryId = try row.decode("closing_entry_id")
        revaluationEntryId = try row.decode("revaluation_entry_id")
        revaluationReversalEntryId = try row.decode("revaluation_reversal_entry_id")
        closedAt = try row.decode("closed_at")
        closedBy = try row.decode("closed_by")
        reopenedAt = try row.decode("reopened_at")
        reopenedBy = try row.decode("reopened_by")
        reopenReason = try row.decode("reopen_reason")
    }

    var json: JSONValue {
        ["id": .string(id), "company_id": .string(companyId), "sequence": .int(sequence), "period_start": .string(periodStart),
         "period_end": .string(periodEnd), "status": .string(status), "entries_count": .int(entriesCount),
         "entries_hash": .string(entriesHash), "previous_hash": .string(previousHash), "chain_hash": .string(chainHash),
         "closing_entry_id": .text(closingEntryId), "revaluation_entry_id": .text(revaluationEntryId),
         "revaluation_reversal_entry_id": .text(revaluationReversalEntryId), "closed_at": .timestamp(closedAt), "closed_by": .string(closedBy),
         "reopened_at": .timestamp(reopenedAt), "reopened_by": .text(reopenedBy), "reopen_reason": .text(reopenReason)]
    }
}

/// `accounting_periods`: close (unrealised exchange differences, closing entry, lock, hash, `period.closed` event in one
/// transaction), reopen (audited on the row, the closing and revaluation entries reversed, `period.reopened`), and the
/// chain check.
struct PeriodStore: Sendable {
    let database: any Database
    let crypto: any CryptoService
    let eventLog: any EventLogWriter

    func list(companyId: String, mode: Mode, executor: (any SQLExecutor)? = nil) async throws -> [Period] {
        try await (executor ?? database).query("""
            SELECT \(literal: Period.columns) FROM accounting_periods WHERE company_id = \(companyId) AND mode = \(mode)
            ORDER BY sequence
            """).map(Period.init(row:))
    }

    /// Closes `start`…`end` of the company's ledger in `mode`.
    func close(_ company: Company, mode: Mode, start: String, end: String, userId: String, now: Date) async throws -> Period {
        let period = try await database.transaction { tx in
            // Closes of one company run one at a time; postings check the periods under a share lock of this row.
            try await tx.execute("SELECT id FROM accounting_companies WHERE id = \(company.id) FOR UPDATE")
            let existing = try await list(companyId: company.id, mode: mode, executor: tx)
            if let overlap = existing.first(where: { $0.status == "closed" && $0.periodStart <= end && start <= $0.periodEnd }) {
                throw AtlasError(kind: .conflict, status: 409, code: "PERIOD_OVERLAP",
                                 message: "The period overlaps the closed period \(overlap.periodStart) to \(overlap.periodEnd)",
                                 details: ErrorDetails(field: "period_start"))
            }
            let ledger = try await ReportStore(database: database).totals(companyId: company.id, mode: mode, from: nil, to: end,
                                                                         executor: tx)
            let trial = ReportBuilder.trialBalance(ledger)
            guard trial.debits == trial.credits else {
                throw AccountingInput.conflict("The trial balance as of \(end) does not balance; the period cannot be closed")
            }
            // Before the closing entry: the revaluation's gain or loss is part of the period's result it closes.
            let id = AccountingInput.newId()
            let closedRanges = existing.filter { $0.status == "closed" }.map { (start: $0.periodStart, end: $0.periodEnd) }
            let revaluation = try await postRevaluation(company, mode: mode, periodId: id, start: start, end: end, closed: closedRanges,
                                                        userId: userId, now: now, executor: tx)
            let activity = try await ReportStore(database: database).totals(companyId: company.id, mode: mode, from: start,
                                                                           to: end, excludingClosing: true, executor: tx)
            var closingEntryId: String?
            if activity.contains(where: { ($0.type == "revenue" || $0.type == "expense") && $0.debit != $0.credit }) {
                guard let retained = try await retainedEarnings(companyId: company.id, mode: mode, executor: tx) else {
                    throw AccountingInput.conflict("The company has no retained earnings account (posting rule retained_earnings)")
                }
                let lines = PeriodChain.closingLines(activity, retainedEarnings: retained, currency: company.baseCurrency)
                let entry = JournalStore.NewEntry(companyId: company.id, mode: mode, status: .posted, entryType: "closing",
                                                  sourceType: "manual", entryDate: end, postingDate: end,
                                                  description: "Closing entry for \(start) to \(end)", currency: company.baseCurrency,
                                                  postedAt: now, postedBy: userId, createdBy: userId, lines: lines)
                let number = try await JournalStore.reserveNumbers(companyId: company.id, mode: mode, count: 1, executor: tx)
                try await JournalStore.insert([entry], firstNumber: number, now: now, executor: tx)
                try await JournalStore.addToDayBalances(entryIds: [entry.id], executor: tx)
                closingEntryId = entry.id
            }
            let entries = try await hashedEntries(companyId: company.id, mode: mode, start: start, end: end, executor: tx)
            let entriesHash = PeriodChain.entriesHash(entries, crypto: crypto)
            let previous = existing.last(where: { $0.status == "closed" })?.chainHash ?? PeriodChain.genesisHash
            let chain = PeriodChain.chainHash(previous: previous, entriesHash: entriesHash, crypto: crypto)
            let sequence = (existing.map(\.sequence).max() ?? 0) + 1
            guard let row = try await tx.queryFirst("""
                INSERT INTO accounting_periods (id, company_id, mode, sequence, period_start, period_end, status, entries_count,
                    entries_hash, previous_hash, chain_hash, closing_entry_id, revaluation_entry_id, revaluation_reversal_entry_id,
                    closed_at, closed_by)
                VALUES (\(id), \(company.id), \(mode), \(sequence), \(start)::date, \(end)::date, 'closed', \(entries.count),
                    \(entriesHash), \(previous), \(chain), \(closingEntryId), \(revaluation.revaluation), \(revaluation.reversal),
                    \(now), \(userId))
                RETURNING \(literal: Period.columns)
                """) else { throw DatabaseError(kind: .query, message: "period insert returned no row") }
            let period = try Period(row: row)
            try await eventLog.append([event("period.closed", period, company: company, now: now)], in: tx)
            return period
        }
        eventLog.appendCommitted()
        return period
    }

    enum ReopenOutcome { case reopened(Period), notFound }

    /// closed → reopened, only the latest closed period of its ledger (a later one would be chained to it).
    func reopen(_ id: String, organizationId: String, mode: Mode, reason: String, userId: String, now: Date) async throws -> ReopenOutcome {
        let outcome = try await database.transaction { tx -> (ReopenOutcome, Bool) in
            guard let found = try await tx.queryFirst("""
                SELECT p.company_id FROM accounting_periods p JOIN accounting_companies c ON c.id = p.company_id
                WHERE p.id = \(id) AND p.mode = \(mode) AND c.org_id = \(organizationId)
                """), let company = try await CompanyStore(database: database).find(try found.decode("company_id"),
                                                                                  organizationId: organizationId, executor: tx) else {
                return (ReopenOutcome.notFound, false)
            }
            try await tx.execute("SELECT id FROM accounting_companies WHERE id = \(company.id) FOR UPDATE")
            let periods = try await list(companyId: company.id, mode: mode, executor: tx)
            guard let period = periods.first(where: { $0.id == id }), period.status == "closed" else {
                throw AccountingInput.conflict("Only a closed period can be reopened")
            }
            guard periods.last(where: { $0.status == "closed" })?.id == id else {
                throw AccountingInput.conflict("Only the latest closed period can be reopened; reopen the later ones first")
            }
            guard let row = try await tx.queryFirst("""
                UPDATE accounting_periods SET status = 'reopened', reopened_at = \(now), reopened_by = \(userId),
                    reopen_reason = \(reason)
                WHERE id = \(id) RETURNING \(literal: Period.columns)
                """) else { return (ReopenOutcome.notFound, false) }
            let reopened = try Period(row: row)
            // Each reversal is dated like its original: the closing entry and the revaluation in the reopened period, the
            // revaluation's own reversal on the day after (open: a close there before this one refused this close, one
            // after it is the latest closed period).
            for entryId in [period.closingEntryId, period.revaluationEntryId, period.revaluationReversalEntryId].compactMap({ $0 }) {
                if let entry = try await JournalStore(database: database).find(entryId, organizationId: organizationId, mode: mode,
                                                                               executor: tx, forUpdate: true),
                   entry.status == .posted {
                    _ = try await JournalStore.reverseLocked(entry, mode: mode, reason: "period reopened: \(reason)", correction: nil,
                                                             userId: userId, at: now, executor: tx)
                }
            }
            try await eventLog.append([event("period.reopened", reopened, company: company, now: now)], in: tx)
            return (ReopenOutcome.reopened(reopened), true)
        }
        if outcome.1 { eventLog.appendCommitted() }
        return outcome.0
    }

    struct ChainBreak: Sendable, Hashable {
        var periodId: String
        var reason: String
    }

    /// Recomputes every closed period's entries hash and the chain links of one ledger.
    func verify(companyId: String, mode: Mode) async throws -> (checked: Int, breaks: [ChainBreak]) {
        var previous = PeriodChain.genesisHash
        var breaks: [ChainBreak] = []
        let closed = try await list(companyId: companyId, mode: mode).filter { $0.status == "closed" }
        for period in closed {
            let entries = try await hashedEntries(companyId: companyId, mode: mode, start: period.periodStart, end: period.periodEnd,
                                                  executor: database)
            let entriesHash = PeriodChain.entriesHash(entries, crypto: crypto)
            if entriesHash != period.entriesHash {
                breaks.append(ChainBreak(periodId: period.id, reason: "the period's posted entries no longer hash to entries_hash"))
            }
            if period.previousHash != previous {
                breaks.append(ChainBreak(periodId: period.id, reason: "previous_hash is not the chain hash of the period before"))
            }
            if PeriodChain.chainHash(previous: period.previousHash, entriesHash: period.entriesHash, crypto: crypto) != period.chainHash {
                breaks.append(ChainBreak(periodId: period.id, reason: "chain_hash does not follow from previous_hash and entries_hash"))
            }
            previous = period.chainHash
        }
        return (closed.count, breaks)
    }

    // MARK: Helpers

    private func retainedEarnings(companyId: String, mode: Mode, executor: any SQLExecutor) async throws -> String? {
        try await executor.queryFirst("""
            SELECT a.id FROM accounting_posting_rules r JOIN accounting_accounts a
              ON a.company_id = r.company_id AND a.mode = r.mode AND a.account_number = r.account_number
            WHERE r.company_id = \(companyId) AND r.mode = \(mode) AND r.rule_key = \(PostingRule.retainedEarnings.rawValue)
            """)?.decode("id")
    }

    /// The posted and void entries dated in the period, with their lines, as the hash reads them.
    private func hashedEntries(companyId: String, mode: Mode, start: String, end: String,
                               executor: any SQLExecutor) async throws -> [PeriodChain.HashedEntry] {
        let rows = try await executor.query("""
            SELECT e.id, e.entry_number, e.posting_date::text AS posting_date, e.status, e.entry_type, l.line_number,
                   l.account_id, l.side, l.base_amount_minor
            FROM accounting_journal_entries e JOIN accounting_journal_lines l ON l.entry_id = e.id
            WHERE e.company_id = \(companyId) AND e.mode = \(mode) AND e.status IN ('posted', 'void')
              AND e.posting_date BETWEEN \(start)::date AND \(end)::date
            ORDER BY e.entry_number, l.line_number
            """)
        var entries: [PeriodChain.HashedEntry] = []
        for row in rows {
            let id: String = try row.decode("id")
            if entries.last?.id != id {
                entries.append(PeriodChain.HashedEntry(id: id, entryNumber: try row.decode("entry_number"),
                                                       postingDate: try row.decode("posting_date"), status: try row.decode("status"),
                                                       entryType: try row.decode("entry_type"), lines: []))
            }
            entries[entries.count - 1].lines.append(PeriodChain.HashedLine(
                lineNumber: try row.decode("line_number"), accountId: try row.decode("account_id"), side: try row.decode("side"),
                baseAmountMinor: try row.decode("base_amount_minor")))
        }
        return entries
    }

    /// Events about a company's ledger name its merchant, or its organization when the company has none (the
    /// event log keys every event by a tenant).
    private func event(_ type: String, _ period: Period, company: Company, now: Date) -> DomainEvent {
        DomainEvent(type: type, tenant: TenantContext(merchantId: company.merchantId ?? company.organizationId, mode: period.mode),
                    resourceId: period.id, occurredAt: now, payload: [
                        "period_id": .string(period.id), "company_id": .string(company.id),
                        "period_start": .string(period.periodStart), "period_end": .string(period.periodEnd),
                        "status": .string(period.status), "chain_hash": .string(period.chainHash),
                        "closing_entry_id": .text(period.closingEntryId),
                        "revaluation_entry_id": .text(period.revaluationEntryId), "reopen_reason": .text(period.reopenReason),
                    ])
    }
}
