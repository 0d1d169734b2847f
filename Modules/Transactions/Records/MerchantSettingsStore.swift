public import CashRoundingContract
import Foundation
public import Kernel
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
