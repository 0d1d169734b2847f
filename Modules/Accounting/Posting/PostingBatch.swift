import Foundation
import Kernel

/// One delivered batch sorted by what it posts, in batch order: approved payments, settled transactions,
/// stored-value balance changes, expired pre-authorizations and rounding-API records. A payload a posting needs but
/// lacks throws (the event log retries, then parks).
struct PostingBatch {
    var payments: [(event: DomainEvent, movement: PaymentMovement)] = []
    var settlements: [(event: DomainEvent, transactionId: String)] = []
    var storedValue: [(event: DomainEvent, movement: StoredValueMovement)] = []
    /// `transaction.expired`: the PRE_AUTH whose hold is released.
    var expirations: [(event: DomainEvent, transactionId: String)] = []
    var roundings: [(event: DomainEvent, movement: RoundingMovement)] = []

    init(_ batch: [LoggedEvent], types: Set<String>) throws {
        typealias Failure = LedgerPostingConsumer.PostingError
        for logged in batch where types.contains(logged.event.type) {
            let event = logged.event
            switch event.type {
            case LedgerPostingConsumer.settledType:
                guard let transactionId = event.payload["transactionId"]?.stringValue else {
                    throw Failure.malformedSettlement(eventId: event.id.rawValue)
                }
                settlements.append((event, transactionId))
            case LedgerPostingConsumer.approvedType:
                guard let movement = PaymentMovement(payload: event.payload(keeping: PaymentMovement.payloadKeys)) else {
                    throw Failure.malformedPayload(eventId: event.id.rawValue)
                }
                payments.append((event, movement))
            case LedgerPostingConsumer.expiredType:
                guard let transactionId = event.payload["transactionId"]?.stringValue else {
                    throw Failure.malformedPayload(eventId: event.id.rawValue)
                }
                expirations.append((event, transactionId))
            case LedgerPostingConsumer.roundingType:
                guard let movement = RoundingMovement(payload: event.payload) else {
                    throw Failure.malformedRounding(eventId: event.id.rawValue)
                }
                roundings.append((event, movement))
            default:
                guard let movement = StoredValueMovement(type: event.type, payload: event.payload) else {
                    throw Failure.malformedStoredValue(eventId: event.id.rawValue)
                }
                storedValue.append((event, movement))
            }
        }
    }

    /// The merchants the batch names (a tenant id is never a list).
    var merchants: Set<String> {
        Set(payments.map(\.event.tenant.merchantId) + settlements.map(\.event.tenant.merchantId)
            + storedValue.map(\.event.tenant.merchantId) + expirations.map(\.event.tenant.merchantId)
            + roundings.map(\.event.tenant.merchantId)).filter { !$0.contains(",") }
    }

    var isEmpty: Bool {
        payments.isEmpty && settlements.isEmpty && storedValue.isEmpty && expirations.isEmpty && roundings.isEmpty
    }

    /// The events that may post an entry (expirations only move holds).
    var eventIds: [String] {
        payments.map(\.event.id.rawValue) + settlements.map(\.event.id.rawValue) + storedValue.map(\.event.id.rawValue)
            + roundings.map(\.event.id.rawValue)
    }

    /// Keeps the events of merchants `hasCompany` accepts.
    mutating func keep(_ hasCompany: (String) -> Bool) {
        payments = payments.filter { hasCompany($0.event.tenant.merchantId) }
        settlements = settlements.filter { hasCompany($0.event.tenant.merchantId) }
        storedValue = storedValue.filter { hasCompany($0.event.tenant.merchantId) }
        expirations = expirations.filter { hasCompany($0.event.tenant.merchantId) }
        roundings = roundings.filter { hasCompany($0.event.tenant.merchantId) }
    }
}

/// What a batch reads once and every entry it builds uses: the merchants' companies, their posting rules, their
/// closed periods, and the clock.
struct LedgerBooks {
    typealias LedgerCompany = LedgerPostingConsumer.LedgerCompany
    typealias LedgerKey = LedgerPostingConsumer.LedgerKey

    let companies: [String: LedgerCompany]
    let rules: [LedgerKey: [PostingRule: String]]
    let closed: [LedgerKey: [(start: String, end: String)]]
    let now: Date

    /// The company and ledger (the event's mode) an event posts into; nil without a company.
    func ledger(of event: DomainEvent) -> (LedgerCompany, LedgerKey)? {
        guard let company = companies[event.tenant.merchantId] else { return nil }
        return (company, LedgerKey(companyId: company.id, mode: event.tenant.mode))
    }

    /// A posted automatic entry of `event`, dated the event's UTC day or the first open day after a closed period.
    func entry(_ event: DomainEvent, sourceType: String, sourceId: String, reference: String?, description: String,
               lines: [LedgerLine]) -> JournalStore.NewEntry {
        guard let (company, key) = ledger(of: event) else { preconditionFailure("an entry is built for a ledger only") }
        let day = LedgerPostingConsumer.firstOpenDay(AccountingInput.day(of: event.occurredAt), closed: closed[key] ?? [])
        return JournalStore.NewEntry(
            companyId: company.id, mode: key.mode, status: .posted, entryType: "payment", sourceType: sourceType,
            sourceId: sourceId, sourceEventId: event.id.rawValue, entryDate: day, postingDate: day, description: description,
            reference: reference, currency: company.base, postedAt: now, postedBy: LedgerPostingConsumer.postedBy,
            createdBy: LedgerPostingConsumer.postedBy, lines: lines)
    }

    /// Posting-rule lines as the ledger's accounts, in its base currency; a rule without an account throws.
    func resolve(_ lines: [TransactionPosting.Line], key: LedgerKey, company: LedgerCompany,
                 eventId: String) throws -> [LedgerLine] {
        try lines.map { line in
            guard let accountId = rules[key]?[line.rule] else {
                throw LedgerPostingConsumer.PostingError.missingAccount(eventId: eventId, rule: line.rule.rawValue)
            }
            return LedgerLine(accountId: accountId, side: line.side, amountMinor: line.amount, currency: company.base,
                              exchangeRate: .one, baseAmountMinor: line.amount, description: nil)
        }
    }

    /// The entry of one stored-value balance change (`StoredValuePosting`), or nil when it posts nothing.
    func storedValueEntry(_ event: DomainEvent, _ movement: StoredValueMovement) throws -> JournalStore.NewEntry? {
        guard let (company, key) = ledger(of: event),
              case .post(let description, let lines) = StoredValuePosting.plan(movement) else { return nil }
        guard movement.currency == company.base.code else {
            throw LedgerPostingConsumer.PostingError.currencyMismatch(eventId: event.id.rawValue, currency: movement.currency,
                                                                      base: company.base.code)
        }
        let reference = movement.reference ?? event.payload["batchId"]?.stringValue
        return entry(event, sourceType: "stored_value", sourceId: movement.cardId, reference: reference, description: description,
                     lines: try resolve(lines, key: key, company: company, eventId: event.id.rawValue))
    }
}
