import Foundation
public import Kernel
import Synchronization

/// Everything `PostgresDatabase` needs; every limit is named and has a default.
public struct PostgresConfiguration: Sendable {
    /// A libpq URL: `postgresql://user:pass@host:port/db?sslmode=require`, or a unix socket via
    /// `postgresql://user@/db?host=/path/to/socket-dir&port=5432`.
    public var url: String
    /// Shown in `pg_stat_activity`; the URL may override it.
    public var applicationName: String
    public var pool: PoolLimits
    /// libpq `connect_timeout` for each new connection.
    public var connectTimeoutSeconds: Int
    /// Notifications buffered per `listen` stream before the oldest are dropped (slow consumer).
    public var notificationBufferMax: Int
    /// Upper bound of the listener's reconnect backoff (it starts at 0.1 s and doubles).
    public var listenerReconnectDelayMaxSeconds: Double
    /// `isReachable()` answers false when `SELECT 1` takes longer than this.
    public var reachabilityTimeoutSeconds: Double
    /// Server-side prepared statements kept per pooled connection (LRU, keyed by SQL text and bind
    /// types); 0 turns the cache off (e.g. behind a transaction-pooling proxy).
    public var preparedStatementsMax: Int

    public init(url: String, applicationName: String = "atlas", pool: PoolLimits = PoolLimits(),
                connectTimeoutSeconds: Int = 5, notificationBufferMax: Int = 1_000,
                listenerReconnectDelayMaxSeconds: Double = 5, reachabilityTimeoutSeconds: Double = 2,
                preparedStatementsMax: Int = PostgresConfiguration.preparedStatementsMaxDefault) {
        self.preparedStatementsMax = preparedStatementsMax
        self.url = url
        self.applicationName = applicationName
        self.pool = pool
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.notificationBufferMax = notificationBufferMax
        self.listenerReconnectDelayMaxSeconds = listenerReconnectDelayMaxSeconds
        self.reachabilityTimeoutSeconds = reachabilityTimeoutSeconds
    }
}

/// Kernel's `Database` over libpq: a bounded pool of worker-thread connections, transactions,
/// and LISTEN/NOTIFY on a dedicated listener connection. Connections open lazily on first use.
extension PostgresConfiguration {
    /// Prepared statements kept per connection unless configured (`ATLAS_DB_PREPARED_STATEMENTS_MAX`, read by
    /// the bootstrap; 0 turns the cache off, e.g. to measure it).
    public static let preparedStatementsMaxDefault = PreparedStatementCache.statementsMaxDefault
}

public final class PostgresDatabase: Database {
    public let configuration: PostgresConfiguration
    let pool: ConnectionPool
    private let listener: NotificationListener

    public init(configuration: PostgresConfiguration, logger: Logger? = nil) {
        self.configuration = configuration
        let settings = ConnectionSettings(url: configuration.url, applicationName: configuration.applicationName,
                                          connectTimeoutSeconds: configuration.connectTimeoutSeconds,
                                          preparedStatementsMax: configuration.preparedStatementsMax)
        pool = ConnectionPool(settings: settings, limits: configuration.pool, logger: logger)
        var listenerSettings = settings
        listenerSettings.applicationName = configuration.applicationName + "-listener"
        listener = NotificationListener(settings: listenerSettings,
                                        notificationBufferMax: configuration.notificationBufferMax,
                                        reconnectDelayMaxSeconds: configuration.listenerReconnectDelayMaxSeconds,
                                        logger: logger)
    }

    /// Without an explicit `close()`, connection threads would outlive the object; stop them here.
    deinit { close() }

    public convenience init(url: String, logger: Logger? = nil) {
        self.init(configuration: PostgresConfiguration(url: url), logger: logger)
    }

    /// Pool gauges for metrics.
    public var poolStats: PoolStats { pool.stats }

    /// Stops the listener, fails waiters, closes idle connections (leased ones close on release).
    public func close() {
        pool.close()
        listener.stop()
    }

    // MARK: - Statements

    public func query(_ sql: SQL) async throws(DatabaseError) -> [Row] {
        try await run(sql).rows
    }

