import AccessContract
import Kernel

/// What one reconcile batch does to the cards it names, decided without the database (rules 21–26): every
/// event in the order received is rejected with a reason or accepted, possibly flagged for review.
///
/// The order of the checks: unknown card (or another tenant's) → `invalid_card`; an operation the role may
/// not perform → `operation_not_allowed`; counter at or below the card's → `duplicate_counter` when that
/// counter is logged, else `stale_counter`; blocked card → `card_blocked`; counter not the next one →
/// `counter_gap` (events missing in between, e.g. still on another terminal: resubmit later); chain hash
/// wrong → `hash_mismatch` (the card is blocked `BLOCKED_TAMPER` and a tamper report is written);
/// `amount > singleTxLimit` → `single_tx_limit_exceeded`; amount 0 on a debit/credit or non-zero on a
/// non-financial event → `invalid_amount`; `balanceAfter` not the card's balance ∓ amount → `balance_mismatch`;
/// a credit past `maxBalance` → `balance_ceiling_exceeded`. Accepted debits that take the card's UTC day
/// (week, Monday to Sunday) of debits above `dailyLimit` (`weeklyLimit`) are flagged `daily_limit_exceeded`
/// (`weekly_limit_exceeded`); one that the backend balance does not cover (online spending came first) is
/// accepted and flagged `insufficient_balance`, the uncovered part recorded as its shortfall.
struct BatchRules {
    struct Accepted: Sendable {
        let event: OfflineEvent
        let reasons: [String]
        /// The part of a debit the backend balance did not cover (the exposure); 0 otherwise.
        let shortfall: Int64
        /// The backend balance after this event.
        let balance: Int64
    }

    struct Plan: Sendable {
        var accepted: [Accepted] = []
        /// `{cardId, counter, reason}` for every rejection and every review flag, in event order.
        var flags: [JSONValue] = []
        var rejected = 0
        var rejectedAsDuplicates = 0
        /// Cards whose chain broke in this batch, with the counter of the breaking event.
        var tampered: [(cardId: String, counter: Int64)] = []
        /// The final state of every card an accepted event or a tamper block changed.
        var changedCards: [String: CardRecord] = [:]

        var flagged: Int { accepted.filter { !$0.reasons.isEmpty }.count }
        var isAllDuplicates: Bool { accepted.isEmpty && rejectedAsDuplicates == rejected && rejected > 0 }
    }

    let limits: TerminalLimits
    /// The caller's allowed operations (its scopes).
    let operations: Set<String>
    let crypto: any CryptoService

    static let secondsPerDay: Int64 = 86_400

    /// The accepted debits of one card on one UTC day, summed.
    struct DayTotal: Sendable, Equatable {
        let cardId: String
        let day: Int64
        let total: Int64
    }

    /// What a batch adds to its cards' daily debit totals (every accepted debit, flagged or not: the review sums
    /// count them all), in (card, day) order.
    static func dailyDebits(_ accepted: [Accepted]) -> [DayTotal] {
        var totals: [String: [Int64: Int64]] = [:]
        for item in accepted where item.event.type == .debit {
            totals[item.event.cardId, default: [:]][item.event.timestamp / secondsPerDay, default: 0] += item.event.amount
        }
        return totals.keys.sorted().flatMap { cardId in
            totals[cardId, default: [:]].sorted { $0.key < $1.key }.map { DayTotal(cardId: cardId, day: $0.key, total: $0.value) }
        }
    }

    /// Day number → Monday of its week (1970-01-01 was a Thursday).
    static func weekStart(day: Int64) -> Int64 { day - ((day + 3) % 7) }

