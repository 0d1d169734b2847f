import Foundation
import Kernel

/// Posts every approved payment of the Transactions module into its merchant's company ledger (live
/// payments into the live ledger, test payments into the test one), exactly once, by consuming the event
/// log. Idempotent apply: each entry keeps its event id in `source_event_id` (unique per ledger), and a
/// redelivered event finds its entry and writes nothing. A batch costs a constant number of statements
/// (companies and rules, existing entries, numbering per ledger, one insert of every entry and line, the
/// voided originals, the day balances), whatever its size: no round trip per entry.
///
/// Merchants without a company, or whose company has no chart of accounts yet, post nothing (their
/// payments before the company existed are not back-filled). An event that cannot be posted (a payload
/// without its amounts, a currency other than the company's base currency, a posting rule naming a missing
/// account) throws, so the event log retries and then parks it (`atlas admin events-parked`).
struct LedgerPostingConsumer: Sendable {
    static let name = "accounting.ledger"
    static let eventTypes: Set<String> = ["transaction.approved"]
    /// Events per batch: one statement writes them all.
    static let batchEventsMax = 200
    static let postedBy = "system:accounting.ledger"

    enum PostingError: Error, CustomStringConvertible {
        case malformedPayload(eventId: String)
        case currencyMismatch(eventId: String, currency: String, base: String)
        case missingAccount(eventId: String, rule: String)

        var description: String {
            switch self {
            case .malformedPayload(let id): "event \(id): the payload lacks the transaction's id, type, tender, amount or currency"
            case .currencyMismatch(let id, let currency, let base):
                "event \(id): a \(currency) payment cannot post into a \(base) ledger without an exchange rate"
            case .missingAccount(let id, let rule): "event \(id): the company has no account for posting rule \(rule)"
            }
        }
    }

    let database: any Database
    let clock: any WallClock
    let logger: Logger

    var consumer: EventConsumer {
        EventConsumer(name: Self.name, eventTypes: Self.eventTypes, batchEventsMax: Self.batchEventsMax) { batch in
            try await handle(batch)
        }
    }

    private struct LedgerCompany {
        let id: String
        let base: Currency
    }

    private struct LedgerKey: Hashable {
        let companyId: String
        let mode: Mode
    }

    /// A posted entry a VOID may reverse (stored earlier, or written earlier in this batch).
    private struct Original {
        let id: String
        let entryNumber: String?
        let lines: [LedgerLine]
    }

