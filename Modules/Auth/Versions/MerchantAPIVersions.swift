import AccessContract
import Foundation
import Kernel
import Synchronization

/// Each merchant's default Commerce API version (`auth_merchants.api_version`), read through a small cache
/// so a `/v1` request costs no query: entries live `entryTTLSeconds`, and a change on this instance is seen
/// at once (another instance sees it within the TTL).
final class MerchantAPIVersions: Sendable {
    static let entriesMax = 100_000
    static let entryTTLSeconds: TimeInterval = 60

    private struct Entry {
        let version: APIVersion?
        let storedAt: Date
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let database: any Database
    private let clock: any WallClock

    init(database: any Database, clock: any WallClock) {
        self.database = database
        self.clock = clock
    }

    /// The merchant's stored version; nil when none is set (the request then runs under `current`).
    func defaultVersion(merchantId: String) async throws -> APIVersion? {
        let now = clock.now()
        if let entry = entries.withLock({ $0[merchantId] }), now.timeIntervalSince(entry.storedAt) < Self.entryTTLSeconds {
            return entry.version
        }
        let row = try await database.queryFirst("SELECT api_version FROM auth_merchants WHERE id = \(merchantId)")
        let version = row?.text("api_version").flatMap(CommerceAPIVersions.version)
        entries.withLock { entries in
            if entries.count >= Self.entriesMax { entries.removeAll(keepingCapacity: true) }
            entries[merchantId] = Entry(version: version, storedAt: now)
        }
        return version
    }

    /// Sets (or, with nil, clears) the merchant's default. False when the merchant does not exist.
    func setDefault(_ version: APIVersion?, merchantId: String) async throws -> Bool {
        let updated = try await database.execute("""
            UPDATE auth_merchants SET api_version = \(version?.rawValue) WHERE id = \(merchantId)
            """)
        entries.withLock { _ = $0.removeValue(forKey: merchantId) }
        return updated == 1
    }
}