    @discardableResult
    public func execute(_ sql: SQL) async throws(DatabaseError) -> Int {
        try await run(sql).affectedRows
    }

    private func run(_ sql: SQL) async throws(DatabaseError) -> QueryOutcome {
        let connection = try await pool.acquire().get()
        let outcome = await connection.query(sql)
        await cleanAndRelease(connection)
        return try outcome.get()
    }

    /// Runs bind-free SQL text that may contain several statements (simple query protocol).
    /// Only for trusted text such as migrations: it takes no parameters by design.
    func executeScript(_ text: String) async throws(DatabaseError) {
        let connection = try await pool.acquire().get()
        let outcome = await connection.script(text)
        await cleanAndRelease(connection)
        _ = try outcome.get()
    }

    // MARK: - Copy out

    /// BEGIN, the settings bound in one `SELECT set_config($1, $2, true), …`, the COPY, COMMIT, on one pooled
    /// connection; the connection goes back to the pool before this returns (a slow reader of the bytes never
    /// holds it). See `Database.copyOut` for why values travel as settings.
    public func copyOut(_ sql: SQL, settings: KeyValuePairs<String, String>) async throws(DatabaseError) -> CopyOutput {
        guard sql.binds.isEmpty else { throw Self.copyTakesNoBinds }
        let assignments = try Self.setConfigSQL(settings)
        let connection = try await pool.acquire().get()
        let outcome = await copyOut(sql, after: assignments, on: connection)
        await cleanAndRelease(connection)
        return try outcome.get()
    }

    /// Any failure leaves the transaction open or aborted; `cleanAndRelease` rolls it back.
    private func copyOut(_ sql: SQL, after assignments: SQL?, on connection: PGConnection) async
        -> Result<CopyOutput, DatabaseError> {
        if case .failure(let error) = await connection.query("BEGIN") { return .failure(error) }
        if let assignments, case .failure(let error) = await connection.query(assignments) { return .failure(error) }
        let copied = await connection.copyOut(sql)
        guard case .success = copied else { return copied }
        if case .failure(let error) = await connection.queryUncancellable("COMMIT") { return .failure(error) }
        return copied
    }

    /// `SELECT set_config($1, $2, true), set_config($3, $4, true), …`: names and values both bound, so the text
    /// depends only on how many there are; nil for none.
    static func setConfigSQL(_ settings: KeyValuePairs<String, String>) throws(DatabaseError) -> SQL? {
        guard !settings.isEmpty else { return nil }
        var calls: [String] = []
        var binds: [SQLValue] = []
        for (name, value) in settings {
            guard isCopySettingName(name) else { throw copySettingNameRefused }
            binds += [.text(name), .text(value)]
            calls.append("set_config($\(binds.count - 1), $\(binds.count), true)")
        }
        return SQL("SELECT " + calls.joined(separator: ", "), binds: binds)
    }

