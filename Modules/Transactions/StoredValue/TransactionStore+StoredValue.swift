import Foundation
import Kernel
import StoredValueContract

/// Stored-value cards: a balance per card hash, debited by stored-value sales and credited by loads and refunds.
/// When the card registry's ledger is wired (`services.storedValue`, Reconciliation: the app always wires it)
/// it holds the one balance per card (issue 12 part 3, docs/reconciliation.md); the legacy table
/// `transactions_stored_value_cards` is used only by an assembly without it.
extension TransactionStore {
    /// Debits `amount` when the balance covers it; returns the new balance, or nil (insufficient or unknown card).
    func debitStoredValue(cardHash: [UInt8], amount: Int64, currency: String, reference: String, tenant: TenantContext,
                          now: Date, executor: any SQLExecutor) async throws -> Int64? {
        if let ledger {
            return try await ledger.debit(panHash: cardHash, amount: amount, currency: currency, reference: reference,
                                          tenant: tenant, in: executor)
        }
        let row = try await executor.queryFirst("""
            UPDATE transactions_stored_value_cards SET balance = balance - \(amount), updated_at = \(now)
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND card_hash = \(cardHash)
              AND currency = \(currency) AND balance >= \(amount)
            RETURNING balance
            """)
        return try row?.decode("balance", as: Int64.self)
    }

    /// Adds value; creates the card on first load. Returns the new balance, or nil on a currency mismatch.
    /// The most a stored-value card may hold, in minor units. Far above any real card, it keeps the
    /// running balance clear of Int64/bigint overflow whatever the merchant's amount ceiling is.
    static let storedValueBalanceMaxMinorUnits: Int64 = 1_000_000_000_000

    /// Adds `amount` to the card (creating it). Throws 409 when the card holds another currency or
    /// the balance would pass `storedValueBalanceMaxMinorUnits`.
    func creditStoredValue(cardHash: [UInt8], maskedPan: String, amount: Int64, currency: String, reference: String,
                           tenant: TenantContext, now: Date, executor: any SQLExecutor) async throws -> Int64 {
        if let ledger {
            do {
                return try await ledger.credit(panHash: cardHash, maskedPan: maskedPan, amount: amount, currency: currency,
                                               reference: reference, tenant: tenant, in: executor)
            } catch {
                throw Self.refusal(error)
            }
        }
        let maximum = Self.storedValueBalanceMaxMinorUnits
        guard amount <= maximum else { throw Self.balanceLimit() }
        let row = try await executor.queryFirst("""
            INSERT INTO transactions_stored_value_cards AS card (merchant_id, mode, card_hash, masked_pan, currency, balance,
                created_at, updated_at)
            VALUES (\(tenant.merchantId), \(tenant.mode), \(cardHash), \(maskedPan), \(currency), \(amount), \(now), \(now))
            ON CONFLICT (merchant_id, mode, card_hash) DO UPDATE SET balance = card.balance + EXCLUDED.balance,
                updated_at = EXCLUDED.updated_at
            WHERE card.currency = EXCLUDED.currency AND card.balance <= \(maximum) - EXCLUDED.balance
            RETURNING balance
            """)
        if let row { return try row.decode("balance", as: Int64.self) }
        let existing = try await executor.queryFirst("""
            SELECT currency FROM transactions_stored_value_cards
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND card_hash = \(cardHash)
            """)
        if let existing, try existing.decode("currency", as: String.self) != currency {
            throw AtlasError.conflict(code: "CURRENCY_MISMATCH", "The card holds a balance in another currency")
        }
        throw Self.balanceLimit()
    }

    static func balanceLimit(maximum: Int64 = storedValueBalanceMaxMinorUnits) -> AtlasError {
        AtlasError.conflict(code: "STORED_VALUE_BALANCE_LIMIT", "The card's balance would exceed \(maximum) minor units")
    }

    /// The `/v1` answer to a credit the ledger refused.
    static func refusal(_ error: StoredValueLedgerError) -> AtlasError {
        switch error {
        case .currencyMismatch: AtlasError.conflict(code: "CURRENCY_MISMATCH", "The card holds a balance in another currency")
        case .balanceLimit(let maximum): balanceLimit(maximum: maximum)
        case .cardBlocked: AtlasError.conflict(code: "CARD_BLOCKED", "The stored-value card is blocked")
        case .unavailable: AtlasError.unavailable("The stored-value ledger is temporarily unavailable")
        }
    }

    func storedValueBalance(cardHash: [UInt8], tenant: TenantContext) async throws -> (balance: Int64, currency: String)? {
        if let ledger { return try await ledger.balance(panHash: cardHash, tenant: tenant) }
        guard let row = try await database.queryFirst("""
            SELECT balance, currency FROM transactions_stored_value_cards
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND card_hash = \(cardHash)
            """) else { return nil }
        return (try row.decode("balance"), try row.decode("currency"))
    }
}