    func handle(_ batch: [LoggedEvent]) async throws {
        var items: [(event: DomainEvent, movement: PaymentMovement)] = []
        for logged in batch where Self.eventTypes.contains(logged.event.type) {
            guard let movement = PaymentMovement(payload: logged.event.payload) else {
                throw PostingError.malformedPayload(eventId: logged.event.id.rawValue)
            }
            items.append((logged.event, movement))
        }
        let merchants = Set(items.map(\.event.tenant.merchantId)).filter { !$0.contains(",") }
        guard !merchants.isEmpty else { return }
        let companies = try await companies(for: merchants)
        items = items.filter { companies[$0.event.tenant.merchantId] != nil }
        guard !items.isEmpty else { return }
        let companyIds = Set(companies.values.map(\.id)).sorted()
        let rules = try await rules(companyIds: companyIds)
        let done = try await postedEventIds(companyIds: companyIds, eventIds: items.map(\.event.id.rawValue))
        let voided = items.compactMap { item -> String? in
            guard case .reverseOriginal(let id) = TransactionPosting.plan(item.movement) else { return nil }
            return id
        }
        var stored = try await originals(companyIds: companyIds, transactionIds: voided)
        let closed = try await closedPeriods(companyIds: companyIds)
        let now = clock.now()

        var entries: [JournalStore.NewEntry] = []
        var voidedOriginals: [(originalId: String, reversalId: String)] = []
        for (event, movement) in items where !done.contains(event.id.rawValue) {
            guard let company = companies[event.tenant.merchantId] else { continue }
            let key = LedgerKey(companyId: company.id, mode: event.tenant.mode)
            guard movement.currency == company.base.code else {
                throw PostingError.currencyMismatch(eventId: event.id.rawValue, currency: movement.currency, base: company.base.code)
            }
            let day = Self.firstOpenDay(AccountingInput.day(of: event.occurredAt), closed: closed[key] ?? [])
            var entry = JournalStore.NewEntry(companyId: company.id, mode: event.tenant.mode, status: .posted,
                                              entryType: "payment", sourceType: "transaction", sourceId: movement.transactionId,
                                              sourceEventId: event.id.rawValue, entryDate: day, postingDate: day,
                                              description: "", reference: movement.transactionId, currency: company.base,
                                              postedAt: now, postedBy: Self.postedBy, createdBy: Self.postedBy, lines: [])
            switch TransactionPosting.plan(movement) {
            case .nothing: continue
            case .post(let description, let lines):
                entry.description = description
                entry.lines = try lines.map { line in
                    guard let accountId = rules[key]?[line.rule] else {
                        throw PostingError.missingAccount(eventId: event.id.rawValue, rule: line.rule.rawValue)
                    }
                    return LedgerLine(accountId: accountId, side: line.side, amountMinor: line.amount, currency: company.base,
                                      exchangeRate: .one, baseAmountMinor: line.amount, description: nil)
                }
                stored["\(key.companyId)|\(key.mode.rawValue)|\(movement.transactionId)"] =
                    Original(id: entry.id, entryNumber: nil, lines: entry.lines)
            case .reverseOriginal(let originalTransaction):
                let originalKey = "\(key.companyId)|\(key.mode.rawValue)|\(originalTransaction)"
                // A payment voided before its company existed, or a released pre-authorization, posted nothing.
                guard let original = stored.removeValue(forKey: originalKey) else { continue }
                entry.description = "void \(movement.transactionId) of \(original.entryNumber ?? originalTransaction)"
                entry.reversesEntry = original.id
                entry.lines = original.lines.map(\.reversed)
                voidedOriginals.append((original.id, entry.id))
            }
            entries.append(entry)
        }
        guard !entries.isEmpty else { return }
        try await write(entries, voidedOriginals: voidedOriginals, now: now)
        logger.debug("ledger postings written", ["entries": .int(Int64(entries.count)), "events": .int(Int64(batch.count))])
    }

    /// One transaction: numbers per ledger, every entry and line, the voided originals, the day balances.
    private func write(_ entries: [JournalStore.NewEntry], voidedOriginals: [(originalId: String, reversalId: String)],
                       now: Date) async throws {
        try await database.transaction { tx in
            var byLedger: [LedgerKey: [JournalStore.NewEntry]] = [:]
            var order: [LedgerKey] = []
            for entry in entries {
                let key = LedgerKey(companyId: entry.companyId, mode: entry.mode)
                if byLedger[key] == nil { order.append(key) }
                byLedger[key, default: []].append(entry)
            }
            for key in order {
                let ledger = byLedger[key] ?? []
                let first = try await JournalStore.reserveNumbers(companyId: key.companyId, mode: key.mode, count: ledger.count,
                                                                  executor: tx)
                try await JournalStore.insert(ledger, firstNumber: first, now: now, executor: tx)
            }
            if !voidedOriginals.isEmpty {
                var binds: [SQLValue] = [.timestamp(now), .text(Self.postedBy)]
                var values: [String] = []
                for pair in voidedOriginals {
                    binds += [.text(pair.originalId), .text(pair.reversalId)]
                    values.append("($\(binds.count - 1)::text, $\(binds.count)::text)")
                }
                let text = "UPDATE accounting_journal_entries AS e SET status = 'void', voided_at = $1, voided_by = $2, "
                    + "void_reason = 'payment voided', reversed_by = v.reversal_id, updated_at = $1 FROM (VALUES "
                    + values.joined(separator: ", ") + ") AS v(original_id, reversal_id) WHERE e.id = v.original_id"
                try await tx.execute(SQL(text, binds: binds))
            }
            try await JournalStore.addToDayBalances(entryIds: entries.map(\.id), executor: tx)
        }
    }

    /// `day`, or the first day after the closed period that contains it: a payment made while its period was
    /// being closed posts into the next open period (spec B.2 rule 25), never into a closed one.
    static func firstOpenDay(_ day: String, closed: [(start: String, end: String)]) -> String {
        var current = day
        while let period = closed.first(where: { $0.start <= current && current <= $0.end }) {
            current = AccountingInput.nextDay(period.end)
        }
        return current
    }