    /// `atlas.` and lower-case letters, digits and underscores: a custom setting, never one of the server's.
    static func isCopySettingName(_ name: String) -> Bool {
        let prefix = "atlas."
        guard name.hasPrefix(prefix), name.utf8.count > prefix.utf8.count else { return false }
        return name.utf8.dropFirst(prefix.utf8.count).allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                || $0 == UInt8(ascii: "_")
        }
    }

    static let copyTakesNoBinds = DatabaseError(
        kind: .query, message: "COPY takes no bind parameters: pass values as settings and read them with current_setting")
    static let copySettingNameRefused = DatabaseError(
        kind: .query, message: "a copy-out setting name is atlas. followed by lower-case letters, digits or _")

    // MARK: - Transactions and leases

    /// BEGIN … COMMIT on one connection. A thrown error, or cancellation of the task, rolls back; the
    /// connection goes back to the pool outside any transaction block (or is discarded if that fails).
    public func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        let connection = try await pool.acquire().get()
        let executor = LeasedExecutor(connection: connection)
        if case .failure(let error) = await connection.query("BEGIN") {
            executor.finish()
            await cleanAndRelease(connection)
            throw error
        }
        let value: T
        do {
            value = try await body(executor)
            // A cancelled task must not commit work it may have abandoned half-way.
            try Task.checkCancellation()
        } catch {
            executor.finish()
            await cleanAndRelease(connection)
            throw error
        }
        executor.finish()
        let commit = await connection.queryUncancellable("COMMIT")
        await cleanAndRelease(connection)
        _ = try commit.get()
        return value
    }

    /// Runs `body` with one connection held for its duration (no transaction). Useful for session-level
    /// features such as advisory locks; `body` must undo any session state it changes.
    public func withConnection<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        let connection = try await pool.acquire().get()
        let executor = LeasedExecutor(connection: connection)
        do {
            let value = try await body(executor)
            executor.finish()
            await cleanAndRelease(connection)
            return value
        } catch {
            executor.finish()
            await cleanAndRelease(connection)
            throw error
        }
    }

    /// Rolls back an open transaction block (never cancelled), then returns the connection to the pool.
    private func cleanAndRelease(_ connection: PGConnection) async {
        if !connection.isBroken && !connection.transactionIsIdle() {
            if case .failure = await connection.queryUncancellable("ROLLBACK") { connection.markBroken() }
        }
        pool.release(connection)
    }

    // MARK: - LISTEN / NOTIFY

    public func listen(channel: String) async throws(DatabaseError) -> AsyncStream<DatabaseNotification> {
        try NotificationListener.validate(channel: channel)
        return try await listener.subscribe(channel: channel)
    }

    public func notify(channel: String, payload: String) async throws(DatabaseError) {
        try NotificationListener.validate(channel: channel)
        try await execute("SELECT pg_notify(\(channel), \(payload))")
    }

    // MARK: - Health

    public func isReachable() async -> Bool {
        let timeoutSeconds = configuration.reachabilityTimeoutSeconds
        let once = FirstAnswer()
        return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let probe = Task {
                let reachable = (try? await self.query("SELECT 1 AS ok"))?.first?.text("ok") == "1"
                _ = once.answer(reachable, continuation)
            }
            Task {
                try? await Task.sleep(for: .seconds(timeoutSeconds))
                if once.answer(false, continuation) { probe.cancel() }
            }
        }
    }
}

/// Resumes a continuation exactly once, whichever of two racing tasks answers first.
private final class FirstAnswer: Sendable {
    private let answered = Mutex(false)

    func answer(_ value: Bool, _ continuation: CheckedContinuation<Bool, Never>) -> Bool {
        let first = answered.withLock { done in
            defer { done = true }
            return !done
        }
        if first { continuation.resume(returning: value) }
        return first
    }
}

/// The executor handed to `transaction`/`withConnection` bodies. It refuses use after the body returns,
/// so an escaped reference can never run statements on a connection that went back to the pool.
final class LeasedExecutor: SQLExecutor {
    private let connection: PGConnection
    private let finished = Atomic<Bool>(false)

    init(connection: PGConnection) { self.connection = connection }

    func finish() { finished.store(true, ordering: .releasing) }

    /// The leased connection's prepared-statement cache counters (tests, diagnostics).
    var preparedStatementStats: PreparedStatementStats { connection.preparedStatementStats }

    func query(_ sql: SQL) async throws(DatabaseError) -> [Row] {
        try await run(sql).rows
    }

    @discardableResult
    func execute(_ sql: SQL) async throws(DatabaseError) -> Int {
        try await run(sql).affectedRows
    }

    /// Multi-statement, bind-free SQL on this connection (migrations).
    func executeScript(_ text: String) async throws(DatabaseError) {
        try checkOpen()
        _ = try await connection.script(text).get()
    }

    private func run(_ sql: SQL) async throws(DatabaseError) -> QueryOutcome {
        try checkOpen()
        return try await connection.query(sql).get()
    }

    private func checkOpen() throws(DatabaseError) {
        if finished.load(ordering: .acquiring) {
            throw DatabaseError(kind: .query, message: "executor used after its transaction or lease ended")
        }
    }
}
