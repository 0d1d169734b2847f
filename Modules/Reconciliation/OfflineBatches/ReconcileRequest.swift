import Kernel

/// Named limits of `POST /api/reconcile`.
enum ReconcileLimits {
    /// Events in one batch ([K] sync rule adopted as rule 25); more is 400 `malformed_payload`.
    static let batchEventsMax = 500
    /// Counters are uint64 on the wire; the audit log stores them as bigint, so a counter above 2⁶³−1 is
    /// refused as malformed (a card writes its counter once per tap: that is ~10¹¹ years of taps per second).
    static let counterMax = UInt64(Int64.max)
}

/// The body as sent; integers outside uint16/uint32/uint64 fail decoding (400 `malformed_payload`).
struct ReconcileBody: Decodable {
    struct Event: Decodable {
        let cardId: String
        let counter: UInt64
        let type: String
        let amount: UInt32
        let balanceAfter: UInt32
        let timestamp: UInt32
        let hash: String
    }

    let terminalId: UInt16
    let events: [Event]
}

/// One event after the whole-batch checks: typed, card id lower-cased, hash decoded.
struct OfflineEvent: Sendable, Hashable {
    let cardId: String
    let counter: Int64
    let type: OfflineEventType
    let amount: Int64
    let balanceAfter: Int64
    let timestamp: Int64
    let hash: [UInt8]
}

extension ReconcileBody {
    /// The whole-batch checks (all or nothing, rule 21): 1–500 events, every field well-formed, the terminal
    /// the caller's own, and each card's counters strictly ascending in the order received.
    func validated(callerTerminalId: String?) throws(AtlasError) -> [OfflineEvent] {
        guard !events.isEmpty, events.count <= ReconcileLimits.batchEventsMax else {
            throw CardErrors.malformed("events", "events must hold 1 to \(ReconcileLimits.batchEventsMax) events")
        }
        guard callerTerminalId == String(terminalId) else {
            throw CardErrors.malformed("terminalId", "terminalId is not the authenticated device's terminal")
        }
        var lastCounter: [String: Int64] = [:]
        var result: [OfflineEvent] = []
        result.reserveCapacity(events.count)
        for (index, event) in events.enumerated() {
            let field = "events[\(index)]"
            guard let cardId = CardId.parse(event.cardId) else { throw CardErrors.malformed(field + ".cardId", "cardId must be 12 hex digits") }
            guard let type = OfflineEventType(rawValue: event.type) else {
                throw CardErrors.malformed(field + ".type", "type must be one of debit, credit, checkin, checkout, admin")
            }
            guard let hash = CardId.parse(event.hash).flatMap(Encoding.hexDecode) else {
                throw CardErrors.malformed(field + ".hash", "hash must be 12 hex digits (6 bytes)")
            }
            guard event.counter <= ReconcileLimits.counterMax else {
                throw CardErrors.malformed(field + ".counter", "counter must be at most \(ReconcileLimits.counterMax)")
            }
            let counter = Int64(event.counter)
            if let previous = lastCounter[cardId], counter <= previous {
                throw CardErrors.malformed(field + ".counter", "a card's events must be in ascending counter order")
            }
            lastCounter[cardId] = counter
            result.append(OfflineEvent(cardId: cardId, counter: counter, type: type, amount: Int64(event.amount),
                                       balanceAfter: Int64(event.balanceAfter), timestamp: Int64(event.timestamp), hash: hash))
        }
        return result
    }
}
