import Foundation
import Kernel
import StoredValueContract

/// `StoredValueLedger` over the card registry: the `/v1` stored-value tender debits and credits the same
/// `balance` that station top-ups and reconciled offline debits move. A `/v1` card is found by `pan_hash`
/// (an NFC card linked to a card number with `atlas admin card-link-pan`, or a card known only by its number,
/// id `pan_…`, registered by its first load). Each change appends its `stored_value.*` event in the caller's
/// transaction.
///
/// An online debit needs the balance to cover it (`balance >= amount`), so it never takes a balance that an
/// uncovered offline debit left below zero further down; a credit repays that first.
struct CardLedger: StoredValueLedger {
    /// The most a card known only by its number may hold (Transactions' former limit): far above any real
    /// card, it keeps the balance clear of bigint overflow. NFC cards keep the uint32 ceiling.
    static let panCardBalanceMax: Int64 = 1_000_000_000_000
    static let panCardPrefix = "pan_"

    let database: any Database
    let eventLog: any EventLogWriter
    let clock: any WallClock

    func balance(panHash: [UInt8], tenant: TenantContext) async throws -> (balance: Int64, currency: String)? {
        guard let row = try await database.queryFirst("""
            SELECT balance, currency FROM reconciliation_cards
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND pan_hash = \(panHash)
            """) else { return nil }
        return (try row.decode("balance"), try row.decode("currency"))
    }

    func debit(panHash: [UInt8], amount: Int64, currency: String, reference: String, tenant: TenantContext,
               in executor: any SQLExecutor) async throws -> Int64? {
        precondition(amount > 0, "a debit moves a positive amount")
        let now = clock.now()
        guard let row = try await executor.queryFirst("""
            UPDATE reconciliation_cards SET balance = balance - \(amount), last_activity_at = \(now)
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND pan_hash = \(panHash)
              AND currency = \(currency) AND status = 'ACTIVE' AND balance >= \(amount)
            RETURNING card_id, balance
            """) else { return nil }
        let (cardId, balance): (String, Int64) = (try row.decode("card_id"), try row.decode("balance"))
        try await eventLog.append([event(StoredValueEvents.debited, cardId: cardId, amount: amount, currency: currency,
                                         balance: balance, reference: reference, tenant: tenant, now: now)], in: executor)
        return balance
    }

    func credit(panHash: [UInt8], maskedPan: String, amount: Int64, currency: String, reference: String,
                tenant: TenantContext, in executor: any SQLExecutor) async throws(StoredValueLedgerError) -> Int64 {
        do {
            let now = clock.now()
            let (cardId, balance) = try await creditOrRegister(panHash: panHash, maskedPan: maskedPan, amount: amount,
                                                               currency: currency, tenant: tenant, now: now, on: executor)
            try await eventLog.append([event(StoredValueEvents.loaded, cardId: cardId, amount: amount, currency: currency,
                                             balance: balance, reference: reference, tenant: tenant, now: now)], in: executor)
            return balance
        } catch let error as StoredValueLedgerError {
            throw error
        } catch {
            throw .unavailable(String(describing: error))
        }
    }

    /// Adds to the card holding `panHash`, or registers a `pan_…` card for it; explains a refusal. Two first
    /// loads of one number at once: the second insert waits for the first, finds the row and adds to it.
    private func creditOrRegister(panHash: [UInt8], maskedPan: String, amount: Int64, currency: String,
                                  tenant: TenantContext, now: Date, on executor: any SQLExecutor) async throws -> (String, Int64) {
        if let credited = try await creditOnce(panHash: panHash, maskedPan: maskedPan, amount: amount, currency: currency,
                                               tenant: tenant, now: now, on: executor) {
            return credited
        }
        guard let credited = try await creditOnce(panHash: panHash, maskedPan: maskedPan, amount: amount, currency: currency,
                                                  tenant: tenant, now: now, on: executor) else {
            throw StoredValueLedgerError.unavailable("the card was registered concurrently and could not be credited")
        }
        return credited
    }

    private func creditOnce(panHash: [UInt8], maskedPan: String, amount: Int64, currency: String,
                            tenant: TenantContext, now: Date, on executor: any SQLExecutor) async throws -> (String, Int64)? {
        guard amount > 0, amount <= Self.panCardBalanceMax else { throw StoredValueLedgerError.balanceLimit(maximum: Self.panCardBalanceMax) }
        if let row = try await executor.queryFirst("""
            UPDATE reconciliation_cards SET balance = balance + \(amount), last_activity_at = \(now)
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND pan_hash = \(panHash)
              AND currency = \(currency) AND status = 'ACTIVE'
              AND balance <= (CASE WHEN card_id ~ '^pan_' THEN \(Self.panCardBalanceMax) ELSE \(CardLimits.balanceCeiling) END) - \(amount)
            RETURNING card_id, balance
            """) {
            return (try row.decode("card_id"), try row.decode("balance"))
        }
        if let existing = try await executor.queryFirst("""
            SELECT card_id, currency, status FROM reconciliation_cards
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND pan_hash = \(panHash)
            """) {
            if try existing.decode("currency", as: String.self) != currency { throw StoredValueLedgerError.currencyMismatch }
            if try existing.decode("status", as: String.self) != CardStatus.active.rawValue { throw StoredValueLedgerError.cardBlocked }
            let cardId: String = try existing.decode("card_id")
            throw StoredValueLedgerError.balanceLimit(maximum: cardId.hasPrefix(Self.panCardPrefix)
                ? Self.panCardBalanceMax : CardLimits.balanceCeiling)
        }
        let cardId = Self.panCardPrefix + Encoding.hex(Array(panHash.prefix(12)))
        let inserted = try await executor.execute("""
            INSERT INTO reconciliation_cards (merchant_id, mode, card_id, user_id, name, status, balance, currency, pan_hash,
                masked_pan, card_balance, counter, chain_hash, chain_timestamp, key_version, created_at, registered_at,
                last_activity_at)
            VALUES (\(tenant.merchantId), \(tenant.mode), \(cardId), 0, \(maskedPan), 'ACTIVE', \(amount), \(currency), \(panHash),
                \(maskedPan), 0, 0, \(CardStore.genesisHash), 0, 0, 0, \(now), \(now))
            ON CONFLICT DO NOTHING
            """)
        return inserted == 1 ? (cardId, amount) : nil
    }

    private func event(_ type: String, cardId: String, amount: Int64, currency: String, balance: Int64, reference: String,
                       tenant: TenantContext, now: Date) -> DomainEvent {
        DomainEvent(type: type, tenant: tenant, resourceId: cardId, occurredAt: now, payload: [
            "cardId": .string(cardId), "amount": .int(amount), "currency": .string(currency), "balanceAfter": .int(balance),
            "source": "online", "reference": .string(reference),
        ])
    }
}
