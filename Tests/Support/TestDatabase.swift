import Foundation
public import Kernel
public import Postgres

/// Real-PostgreSQL fixtures for tests. `scripts/test.sh` starts a throwaway cluster and exports
/// DATABASE_URL; each call to `fresh` creates a new, empty database on it (so suites can run in
/// parallel without seeing each other's rows) and applies the given migrations.
public enum TestDatabase {
    public struct Missing: Error, CustomStringConvertible {
        public var description: String {
            "DATABASE_URL is not set: run the tests with scripts/test.sh, which starts a throwaway PostgreSQL"
        }
    }

    public static func baseURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty else { throw Missing() }
        return url
    }

    /// Pool wait for tests: suites run in parallel on a small shared machine, so a busy moment must
    /// not turn into a spurious 503; the production default (5 s) is tested in PostgresTests.
    public static let acquireTimeoutSeconds: Double = 60
    /// Health checks (`isReachable`) likewise: under the full suite a first `SELECT 1` took longer than the
    /// production 2 s and `/health` answered "unreachable" for a database that was up. An unreachable
    /// database still answers at once (PoolTests: the connection is refused, no timeout involved).
    public static let reachabilityTimeoutSeconds: Double = 30
    /// And opening a connection: under the full suite a connect once took longer than the production 5 s
    /// ("timeout expired").
    public static let connectTimeoutSeconds = 30

    /// A new database named `atlas_t_<random>` with `migrations` applied.
    public static func fresh(migrations: [Migration], connectionsMax: Int = 8) async throws -> PostgresDatabase {
        let base = try baseURL()
        let name = "atlas_t_" + Encoding.hex((0..<6).map { _ in UInt8.random(in: 0...255) })
        let admin = PostgresDatabase(url: base)
        let statement = "CREATE DATABASE " + name  // random hex: a safe identifier
        try await admin.execute(SQL(statement))
        admin.close()
        let database = PostgresDatabase(configuration: PostgresConfiguration(
            url: url(base, replacingDatabaseWith: name), pool: PoolLimits(connectionsMax: connectionsMax,
                                                                             acquireTimeoutSeconds: acquireTimeoutSeconds),
            connectTimeoutSeconds: connectTimeoutSeconds, reachabilityTimeoutSeconds: reachabilityTimeoutSeconds))
        try await MigrationRunner.run(migrations: migrations, on: database)
        return database
    }

    /// Replaces the database name in a `postgresql://user@host/db?params` URL.
    public static func url(_ url: String, replacingDatabaseWith name: String) -> String {
        let parts = url.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var location = String(parts[0])
        let schemeEnd = location.range(of: "://").map { $0.upperBound } ?? location.startIndex
        if let slash = location[schemeEnd...].lastIndex(of: "/") {
            location = String(location[..<slash]) + "/" + name
        } else {
            location += "/" + name
        }
        return parts.count > 1 ? location + "?" + parts[1] : location
    }

    /// The generic plan PostgreSQL makes for `text` (as Atlas connections do: `force_generic_plan`), executed
    /// with `arguments` (SQL literals, e.g. `'a', 26`): EXPLAIN's lines. WHY: a prepared statement's plan
    /// is made once without its values, maybe on an empty table; tests pin the shapes that must hold there.
    public static func genericPlan(of text: String, arguments: String, on database: any Database) async throws -> [String] {
        try await database.transaction { tx in
            try await tx.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            try await tx.execute(SQL("PREPARE atlas_generic_plan_probe AS " + text))
            let rows = try await tx.query(SQL("EXPLAIN EXECUTE atlas_generic_plan_probe(" + arguments + ")"))
            try await tx.execute("DEALLOCATE atlas_generic_plan_probe")
            return try rows.map { try $0.decode("QUERY PLAN", as: String.self) }
        }
    }
}
