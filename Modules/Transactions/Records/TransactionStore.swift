import Foundation
import Kernel
import Synchronization

/// Per-merchant transaction settings: supported currencies, the amount ceiling, the business-day
/// time zone (void window) and the store location used for cash rounding.
public struct MerchantTransactionSettings: Sendable, Hashable {
    /// Empty means every ISO 4217 currency Kernel knows.
    public var currencies: Set<String>
    public var amountCeilingMinorUnits: Int64
    public var timeZoneIdentifier: String
    public var location: CashRoundingLocation?

    public init(currencies: Set<String> = [], amountCeilingMinorUnits: Int64 = SaleLimits.defaultAmountCeilingMinorUnits,
                timeZoneIdentifier: String = "UTC", location: CashRoundingLocation? = nil) {
        self.currencies = currencies
        self.amountCeilingMinorUnits = amountCeilingMinorUnits
        self.timeZoneIdentifier = timeZoneIdentifier
        self.location = location
    }

    var timeZone: TimeZone { TimeZone(identifier: timeZoneIdentifier) ?? TimeZone(secondsFromGMT: 0)! }
}

/// Reads and writes `transactions_merchant_settings`, with a short in-process cache because every
/// sale needs them and they change rarely.
public final class MerchantSettingsStore: Sendable {
    /// How long a cached entry is trusted; a settings change takes at most this long to apply.
    static let cacheSeconds: TimeInterval = 30
    static let cacheEntriesMax = 10_000

    let database: any Database
    let clock: any WallClock
    private let cache = Mutex<[TenantContext: (MerchantTransactionSettings, Date)]>([:])

    public init(database: any Database, clock: any WallClock = SystemWallClock()) {
        self.database = database
        self.clock = clock
    }

    public func settings(for tenant: TenantContext) async throws -> MerchantTransactionSettings {
        let now = clock.now()
        if let (cached, at) = cache.withLock({ $0[tenant] }), now.timeIntervalSince(at) < Self.cacheSeconds { return cached }
        let row = try await database.queryFirst("""
            SELECT currencies, amount_ceiling, time_zone, location FROM transactions_merchant_settings
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            """)
        var settings = MerchantTransactionSettings()
        if let row {
            let currencies: String = try row.decode("currencies")
            settings.currencies = Set(currencies.split(separator: ",").map(String.init))
            if let ceiling: Int64 = try row.decode("amount_ceiling") { settings.amountCeilingMinorUnits = ceiling }
            settings.timeZoneIdentifier = try row.decode("time_zone")
            if let text: String = try row.decode("location") {
                settings.location = try? JSONCoding.decoder().decode(CashRoundingLocation.self, from: Data(text.utf8))
            }
        }
        cache.withLock {
            if $0.count >= Self.cacheEntriesMax { $0.removeAll() }
            $0[tenant] = (settings, now)
        }
        return settings
    }

    /// Creates or replaces a merchant's settings (admin CLI, tests, a future settings API).
    public func save(_ settings: MerchantTransactionSettings, for tenant: TenantContext) async throws {
        let location: SQLValue = try settings.location.map {
            .json(String(decoding: try JSONCoding.encoder().encode($0), as: UTF8.self))
        } ?? .null
        try await database.execute("""
            INSERT INTO transactions_merchant_settings (merchant_id, mode, currencies, amount_ceiling, time_zone, location, updated_at)
            VALUES (\(tenant.merchantId), \(tenant.mode), \(settings.currencies.sorted().joined(separator: ",")),
                    \(settings.amountCeilingMinorUnits), \(settings.timeZoneIdentifier), \(location), now())
            ON CONFLICT (merchant_id, mode) DO UPDATE SET currencies = EXCLUDED.currencies,
                amount_ceiling = EXCLUDED.amount_ceiling, time_zone = EXCLUDED.time_zone, location = EXCLUDED.location,
                updated_at = now()
            """)
        _ = cache.withLock { $0.removeValue(forKey: tenant) }
    }
}

/// SQL for transactions, terminal locks, stored value and the outbox. Every statement is scoped by
/// merchant_id and mode.
struct TransactionStore: Sendable {
    /// A terminal lock outlives any acquirer call; after this a crashed holder's lock is taken over.
    static let terminalLockSeconds: TimeInterval = 120

    let database: any Database

    func find(_ id: String, tenant: TenantContext, executor: (any SQLExecutor)? = nil, forUpdate: Bool = false) async throws
        -> TransactionRecord? {
        let lock = forUpdate ? " FOR UPDATE" : ""
        let sql = SQL("SELECT \(TransactionRecord.columns) FROM transactions WHERE id = $1 AND merchant_id = $2 AND mode = $3" + lock,
                      binds: [.text(id), .text(tenant.merchantId), .text(tenant.mode.rawValue)])
        return try await (executor ?? database).queryFirst(sql).map(TransactionRecord.init(row:))
    }

    struct ListFilter: Sendable {
        var type: String?
        var status: String?
        var terminalId: String?
        var from: Date?
        var to: Date?
        var beforeId: String?
        var limit: Int
    }

    /// Newest first (ids are ULIDs, so id order is creation order); fetches limit + 1 to know hasMore.
    func list(_ filter: ListFilter, tenant: TenantContext) async throws -> [TransactionRecord] {
        let sql = Self.listSQL(filter, tenant: tenant)
        return try await database.query(sql).map(TransactionRecord.init(row:))
    }

