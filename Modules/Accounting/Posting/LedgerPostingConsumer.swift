import Foundation
import Kernel

/// Posts every approved payment of the Transactions module, every settled transaction and every stored-value
/// load and offline spend of Reconciliation, and every rounding-API record's rounding (`RoundingPosting`), into its
/// merchant's company ledger (live events into the live ledger, test ones into the test ledger), exactly once, by
/// consuming the event log; card pre-authorizations become pending holds (`PreAuthHold`), not entries, released by
/// their completion, void or `transaction.expired`. Idempotent apply: each entry keeps its event id in `source_event_id` (unique per ledger), and a
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
    static let approvedType = "transaction.approved"
    /// Appended by Reconciliation when a close claims a transaction: its card clearing moves to the acquirer receivable.
    static let settledType = "transaction.settled"
    /// Appended by Reconciliation's card registry with each stored-value balance change (`StoredValuePosting`).
    static let storedValueTypes: Set<String> = [StoredValueMovement.Kind.loaded.rawValue, StoredValueMovement.Kind.debited.rawValue]
    /// Appended by Transactions' expiry sweep when a PRE_AUTH ran out of its window: its hold is released.
    static let expiredType = "transaction.expired"
    /// Appended by Rounding with each rounding-API record (`RoundingPosting`).
    static let roundingType = "rounding.recorded"
    static let eventTypes: Set<String> = Set([approvedType, settledType, expiredType, roundingType]).union(storedValueTypes)
    /// Events per batch: one statement writes them all (its text does not grow with them: `JournalStore.insert`).
    /// WHY 1,000: a batch also costs a fixed set of reads, the numbering, the day balances and a commit; 1,000
    /// spreads them over more postings (hot account drain 5–10% faster than at 500, docs/benchmarks.md) while a batch
    /// still commits in well under a second.
    static let batchEventsMax = 1_000
    static let postedBy = "system:accounting.ledger"

    enum PostingError: Error, CustomStringConvertible {
        case malformedPayload(eventId: String)
        case malformedSettlement(eventId: String)
        case malformedStoredValue(eventId: String)
        case malformedRounding(eventId: String)
        case currencyMismatch(eventId: String, currency: String, base: String)
        case missingAccount(eventId: String, rule: String)

        var description: String {
            switch self {
            case .malformedPayload(let id): "event \(id): the payload lacks the transaction's id, type, tender, amount or currency"
            case .malformedSettlement(let id): "event \(id): the settled transaction's payload lacks transactionId"
            case .malformedStoredValue(let id):
                "event \(id): the stored-value payload lacks cardId, a positive amount, currency or balanceAfter"
            case .malformedRounding(let id): "event \(id): the rounding payload lacks recordId, recordType, currency or cashRoundingChange"
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

    struct LedgerCompany {
        let id: String
        let base: Currency
    }

    struct LedgerKey: Hashable {
        let companyId: String
        let mode: Mode

        /// "company|mode|id": how batch maps key a transaction or hold within its ledger.
        func key(_ id: String) -> String { "\(companyId)|\(mode.rawValue)|\(id)" }
    }

    /// A posted entry a VOID may reverse (stored earlier, or written earlier in this batch).
    private struct Original {
        let id: String
        let entryNumber: String?
        let lines: [LedgerLine]
    }

    func handle(_ batch: [LoggedEvent]) async throws {
        var parsed = try PostingBatch(batch, types: Self.eventTypes)
        guard !parsed.merchants.isEmpty else { return }
        let companies = try await companies(for: parsed.merchants)
        parsed.keep { companies[$0] != nil }
        guard !parsed.isEmpty else { return }
        let companyIds = Set(companies.values.map(\.id)).sorted()
        let books = LedgerBooks(companies: companies, rules: try await rules(companyIds: companyIds),
                                closed: try await closedPeriods(companyIds: companyIds), now: clock.now())
        let done = try await postedEventIds(companyIds: companyIds, eventIds: parsed.eventIds)
        let posted = try await paymentEntries(parsed.payments.filter { !done.contains($0.event.id.rawValue) }, books: books,
                                              companyIds: companyIds)
        var entries = posted.entries
        entries += try await settlementEntries(parsed.settlements.filter { !done.contains($0.event.id.rawValue) }, books: books,
                                               batchEntries: entries)
        entries += try parsed.storedValue.filter { !done.contains($0.event.id.rawValue) }.compactMap {
            try books.storedValueEntry($0.event, $0.movement)
        }
        entries += try parsed.roundings.filter { !done.contains($0.event.id.rawValue) }.compactMap {
            try books.roundingEntry($0.event, $0.movement)
        }
        let holds = try await holdChanges(parsed.payments, expirations: parsed.expirations, books: books, companyIds: companyIds)
        guard !entries.isEmpty || !holds.isEmpty else { return }
        try await write(entries, voidedOriginals: posted.voided, holds: holds, now: books.now)
        logger.debug("ledger postings written", ["entries": .int(Int64(entries.count)), "holds": .int(Int64(holds.count)),
                                                 "events": .int(Int64(batch.count))])
    }

    /// One entry per approved payment that moves money; a VOID reverses its original's entry and marks it void.
    private func paymentEntries(_ payments: [(event: DomainEvent, movement: PaymentMovement)], books: LedgerBooks,
                                companyIds: [String]) async throws
        -> (entries: [JournalStore.NewEntry], voided: [(originalId: String, reversalId: String)]) {
        let voided = payments.compactMap { item -> String? in
            guard case .reverseOriginal(let id) = TransactionPosting.plan(item.movement) else { return nil }
            return id
        }
        var stored = try await originals(companyIds: companyIds, transactionIds: voided)
        var entries: [JournalStore.NewEntry] = []
        var voidedOriginals: [(originalId: String, reversalId: String)] = []
        for (event, movement) in payments {
            guard let (company, key) = books.ledger(of: event) else { continue }
            guard movement.currency == company.base.code else {
                throw PostingError.currencyMismatch(eventId: event.id.rawValue, currency: movement.currency, base: company.base.code)
            }
            switch TransactionPosting.plan(movement) {
            case .nothing: continue
            case .post(let description, let lines):
                let entry = books.entry(event, sourceType: "transaction", sourceId: movement.transactionId,
                                        reference: movement.transactionId, description: description,
                                        lines: try books.resolve(lines, key: key, company: company, eventId: event.id.rawValue))
                stored[key.key(movement.transactionId)] = Original(id: entry.id, entryNumber: nil, lines: entry.lines)
                entries.append(entry)
            case .reverseOriginal(let originalTransaction):
                // A payment voided before its company existed, or a released pre-authorization, posted nothing.
                guard let original = stored.removeValue(forKey: key.key(originalTransaction)) else { continue }
                var entry = books.entry(event, sourceType: "transaction", sourceId: movement.transactionId,
                                        reference: movement.transactionId,
                                        description: "void \(movement.transactionId) of \(original.entryNumber ?? originalTransaction)",
                                        lines: original.lines.map(\.reversed))
                entry.reversesEntry = original.id
                voidedOriginals.append((original.id, entry.id))
                entries.append(entry)
            }
        }
        return (entries, voidedOriginals)
    }

    /// Pre-authorization holds the batch opens or resolves (`PreAuthHold`), in batch order: an approved card PRE_AUTH
    /// opens a pending hold (DR card clearing / CR sales revenue, not posted); its PRE_AUTH_COMPLETE posts it (the
    /// completion's entry) and releases what was not captured; its VOID releases it; its `transaction.expired` releases
    /// it (after the batch's payments: nothing can follow an expiry, Transactions refuses a completion or void of an
    /// expired PRE_AUTH). A replayed event finds the hold already resolved and changes nothing.
    private func holdChanges(_ payments: [(event: DomainEvent, movement: PaymentMovement)],
                             expirations: [(event: DomainEvent, transactionId: String)], books: LedgerBooks,
                             companyIds: [String]) async throws -> [PreAuthHold] {
        let relevant = payments.filter { ["PRE_AUTH", "PRE_AUTH_COMPLETE", "VOID"].contains($0.movement.type) }
        guard !relevant.isEmpty || !expirations.isEmpty else { return [] }
        let ids = relevant.map { $0.movement.originalTransactionId ?? $0.movement.transactionId } + expirations.map(\.transactionId)
        var holds = try await HoldStore.holds(companyIds: companyIds, transactionIds: ids, executor: database)
        var changed: [String] = []
        for (event, movement) in relevant {
            guard let (company, key) = books.ledger(of: event) else { continue }
            let eventId = event.id.rawValue
            if movement.type == "PRE_AUTH" {
                let holdKey = key.key(movement.transactionId)
                guard movement.tender == "CARD", movement.amount > 0, holds[holdKey] == nil else { continue }
                guard let clearing = books.rules[key]?[.cardClearing], let revenue = books.rules[key]?[.salesRevenue] else {
                    throw PostingError.missingAccount(eventId: eventId, rule: PostingRule.cardClearing.rawValue)
                }
                holds[holdKey] = PreAuthHold(companyId: company.id, mode: key.mode, transactionId: movement.transactionId,
                                             amountMinor: movement.amount, currency: movement.currency, debitAccountId: clearing,
                                             creditAccountId: revenue, authorizedEventId: eventId,
                                             authorizedOn: AccountingInput.day(of: event.occurredAt))
                changed.append(holdKey)
                continue
            }
            guard let original = movement.originalTransactionId, var hold = holds[key.key(original)] else { continue }
            let day = AccountingInput.day(of: event.occurredAt)
            let action = movement.type == "VOID"
                ? hold.void(byTransaction: movement.transactionId, eventId: eventId, on: day)
                : hold.complete(capturedMinor: movement.amount, byTransaction: movement.transactionId, eventId: eventId, on: day)
            guard case .resolved = action else { continue }
            holds[key.key(original)] = hold
            if !changed.contains(key.key(original)) { changed.append(key.key(original)) }
        }
        for (event, transactionId) in expirations {
            // A PRE_AUTH approved before its company existed has no hold: nothing to release.
            guard let (_, key) = books.ledger(of: event), var hold = holds[key.key(transactionId)] else { continue }
            guard case .resolved = hold.expire(eventId: event.id.rawValue, on: AccountingInput.day(of: event.occurredAt)) else {
                continue
            }
            holds[key.key(transactionId)] = hold
            if !changed.contains(key.key(transactionId)) { changed.append(key.key(transactionId)) }
        }
        return changed.compactMap { holds[$0] }
    }

    /// A settled card payment's clearing balance moves to the acquirer receivable (DR `acquirer_receivable` /
    /// CR `card_clearing`, or the other way for a refund or void): exactly what the transaction's own entry left on
    /// card clearing, so cash and stored-value payments, and payments posted before the company existed, move nothing.
    private func settlementEntries(_ settlements: [(event: DomainEvent, transactionId: String)], books: LedgerBooks,
                                   batchEntries: [JournalStore.NewEntry]) async throws -> [JournalStore.NewEntry] {
        guard !settlements.isEmpty else { return [] }
        let rules = books.rules
        var clearing = try await clearingBalances(companyIds: Set(books.companies.values.map(\.id)).sorted(),
                                                  transactionIds: settlements.map(\.transactionId))
        for entry in batchEntries where entry.sourceType == "transaction" {
            let key = LedgerKey(companyId: entry.companyId, mode: entry.mode)
            guard let account = rules[key]?[.cardClearing], let transactionId = entry.sourceId else { continue }
            let net = entry.lines.filter { $0.accountId == account }
                .reduce(Int64(0)) { $0 + ($1.side == .debit ? $1.baseAmountMinor : -$1.baseAmountMinor) }
            clearing[key.key(transactionId), default: 0] += net
        }
        var entries: [JournalStore.NewEntry] = []
        for (event, transactionId) in settlements {
            guard let (company, key) = books.ledger(of: event) else { continue }
            let net = clearing[key.key(transactionId)] ?? 0
            guard net != 0 else { continue }
            guard let receivable = rules[key]?[.acquirerReceivable], let card = rules[key]?[.cardClearing] else {
                throw PostingError.missingAccount(eventId: event.id.rawValue, rule: PostingRule.acquirerReceivable.rawValue)
            }
            func line(_ account: String, _ side: LedgerLine.Side) -> LedgerLine {
                LedgerLine(accountId: account, side: side, amountMinor: abs(net), currency: company.base, exchangeRate: .one,
                           baseAmountMinor: abs(net), description: nil)
            }
            let lines = net > 0 ? [line(receivable, .debit), line(card, .credit)] : [line(card, .debit), line(receivable, .credit)]
            entries.append(books.entry(event, sourceType: "settlement", sourceId: transactionId,
                                       reference: event.payload["settlementId"]?.stringValue,
                                       description: "settlement of \(transactionId)", lines: lines))
        }
        return entries
    }

    /// One transaction: numbers per ledger, every entry and line, the voided originals, the day balances, the holds.
    private func write(_ entries: [JournalStore.NewEntry], voidedOriginals: [(originalId: String, reversalId: String)],
                       holds: [PreAuthHold], now: Date) async throws {
        try await database.transaction { tx in
            try await HoldStore.write(holds, now: now, executor: tx)
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
            try await JournalStore.addToDayBalances(entries, executor: tx)
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

    /// One index probe per event id (`PostedEventIndex`, led by the event id), whatever the statistics. WHY the
    /// LATERAL with OFFSET 0: it keeps the company condition out of the probe, so no plan can read the
    /// company's ledger through another index and filter on the id (what generic plans did before the ledger's first
    /// ANALYZE: a fresh database's first minute of sales posted slowly).
    private func postedEventIds(companyIds: [String], eventIds: [String]) async throws -> Set<String> {
        let rows = try await database.query("""
            SELECT found.source_event_id FROM (SELECT DISTINCT unnest(string_to_array(\(eventIds.joined(separator: ",")), ',')) AS event_id) AS wanted
            CROSS JOIN LATERAL (
                SELECT source_event_id, company_id FROM accounting_journal_entries
                WHERE source_event_id = wanted.event_id OFFSET 0
            ) AS found
            WHERE found.company_id = ANY(string_to_array(\(companyIds.joined(separator: ",")), ','))
            """)
        return Set(try rows.map { try $0.decode("source_event_id", as: String.self) })
    }

    /// This read and `originals` probe the entries per transaction id as `postedEventIds` does per event id
    /// (`PostedEventIndex`: the source index is led by the source id).
    ///
    /// What each transaction's own entries left on its ledger's card clearing account (debits − credits), keyed
    /// "company|mode|transaction"; a voided sale keeps its entry's lines, and its VOID's reversal is the VOID's own.
    private func clearingBalances(companyIds: [String], transactionIds: [String]) async throws -> [String: Int64] {
        let rows = try await database.query("""
            SELECT e.company_id, e.mode, e.source_id,
                   sum(CASE WHEN l.side = 'debit' THEN l.base_amount_minor ELSE -l.base_amount_minor END)::bigint AS net
            FROM (SELECT DISTINCT unnest(string_to_array(\(transactionIds.joined(separator: ",")), ',')) AS source_id) AS wanted
            CROSS JOIN LATERAL (
                SELECT id, company_id, mode, source_id FROM accounting_journal_entries
                WHERE source_id = wanted.source_id AND source_type = 'transaction' OFFSET 0
            ) AS e
            JOIN accounting_journal_lines l ON l.entry_id = e.id
            JOIN accounting_posting_rules r ON r.company_id = e.company_id AND r.mode = e.mode AND r.rule_key = 'card_clearing'
            JOIN accounting_accounts a ON a.company_id = r.company_id AND a.mode = r.mode AND a.account_number = r.account_number
            WHERE e.company_id = ANY(string_to_array(\(companyIds.joined(separator: ",")), ',')) AND l.account_id = a.id
            GROUP BY e.company_id, e.mode, e.source_id
            """)
        var result: [String: Int64] = [:]
        for row in rows {
            let key = "\(try row.decode("company_id", as: String.self))|\(try row.decode("mode", as: String.self))|"
                + (try row.decode("source_id", as: String.self))
            result[key] = try row.decode("net")
        }
        return result
    }

    /// Posted entries of the payments that `transactionIds` void, keyed "company|mode|transaction".
    private func originals(companyIds: [String], transactionIds: [String]) async throws -> [String: Original] {
        guard !transactionIds.isEmpty else { return [:] }
        let rows = try await database.query("""
            SELECT e.id, e.company_id, e.mode, e.source_id, e.entry_number
            FROM (SELECT DISTINCT unnest(string_to_array(\(transactionIds.joined(separator: ",")), ',')) AS source_id) AS wanted
            CROSS JOIN LATERAL (
                SELECT id, company_id, mode, source_id, entry_number, status, reverses_entry FROM accounting_journal_entries
                WHERE source_id = wanted.source_id AND source_type = 'transaction' OFFSET 0
            ) AS e
            WHERE e.company_id = ANY(string_to_array(\(companyIds.joined(separator: ",")), ','))
              AND e.status = 'posted' AND e.reverses_entry IS NULL
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
