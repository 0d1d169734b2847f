import Foundation
public import Kernel
import StoredValueContract

/// The admin API of the card registry (used by `atlas admin` and tests): members a card may be issued to,
/// and one-time reissue auth codes for tamper- and fraud-blocked cards (rule 17).
public struct CardAdministration: Sendable {
    public enum MemberStatus: String, Sendable, CaseIterable {
        case active, suspended, closed
    }

    let database: any Database
    let crypto: any CryptoService
    let clock: any WallClock

    public init(services: ModuleServices) {
        database = services.database
        crypto = services.crypto
        clock = services.clock
    }

    /// Registers or updates member `userId` (uint32) of the tenant. Only an active member can be issued a card;
    /// suspending one does not block existing cards (rule 19).
    public func setMember(_ tenant: TenantContext, userId: UInt32, status: MemberStatus) async throws {
        try await CardStore(database: database).setMember(tenant, userId: Int64(userId), status: status.rawValue, now: clock.now())
    }

    /// A one-time auth code to reissue the card, valid for `CardLimits.authCodeLifetimeSeconds`; nil when the
    /// tenant has no such card. Only its SHA-256 is stored; the code is shown once.
    public func issueReissueAuthCode(_ tenant: TenantContext, cardId: String) async throws -> String? {
        let store = CardStore(database: database)
        guard let cardId = CardId.parse(cardId), try await store.card(tenant, cardId: cardId) != nil else { return nil }
        let code = CardLimits.authCodePrefix + Encoding.hex(crypto.randomBytes(count: 16))
        let now = clock.now()
        try await store.storeAuthCode(tenant, cardId: cardId, codeHash: crypto.sha256(Array(code.utf8)), now: now,
                                      expiresAt: now.addingTimeInterval(TimeInterval(CardLimits.authCodeLifetimeSeconds)))
        return code
    }

    /// Links a `/v1` stored-value card number to an NFC card of the tenant, so the `/v1` STORED_VALUE tender
    /// pays from (and loads onto) that card's balance. False when the tenant has no such NFC card. Throws when the
    /// number already names another card (a `pan_…` card with a balance must be spent or refunded first).
    public func linkCardNumber(_ tenant: TenantContext, cardId: String, cardNumber: String) async throws -> Bool {
        guard let cardId = CardId.parse(cardId), cardNumber.count >= 12, cardNumber.count <= 19,
              cardNumber.allSatisfy(\.isASCII), cardNumber.allSatisfy(\.isNumber) else { return false }
        let hash = StoredValuePAN.hash(cardNumber, tenant: tenant, crypto: crypto)
        let masked = String(repeating: "*", count: cardNumber.count - 4) + cardNumber.suffix(4)
        return try await database.execute("""
            UPDATE reconciliation_cards SET pan_hash = \(hash), masked_pan = \(masked)
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND card_id = \(cardId)
            """) == 1
    }

    /// The tenant's exposure: what offline debits spent beyond the balance online spending had left, not yet
    /// repaid by a top-up or load (the sum of negative balances), and the cards that owe it.
    public func exposure(_ tenant: TenantContext) async throws -> (total: Int64, cards: [(cardId: String, balance: Int64)]) {
        let rows = try await database.query("""
            SELECT card_id, balance FROM reconciliation_cards
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND balance < 0
            ORDER BY balance, card_id LIMIT \(Self.exposureCardsMax)
            """)
        let cards = try rows.map { (cardId: try $0.decode("card_id", as: String.self), balance: try $0.decode("balance", as: Int64.self)) }
        let total = try await database.queryFirst("""
            SELECT COALESCE(sum(-balance), 0) AS total FROM reconciliation_cards
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND balance < 0
            """)?.decode("total", as: Int64.self) ?? 0
        return (total, cards)
    }

    /// Cards listed by `exposure` (largest debts first); the total covers all of them.
    static let exposureCardsMax = 1_000

    static var commands: [AdminCommand] {
        [AdminCommand(name: "card-member",
                      usage: "admin card-member --merchant ID --user N --status active|suspended|closed [--mode live|test]") { arguments, services in
             let tenant = TenantContext(merchantId: try arguments.required("merchant"), mode: try arguments.mode(default: .live))
             guard let userId = UInt32(try arguments.required("user")) else { throw CardCommandError("--user must be a uint32") }
             guard let status = MemberStatus(rawValue: try arguments.required("status")) else {
                 throw CardCommandError("--status must be active, suspended or closed")
             }
             try await CardAdministration(services: services).setMember(tenant, userId: userId, status: status)
             print("member \(userId): \(status.rawValue)")
         },
         AdminCommand(name: "card-reissue-code",
                      usage: "admin card-reissue-code --merchant ID --card HEX [--mode live|test]") { arguments, services in
             let tenant = TenantContext(merchantId: try arguments.required("merchant"), mode: try arguments.mode(default: .live))
             guard let code = try await CardAdministration(services: services)
                 .issueReissueAuthCode(tenant, cardId: try arguments.required("card")) else {
                 throw CardCommandError("no such card for this merchant and mode")
             }
             print("authCode: \(code) (valid \(CardLimits.authCodeLifetimeSeconds / 60) minutes, once)")
         },
         AdminCommand(name: "card-link-pan",
                      usage: "admin card-link-pan --merchant ID --card HEX --pan DIGITS [--mode live|test]") { arguments, services in
             let tenant = TenantContext(merchantId: try arguments.required("merchant"), mode: try arguments.mode(default: .live))
             guard try await CardAdministration(services: services)
                 .linkCardNumber(tenant, cardId: try arguments.required("card"), cardNumber: try arguments.required("pan")) else {
                 throw CardCommandError("no such NFC card for this merchant and mode, or --pan is not 12 to 19 digits")
             }
             print("linked: the /v1 STORED_VALUE tender now uses this card's balance")
         },
         AdminCommand(name: "stored-value-exposure",
                      usage: "admin stored-value-exposure --merchant ID [--mode live|test]") { arguments, services in
             let tenant = TenantContext(merchantId: try arguments.required("merchant"), mode: try arguments.mode(default: .live))
             let exposure = try await CardAdministration(services: services).exposure(tenant)
             print("exposure: \(exposure.total) minor units on \(exposure.cards.count) card(s)")
             for card in exposure.cards { print("\(card.cardId) \(card.balance)") }
         }]
    }
}

struct CardCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
