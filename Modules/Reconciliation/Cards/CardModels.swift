import Foundation
import Kernel

/// A card's status as the terminals write it (terminal-api tech-specs/15): the code is what `blockedStatuses`
/// in the policy lists; the name is what the API shows.
enum CardStatus: String, Sendable, CaseIterable {
    case active = "ACTIVE"
    case blockedTamper = "BLOCKED_TAMPER"
    case blockedFraud = "BLOCKED_FRAUD"
    case blockedExpired = "BLOCKED_EXPIRED"
    case blockedAdmin = "BLOCKED_ADMIN"

    var isBlocked: Bool { self != .active }
    /// Tamper and fraud blocks need a backend-issued auth code to reissue (rule 17).
    var reissueNeedsAuthCode: Bool { self == .blockedTamper || self == .blockedFraud }
}

/// Named limits of the stored-value card API.
enum CardLimits {
    /// `name` on a card is at most 32 bytes of UTF-8 (it is written to the card).
    static let nameBytesMax = 32
    static let operatorIdBytesMax = 64
    /// The uint32 hard ceiling of a balance (rule 13), whatever the tenant's `maxBalance`.
    static let balanceCeiling: Int64 = 16_000_000
    /// A reissue auth code is valid this long after it is issued, and once.
    static let authCodeLifetimeSeconds: Int64 = 3_600
    static let authCodePrefix = "rac_"
    static let authCodeBytesMax = 100
}

/// A card id on the wire: 6 bytes as 12 hex digits (either case; stored lower-case).
enum CardId {
    static func parse(_ text: String) -> String? {
        guard text.utf8.count == 12, text.utf8.allSatisfy({ Self.isHex($0) }) else { return nil }
        return text.lowercased()
    }

    static func isHex(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46)
    }
}

/// A card as stored. `balance` is the backend's balance (online top-ups, reconciled debits); it may go
/// below zero only through an offline debit that online spending had already left uncovered (the
/// exposure, docs/reconciliation.md). `cardBalance`, `counter`, `chainHash` and `chainTimestamp` are
/// the card's own log as last reconciled: what the next offline event must continue.
struct CardRecord: Sendable {
    let cardId: String
    let userId: Int64
    var status: CardStatus
    var balance: Int64
    /// The balance's currency (`ReconciliationSettings.defaultCurrency` for NFC cards; the first load's for `/v1` cards).
    let currency: String
    var cardBalance: Int64
    var counter: Int64
    var chainHash: [UInt8]
    var chainTimestamp: Int64
    let createdAt: Int64
    let lastActivityAt: Date?
    let keyVersion: Int

    init(row: Row) throws {
        cardId = try row.decode("card_id")
        userId = try row.decode("user_id")
        status = CardStatus(rawValue: try row.decode("status")) ?? .blockedAdmin
        balance = try row.decode("balance")
        currency = try row.decode("currency")
        cardBalance = try row.decode("card_balance")
        counter = try row.decode("counter")
        chainHash = try row.decode("chain_hash")
        chainTimestamp = try row.decode("chain_timestamp")
        createdAt = try row.decode("created_at")
        lastActivityAt = try row.decode("last_activity_at", as: Date?.self)
        keyVersion = try row.decode("key_version")
    }

    /// `GET /api/cards/:cardId`.
    var json: JSONValue {
        ["cardId": .string(cardId), "userId": .int(userId), "status": .string(status.rawValue), "balance": .int(balance),
         "counter": .int(counter), "createdAt": .int(createdAt),
         "lastActivity": lastActivityAt.map { .int(Int64($0.timeIntervalSince1970.rounded(.down))) } ?? .null]
    }
}

/// The documented `/api` card and reconcile errors, rendered verbatim by the terminal surface.
enum CardErrors {
    static func custom(_ status: Int, _ code: String, _ message: String) -> AtlasError {
        AtlasError(kind: .custom, status: status, code: code, message: message)
    }

    static let notFound = custom(404, "card_not_found", "No such card")
    static let alreadyRegistered = custom(409, "card_already_registered", "This cardId is already registered")
    static let invalidUser = custom(422, "invalid_user", "userId is not an active member")
    static let ceilingExceeded = custom(422, "balance_ceiling_exceeded", "The balance would exceed the tenant's maxBalance")
    static let blocked = custom(422, "card_blocked", "The card is blocked")
    static let alreadyBlocked = custom(409, "already_blocked", "The card is already blocked")
    static let notBlocked = custom(422, "card_not_blocked", "Only a blocked card can be reissued")
    static let reissueNotAuthorised = custom(403, "reissue_not_authorised", "A valid backend authCode is required to reissue this card")
    static let duplicateCounter = custom(409, "duplicate_counter", "Every event of the batch was already reconciled")

    static func malformed(_ field: String, _ message: String) -> AtlasError {
        .invalidField(field, message)
    }
}
