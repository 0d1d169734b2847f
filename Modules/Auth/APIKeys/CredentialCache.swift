import Foundation
import Kernel
import Synchronization

/// In-memory cache of resolved API keys by secret hash, so authenticating a request with a known
/// key costs a SHA-256 and a dictionary lookup. Revocations and rotations are broadcast with
/// NOTIFY on `channel`; every instance drops the key at once. Entries also expire after
/// `entryTTLSeconds`, a backstop if a notification is lost during a reconnect.
final class CredentialCache: Sendable {
    static let channel = "atlas_auth_credentials"
    static let entriesMax = 100_000
    static let entryTTLSeconds: TimeInterval = 60
    /// Unknown keys are remembered briefly so garbage keys do not each cost a query.
    static let negativeTTLSeconds: TimeInterval = 10

    private struct Entry {
        let key: ResolvedAPIKey?
        let storedAt: Date
    }

    private struct State {
        var entries: [[UInt8]: Entry] = [:]
        var hashById: [String: [UInt8]] = [:]
    }

    private let state = Mutex(State())
    private let clock: any WallClock

    init(clock: any WallClock) { self.clock = clock }

    enum Lookup {
        case hit(ResolvedAPIKey)
        case knownMissing
        case miss
    }

    func lookup(_ hash: [UInt8]) -> Lookup {
        let now = clock.now()
        return state.withLock { state in
            guard let entry = state.entries[hash] else { return .miss }
            let ttl = entry.key == nil ? Self.negativeTTLSeconds : Self.entryTTLSeconds
            guard now.timeIntervalSince(entry.storedAt) < ttl else {
                state.entries[hash] = nil
                return .miss
            }
            return entry.key.map { .hit($0) } ?? .knownMissing
        }
    }

    func store(_ key: ResolvedAPIKey?, hash: [UInt8]) {
        let now = clock.now()
        state.withLock { state in
            if state.entries.count >= Self.entriesMax {
                state.entries.removeAll(keepingCapacity: true)
                state.hashById.removeAll(keepingCapacity: true)
            }
            state.entries[hash] = Entry(key: key, storedAt: now)
            if let key { state.hashById[key.record.id] = hash }
        }
    }

    /// Drops one key (by id) from this instance's cache.
    func invalidate(keyId: String) {
        state.withLock { state in
            if let hash = state.hashById.removeValue(forKey: keyId) { state.entries[hash] = nil }
        }
    }

    func removeAll() {
        state.withLock { $0 = State() }
    }

    /// Follows the invalidation channel until cancelled.
    func follow(database: any Database, logger: Logger) async {
        do {
            let stream = try await database.listen(channel: Self.channel)
            for await notification in stream {
                if notification.payload == "*" { removeAll() } else { invalidate(keyId: notification.payload) }
            }
        } catch {
            logger.error("credential cache cannot listen for revocations", ["error": .string(String(describing: error))])
        }
    }
}
