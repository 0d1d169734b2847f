import Foundation
public import Kernel

/// Why migrations did not run. Messages name the migration, never its SQL or data.
public enum MigrationError: Error, Sendable, CustomStringConvertible {
    case invalidMigration(namespace: String, version: Int, reason: String)
    /// An applied migration's SQL changed after it ran; fix the code (add a new migration instead).
    case checksumMismatch(namespace: String, version: Int, name: String)
    case lockTimeout(seconds: Double)
    case failed(namespace: String, version: Int, name: String, error: DatabaseError)

    public var description: String {
        switch self {
        case .invalidMigration(let namespace, let version, let reason):
            return "migration \(namespace)#\(version) is invalid: \(reason)"
        case .checksumMismatch(let namespace, let version, let name):
            return "migration \(namespace)#\(version) (\(name)) was changed after it was applied; refusing to run"
        case .lockTimeout(let seconds):
            return "another instance held the migration lock for more than \(seconds)s"
        case .failed(let namespace, let version, let name, let error):
            return "migration \(namespace)#\(version) (\(name)) failed: \(error)"
        }
    }
}

/// What one run did.
public struct MigrationReport: Sendable {
    /// "namespace#version" of each migration applied by this run, in order.
    public let applied: [String]
    /// Migrations already applied earlier (checksums verified).
    public let alreadyApplied: Int
}

/// Applies `Migration`s once each, in version order per namespace, each in its own transaction.
///
/// WHY the advisory lock: several app instances may start together; all of them run the runner, and the
/// session-level `pg_advisory_lock` makes them take turns, so the second sees the first's work and
/// applies nothing. The lock lives on one held connection for the whole run and is released at the end
/// (or dies with the session if the process crashes).
public enum MigrationRunner {
    public static let tableName = "atlas_schema_migrations"
    /// Advisory lock key: ASCII "atlasmig".
    public static let lockKey: Int64 = 0x61_74_6c_61_73_6d_69_67
    /// How long to wait for another instance's run before giving up.
    public static let lockWaitSecondsDefault: Double = 120
    static let lockPollIntervalMilliseconds = 100

    @discardableResult
    public static func run(migrations: [Migration], on database: PostgresDatabase, logger: Logger? = nil,
                           lockWaitSeconds: Double = lockWaitSecondsDefault) async throws -> MigrationReport {
        let ordered = try order(migrations)
        return try await database.withConnection { executor in
            // withConnection always hands out a LeasedExecutor; scripts need its simple-protocol path.
            let leased = executor as! LeasedExecutor
            try await acquireLock(leased, waitSeconds: lockWaitSeconds)
            do {
                let report = try await applyPending(ordered, leased, logger: logger)
                try await leased.execute("SELECT pg_advisory_unlock(\(lockKey))")
                return report
            } catch {
                _ = try? await leased.execute("SELECT pg_advisory_unlock(\(lockKey))")
                throw error
            }
        }
    }

    /// Groups by namespace (first-appearance order) and sorts each group by version; rejects duplicates.
    static func order(_ migrations: [Migration]) throws(MigrationError) -> [Migration] {
        var namespaces: [String] = []
        var groups: [String: [Migration]] = [:]
        for migration in migrations {
            guard !migration.namespace.isEmpty, migration.version > 0 else {
                throw .invalidMigration(namespace: migration.namespace, version: migration.version,
                                        reason: "needs a namespace and a positive version")
            }
            if groups[migration.namespace] == nil { namespaces.append(migration.namespace) }
            if groups[migration.namespace, default: []].contains(where: { $0.version == migration.version }) {
                throw .invalidMigration(namespace: migration.namespace, version: migration.version, reason: "duplicate version")
            }
            groups[migration.namespace, default: []].append(migration)
        }
        return namespaces.flatMap { groups[$0]!.sorted { $0.version < $1.version } }
    }

    private static func acquireLock(_ executor: LeasedExecutor, waitSeconds: Double) async throws {
        let deadline = ContinuousClock.now + .seconds(waitSeconds)
        while true {
            let row = try await executor.queryFirst("SELECT pg_try_advisory_lock(\(lockKey)) AS locked")
            if try row?.decode("locked", as: Bool.self) == true { return }
            if ContinuousClock.now >= deadline { throw MigrationError.lockTimeout(seconds: waitSeconds) }
            try await Task.sleep(for: .milliseconds(lockPollIntervalMilliseconds))
        }
    }

    private static func applyPending(_ migrations: [Migration], _ executor: LeasedExecutor,
                                     logger: Logger?) async throws -> MigrationReport {
        try await executor.executeScript("""
            CREATE TABLE IF NOT EXISTS \(tableName) (
                namespace text NOT NULL,
                version bigint NOT NULL,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (namespace, version)
            )
            """)
        var appliedChecksums: [String: String] = [:]
        for row in try await executor.query("SELECT namespace, version, checksum FROM \(unsafeRaw: tableName)") {
            let key = "\(try row.decode("namespace", as: String.self))#\(try row.decode("version", as: Int64.self))"
            appliedChecksums[key] = try row.decode("checksum", as: String.self)
        }
        var pending: [(Migration, String)] = []
        for migration in migrations {
            let checksum = try await checksum(of: migration, executor)
            if let applied = appliedChecksums[key(migration)] {
                guard applied == checksum || migration.priorChecksums.contains(applied) else {
                    throw MigrationError.checksumMismatch(namespace: migration.namespace, version: migration.version,
                                                          name: migration.name)
                }
            } else {
                pending.append((migration, checksum))
            }
        }
        var applied: [String] = []
        for (migration, checksum) in pending {
            try await apply(migration, checksum: checksum, executor)
            logger?.info("migration applied", ["namespace": .string(migration.namespace),
                                               "version": .int(Int64(migration.version)), "name": .string(migration.name)])
            applied.append(key(migration))
        }
        return MigrationReport(applied: applied, alreadyApplied: migrations.count - pending.count)
    }

    private static func apply(_ migration: Migration, checksum: String, _ executor: LeasedExecutor) async throws {
        do {
            try await executor.execute("BEGIN")
            try await executor.executeScript(migration.sql)
            try await executor.execute("""
                INSERT INTO \(unsafeRaw: tableName) (namespace, version, name, checksum)
                VALUES (\(migration.namespace), \(migration.version), \(migration.name), \(checksum))
                """)
            try await executor.execute("COMMIT")
        } catch {
            _ = try? await executor.execute("ROLLBACK")
            throw MigrationError.failed(namespace: migration.namespace, version: migration.version,
                                        name: migration.name, error: error)
        }
    }

    /// SHA-256 of the SQL text, computed by the server (the Postgres module has no crypto dependency).
    private static func checksum(of migration: Migration, _ executor: LeasedExecutor) async throws -> String {
        let row = try await executor.queryFirst("SELECT encode(sha256(convert_to(\(migration.sql), 'UTF8')), 'hex') AS sum")
        return try row?.decode("sum", as: String.self) ?? ""
    }

    private static func key(_ migration: Migration) -> String { "\(migration.namespace)#\(migration.version)" }
}