    /// Only the filters present are in the text, so the cursor is an index bound in every plan.
    static func listSQL(_ filter: ListFilter, tenant: TenantContext) -> SQL {
        """
        SELECT \(literal: TransactionRecord.columns) FROM transactions
        WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)\(and: "type = ?", filter.type)\
        \(and: "status = ?", filter.status)\(and: "terminal_id = ?", filter.terminalId)\
        \(and: "created_at >= ?", filter.from)\(and: "created_at < ?", filter.to)\(and: "id < ?", filter.beforeId)
        ORDER BY id DESC LIMIT \(filter.limit + 1)
        """
    }

    // MARK: Terminal locks (one in-flight transaction per terminal)

    /// True when this transaction now holds the terminal; false when another live lock holds it.
    func claimTerminal(_ terminalId: String, transactionId: String, type: TransactionType, amount: Int64, currency: String,
                       tenant: TenantContext, now: Date) async throws -> Bool {
        let row = try await database.queryFirst("""
            INSERT INTO transactions_terminal_locks AS existing (merchant_id, mode, terminal_id, transaction_id, type, amount,
                currency, started_at, locked_until)
            VALUES (\(tenant.merchantId), \(tenant.mode), \(terminalId), \(transactionId), \(type.rawValue), \(amount),
                \(currency), \(now), \(now.addingTimeInterval(Self.terminalLockSeconds)))
            ON CONFLICT (merchant_id, mode, terminal_id) DO UPDATE SET transaction_id = EXCLUDED.transaction_id,
                type = EXCLUDED.type, amount = EXCLUDED.amount, currency = EXCLUDED.currency,
                started_at = EXCLUDED.started_at, locked_until = EXCLUDED.locked_until, abort_requested = false
            WHERE existing.locked_until <= \(now)
            RETURNING transaction_id
            """)
        return row?.text("transaction_id") == transactionId
    }

    /// Removes the lock inside the final transaction; returns whether an abort was requested meanwhile.
    func releaseTerminal(transactionId: String, tenant: TenantContext, executor: any SQLExecutor) async throws -> Bool {
        let row = try await executor.queryFirst("""
            DELETE FROM transactions_terminal_locks
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND transaction_id = \(transactionId)
            RETURNING abort_requested
            """)
        return try row?.decode("abort_requested", as: Bool.self) ?? false
    }

    /// Releases a lock when the request failed before its final transaction.
    func abandonTerminal(transactionId: String, tenant: TenantContext) async {
        _ = try? await database.execute("""
            DELETE FROM transactions_terminal_locks
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND transaction_id = \(transactionId)
            """)
    }

    /// The in-flight view of a transaction that holds a terminal, for GET and abort.
    func inFlight(_ id: String, tenant: TenantContext) async throws -> Row? {
        try await database.queryFirst("""
            SELECT terminal_id, type, amount, currency, started_at, abort_requested FROM transactions_terminal_locks
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND transaction_id = \(id)
            """)
    }

    func requestAbort(_ id: String, tenant: TenantContext) async throws -> Bool {
        try await database.execute("""
            UPDATE transactions_terminal_locks SET abort_requested = true
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND transaction_id = \(id)
            """) > 0
    }

    // MARK: Follow-up effects

    func apply(_ effect: OriginalEffect, originalId: String, followUpId: String, tenant: TenantContext,
               executor: any SQLExecutor) async throws {
        switch effect {
        case .refund(let total):
            try await executor.execute("""
                UPDATE transactions SET refunded_amount = \(total)
                WHERE id = \(originalId) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
                """)
        case .void:
            try await executor.execute("""
                UPDATE transactions SET status = 'VOIDED', void_transaction_id = \(followUpId)
                WHERE id = \(originalId) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
                """)
        case .complete:
            try await executor.execute("""
                UPDATE transactions SET completion_transaction_id = \(followUpId)
                WHERE id = \(originalId) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
                """)
        }
    }

    /// Undoes a voided refund's share of its sale's `refunded_amount`.
    func reduceRefunded(_ saleId: String, by amount: Int64, tenant: TenantContext, executor: any SQLExecutor) async throws {
        try await executor.execute("""
            UPDATE transactions SET refunded_amount = refunded_amount - \(amount)
            WHERE id = \(saleId) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            """)
    }

    // MARK: Stored value

    /// Debits `amount` when the balance covers it; returns the new balance, or nil (insufficient or unknown card).
    func debitStoredValue(cardHash: [UInt8], amount: Int64, currency: String, tenant: TenantContext, now: Date,
                          executor: any SQLExecutor) async throws -> Int64? {
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
    func creditStoredValue(cardHash: [UInt8], maskedPan: String, amount: Int64, currency: String, tenant: TenantContext,
                           now: Date, executor: any SQLExecutor) async throws -> Int64 {
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

    static func balanceLimit() -> AtlasError {
        AtlasError.conflict(code: "STORED_VALUE_BALANCE_LIMIT",
                            "The card's balance would exceed \(storedValueBalanceMaxMinorUnits) minor units")
    }

    func storedValueBalance(cardHash: [UInt8], tenant: TenantContext) async throws -> (balance: Int64, currency: String)? {
        guard let row = try await database.queryFirst("""
            SELECT balance, currency FROM transactions_stored_value_cards
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND card_hash = \(cardHash)
            """) else { return nil }
        return (try row.decode("balance"), try row.decode("currency"))
    }
}
