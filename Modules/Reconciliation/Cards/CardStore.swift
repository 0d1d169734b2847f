import Foundation
import Kernel

/// SQL of the card registry. Every statement names the tenant (merchant and mode): a card of another
/// tenant or mode is simply not found.
struct CardStore: Sendable {
    let database: any Database

    static let genesisHash = [UInt8](repeating: 0, count: EventChain.hashBytes)

    func memberStatus(_ tenant: TenantContext, userId: Int64) async throws -> String? {
        try await database.queryFirst("""
            SELECT status FROM reconciliation_card_members
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND user_id = \(userId)
            """).map { try $0.decode("status") }
    }

    func setMember(_ tenant: TenantContext, userId: Int64, status: String, now: Date) async throws {
        try await database.execute("""
            INSERT INTO reconciliation_card_members (merchant_id, mode, user_id, status, updated_at)
            VALUES (\(tenant.merchantId), \(tenant.mode), \(userId), \(status), \(now))
            ON CONFLICT (merchant_id, mode, user_id) DO UPDATE SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at
            """)
    }

    /// Registers a card with balance 0 and an empty log; false when the tenant already has this card id.
    func register(_ tenant: TenantContext, _ card: RegisterCardBody, cardId: String, currency: String, now: Date) async throws -> Bool {
        try await database.execute("""
            INSERT INTO reconciliation_cards (merchant_id, mode, card_id, user_id, name, status, balance, currency, card_balance,
                counter, chain_hash, chain_timestamp, key_version, created_at, registered_at, last_activity_at)
            VALUES (\(tenant.merchantId), \(tenant.mode), \(cardId), \(Int64(card.userId)), \(card.name), 'ACTIVE', 0, \(currency), 0, 0,
                \(Self.genesisHash), \(Int64(card.createdAt)), \(Int(card.keyVersion)), \(Int64(card.createdAt)), \(now), \(now))
            ON CONFLICT (merchant_id, mode, card_id) DO NOTHING
            """) == 1
    }

    func card(_ tenant: TenantContext, cardId: String, on executor: (any SQLExecutor)? = nil,
              forUpdate: Bool = false) async throws -> CardRecord? {
        let sql: SQL = forUpdate
            ? "SELECT * FROM reconciliation_cards WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND card_id = \(cardId) FOR UPDATE"
            : "SELECT * FROM reconciliation_cards WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND card_id = \(cardId)"
        let target: any SQLExecutor = executor ?? database
        return try await target.queryFirst(sql).map(CardRecord.init(row:))
    }

    /// True when some other tenant or mode has this card id (the request is then a cross-tenant attempt).
    func existsOutside(_ tenant: TenantContext, cardId: String) async throws -> Bool {
        try await database.queryFirst("""
            SELECT 1 AS found FROM reconciliation_cards
            WHERE card_id = \(cardId) AND NOT (merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)) LIMIT 1
            """) != nil
    }

    func setBalance(_ tenant: TenantContext, cardId: String, balance: Int64, now: Date, on executor: any SQLExecutor) async throws {
        try await executor.execute("""
            UPDATE reconciliation_cards SET balance = \(balance), last_activity_at = \(now)
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND card_id = \(cardId)
            """)
    }

    /// Blocks an ACTIVE card; false when it was not active (already blocked) or does not exist.
    func block(_ tenant: TenantContext, cardId: String, status: CardStatus, reason: String, now: Date,
               on executor: any SQLExecutor) async throws -> Bool {
        try await executor.execute("""
            UPDATE reconciliation_cards SET status = \(status.rawValue), blocked_at = \(now), block_reason = \(reason),
                last_activity_at = \(now)
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND card_id = \(cardId) AND status = 'ACTIVE'
            """) == 1
    }

    /// Rewrites the card ACTIVE with the current key version: the chain starts again from the genesis hash at
    /// `timestamp`, the counter keeps its value (so `(card, counter)` stays unique in the audit log for ever)
    /// and the card holds the backend balance (never below zero).
    func reissue(_ tenant: TenantContext, cardId: String, keyVersion: Int, timestamp: Int64, now: Date,
                 on executor: any SQLExecutor) async throws {
        try await executor.execute("""
            UPDATE reconciliation_cards SET status = 'ACTIVE', key_version = \(keyVersion), chain_hash = \(Self.genesisHash),
                chain_timestamp = \(timestamp), card_balance = GREATEST(balance, 0), blocked_at = NULL, block_reason = NULL,
                validate_on_next_tap = false, last_activity_at = \(now)
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND card_id = \(cardId)
            """)
    }

    func storeAuthCode(_ tenant: TenantContext, cardId: String, codeHash: [UInt8], now: Date, expiresAt: Date) async throws {
        try await database.execute("""
            INSERT INTO reconciliation_card_auth_codes (code_hash, merchant_id, mode, card_id, issued_at, expires_at)
            VALUES (\(codeHash), \(tenant.merchantId), \(tenant.mode), \(cardId), \(now), \(expiresAt))
            """)
    }

    /// Uses up a valid (unused, unexpired) auth code of this card; false when there is none.
    func consumeAuthCode(_ tenant: TenantContext, cardId: String, codeHash: [UInt8], now: Date,
                         on executor: any SQLExecutor) async throws -> Bool {
        try await executor.execute("""
            UPDATE reconciliation_card_auth_codes SET used_at = \(now)
            WHERE code_hash = \(codeHash) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
              AND card_id = \(cardId) AND used_at IS NULL AND expires_at > \(now)
            """) == 1
    }
}