    func plan(_ events: [OfflineEvent], cards: [String: CardRecord], logged: Set<CounterKey>,
              debitsByDay: [String: [Int64: Int64]]) -> Plan {
        var plan = Plan()
        var cards = cards
        var debitsByDay = debitsByDay
        for event in events {
            guard var card = cards[event.cardId] else {
                reject(&plan, event, "invalid_card")
                continue
            }
            if let reason = rejection(event, card: card, logged: logged) {
                reject(&plan, event, reason)
                if reason == "duplicate_counter" { plan.rejectedAsDuplicates += 1 }
                if reason == "hash_mismatch" {
                    card.status = .blockedTamper
                    cards[event.cardId] = card
                    plan.changedCards[event.cardId] = card
                    plan.tampered.append((event.cardId, event.counter))
                }
                continue
            }
            var reasons: [String] = []
            var shortfall: Int64 = 0
            if event.type == .debit {
                var days = debitsByDay[event.cardId] ?? [:]
                let day = event.timestamp / Self.secondsPerDay
                let dayTotal = (days[day] ?? 0) + event.amount
                let week = Self.weekStart(day: day)
                let weekTotal = (week...(week + 6)).reduce(Int64(0)) { $0 + (days[$1] ?? 0) } + event.amount
                if dayTotal > limits.dailyLimit { reasons.append("daily_limit_exceeded") }
                if weekTotal > limits.weeklyLimit { reasons.append("weekly_limit_exceeded") }
                days[day] = dayTotal
                debitsByDay[event.cardId] = days
                shortfall = max(0, event.amount - max(card.balance, 0))
                if shortfall > 0 { reasons.append("insufficient_balance") }
                card.balance -= event.amount
            }
            card.counter = event.counter
            card.cardBalance = event.balanceAfter
            card.chainHash = event.hash
            card.chainTimestamp = event.timestamp
            cards[event.cardId] = card
            plan.changedCards[event.cardId] = card
            plan.accepted.append(Accepted(event: event, reasons: reasons, shortfall: shortfall, balance: card.balance))
            for reason in reasons { plan.flags.append(Self.flag(event, reason)) }
        }
        return plan
    }

    /// The first rule the event breaks, or nil when it is accepted.
    private func rejection(_ event: OfflineEvent, card: CardRecord, logged: Set<CounterKey>) -> String? {
        guard operations.contains(event.type.requiredOperation) else { return "operation_not_allowed" }
        guard event.counter > card.counter else {
            return logged.contains(CounterKey(cardId: event.cardId, counter: event.counter)) ? "duplicate_counter" : "stale_counter"
        }
        guard !card.status.isBlocked else { return "card_blocked" }
        guard event.counter == card.counter + 1 else { return "counter_gap" }
        let expected = EventChain.hash(
            deltaTime: EventChain.deltaTime(from: card.chainTimestamp, to: event.timestamp), amount: UInt32(event.amount),
            balanceAfter: UInt32(event.balanceAfter), flags: event.type.flagCode, previous: card.chainHash, crypto: crypto)
        guard crypto.constantTimeEquals(expected, event.hash) else { return "hash_mismatch" }
        guard event.amount <= limits.singleTxLimit else { return "single_tx_limit_exceeded" }
        guard event.type.isFinancial == (event.amount > 0) else { return "invalid_amount" }
        let expectedBalance = switch event.type {
        case .debit: card.cardBalance - event.amount
        case .credit: card.cardBalance + event.amount
        case .checkin, .checkout, .admin: card.cardBalance
        }
        guard event.balanceAfter == expectedBalance else { return "balance_mismatch" }
        if event.type == .credit, event.balanceAfter > min(limits.maxBalance, CardLimits.balanceCeiling) {
            return "balance_ceiling_exceeded"
        }
        return nil
    }

    private func reject(_ plan: inout Plan, _ event: OfflineEvent, _ reason: String) {
        plan.rejected += 1
        plan.flags.append(Self.flag(event, reason))
    }

    static func flag(_ event: OfflineEvent, _ reason: String) -> JSONValue {
        ["cardId": .string(event.cardId), "counter": .int(event.counter), "reason": .string(reason)]
    }
}

/// A `(card, counter)` pair: the replay key of the audit log (rule 22).
struct CounterKey: Sendable, Hashable {
    let cardId: String
    let counter: Int64
}