    // MARK: Reads

    /// Closed periods per ledger. A close that commits after this read makes the batch's insert fail in the
    /// database (the period lock trigger); the event log then redelivers and this read sees it.
    private func closedPeriods(companyIds: [String]) async throws -> [LedgerKey: [(start: String, end: String)]] {
        let rows = try await database.query("""
            SELECT company_id, mode, period_start::text AS period_start, period_end::text AS period_end FROM accounting_periods
            WHERE company_id = ANY(string_to_array(\(companyIds.joined(separator: ",")), ',')) AND status = 'closed'
            """)
        var result: [LedgerKey: [(start: String, end: String)]] = [:]
        for row in rows {
            guard let mode = Mode(rawValue: try row.decode("mode")) else { continue }
            result[LedgerKey(companyId: try row.decode("company_id"), mode: mode), default: []]
                .append((start: try row.decode("period_start"), end: try row.decode("period_end")))
        }
        return result
    }

    /// Companies linked to `merchants` that have a chart of accounts.
    private func companies(for merchants: Set<String>) async throws -> [String: LedgerCompany] {
        let rows = try await database.query("""
            SELECT id, merchant_id, base_currency FROM accounting_companies
            WHERE merchant_id = ANY(string_to_array(\(merchants.sorted().joined(separator: ",")), ',')) AND coa_template IS NOT NULL
            """)
        var result: [String: LedgerCompany] = [:]
        for row in rows {
            guard let base = Currency(code: try row.decode("base_currency")) else { continue }
            result[try row.decode("merchant_id")] = LedgerCompany(id: try row.decode("id"), base: base)
        }
        return result
    }

    /// Posting rule → account id, per ledger.
    private func rules(companyIds: [String]) async throws -> [LedgerKey: [PostingRule: String]] {
        let rows = try await database.query("""
            SELECT r.company_id, r.mode, r.rule_key, a.id AS account_id
            FROM accounting_posting_rules r JOIN accounting_accounts a
              ON a.company_id = r.company_id AND a.mode = r.mode AND a.account_number = r.account_number
            WHERE r.company_id = ANY(string_to_array(\(companyIds.joined(separator: ",")), ','))
            """)
        var result: [LedgerKey: [PostingRule: String]] = [:]
        for row in rows {
            guard let mode = Mode(rawValue: try row.decode("mode")), let rule = PostingRule(rawValue: try row.decode("rule_key")) else {
                continue
            }
            result[LedgerKey(companyId: try row.decode("company_id"), mode: mode), default: [:]][rule] = try row.decode("account_id", as: String.self)
        }
        return result
    }

    private func postedEventIds(companyIds: [String], eventIds: [String]) async throws -> Set<String> {
        let rows = try await database.query("""
            SELECT source_event_id FROM accounting_journal_entries
            WHERE company_id = ANY(string_to_array(\(companyIds.joined(separator: ",")), ','))
              AND source_event_id = ANY(string_to_array(\(eventIds.joined(separator: ",")), ','))
            """)
        return Set(try rows.map { try $0.decode("source_event_id", as: String.self) })
    }

    /// Posted entries of the payments that `transactionIds` void, keyed "company|mode|transaction".
    private func originals(companyIds: [String], transactionIds: [String]) async throws -> [String: Original] {
        guard !transactionIds.isEmpty else { return [:] }
        let rows = try await database.query("""
            SELECT id, company_id, mode, source_id, entry_number FROM accounting_journal_entries
            WHERE company_id = ANY(string_to_array(\(companyIds.joined(separator: ",")), ','))
              AND source_type = 'transaction' AND status = 'posted' AND reverses_entry IS NULL
              AND source_id = ANY(string_to_array(\(transactionIds.joined(separator: ",")), ','))
            """)
        let lines = try await JournalStore(database: database).lines(of: try rows.map { try $0.decode("id") }, executor: database)
        var result: [String: Original] = [:]
        for row in rows {
            let id: String = try row.decode("id")
            let key = "\(try row.decode("company_id", as: String.self))|\(try row.decode("mode", as: String.self))|"
                + (try row.decode("source_id", as: String.self))
            result[key] = Original(id: id, entryNumber: try row.decode("entry_number"), lines: (lines[id] ?? []).map(\.line))
        }
        return result
    }
}
