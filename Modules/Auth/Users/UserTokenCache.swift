import Foundation
import Kernel
import Synchronization

/// In-memory cache of verified user access tokens by hash, so a request with a known token costs
/// one SHA-256 and a dictionary lookup. Logout, reuse detection and suspension drop entries here
/// at once and broadcast on `channel`, so every other instance drops them too. The short TTL is
/// a backstop for a notification lost during a reconnect; token expiry is checked on every hit.
final class UserTokenCache: Sendable {
    static let channel = "atlas_auth_user_tokens"
    static let entriesMax = 50_000
    static let entryTTLSeconds: TimeInterval = 30
    /// Unknown or revoked tokens are remembered briefly so replayed garbage does not each cost a query.
    static let negativeTTLSeconds: TimeInterval = 10

    private struct Entry {
        let token: ResolvedUserToken?
        let storedAt: Date
    }

    private let entries = Mutex<[[UInt8]: Entry]>([:])
    private let clock: any WallClock

    init(clock: any WallClock) { self.clock = clock }

    enum Lookup {
        case hit(ResolvedUserToken)
        case knownMissing
        case miss
    }

    func lookup(_ hash: [UInt8]) -> Lookup {
        let now = clock.now()
        return entries.withLock { entries in
            guard let entry = entries[hash] else { return .miss }
            let ttl = entry.token == nil ? Self.negativeTTLSeconds : Self.entryTTLSeconds
            guard now.timeIntervalSince(entry.storedAt) < ttl else {
                entries[hash] = nil
                return .miss
            }
            return entry.token.map { .hit($0) } ?? .knownMissing
        }
    }

    func store(_ token: ResolvedUserToken?, hash: [UInt8]) {
        let now = clock.now()
        entries.withLock { entries in
            if entries.count >= Self.entriesMax { entries.removeAll(keepingCapacity: true) }
            entries[hash] = Entry(token: token, storedAt: now)
        }
    }

    /// Applies one invalidation message: "family:ID", "user:ID", or "*" (everything).
    func apply(_ message: String) {
        if message == "*" {
            entries.withLock { $0.removeAll() }
        } else if message.hasPrefix("family:") {
            let familyId = String(message.dropFirst("family:".count))
            entries.withLock { entries in entries = entries.filter { $0.value.token?.familyId != familyId } }
        } else if message.hasPrefix("user:") {
            let userId = String(message.dropFirst("user:".count))
            entries.withLock { entries in entries = entries.filter { $0.value.token?.user.id != userId } }
        }
    }

    /// Follows this part's channel, and the API-key channel whose "*" means a merchant changed
    /// status (its users must stop or resume at once too), until cancelled.
    func follow(database: any Database, logger: Logger) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.follow(channel: Self.channel, database: database, logger: logger) }
            group.addTask { await self.follow(channel: CredentialCache.channel, database: database, logger: logger) }
        }
    }

    private func follow(channel: String, database: any Database, logger: Logger) async {
        do {
            let stream = try await database.listen(channel: channel)
            for await notification in stream {
                if channel == Self.channel || notification.payload == "*" { apply(notification.payload) }
            }
        } catch {
            logger.error("user token cache cannot listen for revocations", ["error": .string(String(describing: error))])
        }
    }
}
