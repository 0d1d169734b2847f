import CLibPQ

/// Which server-side prepared statements one connection holds, least recently used first out.
///
/// WHY: `PQexecParams` makes the server parse and plan every statement again; the hot paths (sales,
/// idempotency claims) repeat the same few statement texts thousands of times a second. Prepared
/// statements live in the server session, so the cache belongs to one `PGConnection` and dies with it:
/// a reconnect is a new `PGConnection` with an empty cache. Keys include the parameter type OIDs
/// because a NULL bind is sent untyped and the server infers a type at prepare time.
struct PreparedStatementCache {
    /// Default bound on statements kept per connection (server memory: a plan each).
    static let statementsMaxDefault = 128
    /// Longer statement texts (e.g. very wide multi-row INSERTs) are not cached: they are rarely
    /// repeated and each key would pin that much memory per connection.
    static let statementTextBytesMax = 32 * 1024

    struct Key: Hashable {
        let text: String
        let types: [Oid]
    }

    private struct Entry {
        let name: String
        var lastUse: UInt64
    }

    let capacity: Int
    private var entries: [Key: Entry] = [:]
    /// Statements run once, unprepared: only a second use prepares (a miss costs an extra round trip,
    /// and one-off statements such as migrations or admin queries never repeat). Bounded; cleared when full.
    private var seenOnce: Set<Key> = []
    var seenOnceMax: Int { capacity * 4 }
    private var useClock: UInt64 = 0
    private var nextNameNumber = 1
    private(set) var hits = 0
    private(set) var misses = 0
    private(set) var evictions = 0

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    var count: Int { entries.count }

    static func isCacheable(_ text: String) -> Bool {
        text.utf8.count <= statementTextBytesMax && !dropsPreparedStatements(text)
    }

    /// `DEALLOCATE …` / `DISCARD …` remove session statements behind the cache's back: such text runs
    /// unprepared and empties the cache.
    static func dropsPreparedStatements(_ text: String) -> Bool {
        guard let first = text.utf8.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x09 }),
              first == UInt8(ascii: "D") || first == UInt8(ascii: "d") else { return false }
        let head = text.drop(while: { $0.isWhitespace }).prefix(10).uppercased()
        return head.hasPrefix("DEALLOCATE") || head.hasPrefix("DISCARD")
    }

    mutating func removeAll() {
        entries.removeAll()
        seenOnce.removeAll()
    }

    /// The statement's server-side name when cached (and marks it most recently used).
    mutating func lookup(_ key: Key) -> String? {
        useClock += 1
        guard var entry = entries[key] else {
            misses += 1
            return nil
        }
        hits += 1
        entry.lastUse = useClock
        entries[key] = entry
        return entry.name
    }

    /// After a miss: true on the statement's second use (prepare it now), false on its first.
    mutating func shouldPrepare(_ key: Key) -> Bool {
        if seenOnce.remove(key) != nil { return true }
        if seenOnce.count >= seenOnceMax { seenOnce.removeAll(keepingCapacity: true) }
        seenOnce.insert(key)
        return false
    }

    /// A fresh name for a statement about to be prepared (not yet inserted).
    mutating func nextName() -> String {
        defer { nextNameNumber += 1 }
        return "atlas_ps_\(nextNameNumber)"
    }

    /// The name of the statement to deallocate first so one more fits, if the cache is full.
    mutating func evictionVictim() -> (key: Key, name: String)? {
        guard entries.count >= capacity,
              let victim = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) else { return nil }
        entries[victim.key] = nil
        evictions += 1
        return (victim.key, victim.value.name)
    }

    mutating func insert(_ key: Key, name: String) {
        useClock += 1
        entries[key] = Entry(name: name, lastUse: useClock)
    }

    /// Forgets a statement (it failed, or the server no longer has it); returns its name.
    @discardableResult
    mutating func remove(_ key: Key) -> String? {
        entries.removeValue(forKey: key)?.name
    }
}

/// A snapshot of one connection's cache, for tests and metrics.
public struct PreparedStatementStats: Sendable, Equatable {
    public let cached: Int
    public let hits: Int
    public let misses: Int
    public let evictions: Int
}
