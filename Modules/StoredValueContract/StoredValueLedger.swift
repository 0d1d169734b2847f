public import Kernel

/// The one stored-value balance per card (issue 12 part 3). Reconciliation's card registry implements it;
/// Transactions' `STORED_VALUE` tender and `POST /v1/stored-value/load` use it, so a card topped up at a
/// station pays a `/v1` sale, and offline debits reconciled later reduce the same balance.
///
/// A `/v1` card is named by its `panHash` (`StoredValuePAN.hash`; the number itself is never stored). Every
/// method runs in the caller's open transaction (`executor`), so the balance change, the caller's own write
/// and the registry's `stored_value.*` event commit together.
public protocol StoredValueLedger: Sendable {
    /// The balance and currency of the card, or nil when the tenant has no such card.
    func balance(panHash: [UInt8], tenant: TenantContext) async throws -> (balance: Int64, currency: String)?
    /// Debits `amount` when the balance covers it and the card is active in `currency`; the new balance, or nil
    /// (insufficient, blocked, another currency or unknown card: the sale is declined).
    func debit(panHash: [UInt8], amount: Int64, currency: String, reference: String, tenant: TenantContext,
               in executor: any SQLExecutor) async throws -> Int64?
    /// Credits `amount` (a load or a refund), registering a card for an unknown PAN. The new balance.
    func credit(panHash: [UInt8], maskedPan: String, amount: Int64, currency: String, reference: String,
                tenant: TenantContext, in executor: any SQLExecutor) async throws(StoredValueLedgerError) -> Int64
}

/// Why a credit was refused.
public enum StoredValueLedgerError: Error, Sendable, Hashable {
    /// The card holds its balance in another currency.
    case currencyMismatch
    /// The balance would pass the card's ceiling (`maximum`, minor units).
    case balanceLimit(maximum: Int64)
    /// The card is blocked: its balance cannot change (terminal-api rule 18).
    case cardBlocked
    /// The registry could not be reached or failed.
    case unavailable(String)
}

/// The hash under which a `/v1` card number is known: one definition for the tender and the registry.
public enum StoredValuePAN {
    public static func hash(_ number: String, tenant: TenantContext, crypto: any CryptoService) -> [UInt8] {
        crypto.sha256(Array("stored-value|\(tenant.merchantId)|\(tenant.mode.rawValue)|\(number)".utf8))
    }
}

extension ModuleServices {
    /// The card registry's ledger (provided by Reconciliation); nil when no wired module provides it.
    public var storedValue: (any StoredValueLedger)? { contracts.resolve((any StoredValueLedger).self) }
}
