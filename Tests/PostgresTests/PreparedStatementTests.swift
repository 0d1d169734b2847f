import Foundation
import Kernel
import Testing
@testable import Postgres

/// The per-connection prepared-statement cache: hits, the LRU bound, reconnects and DDL.
@Suite struct PreparedStatementTests {
    /// Our statements in this session, as the server sees them.
    static func serverStatementCount(_ executor: any SQLExecutor) async throws -> Int {
        let row = try #require(try await executor.queryFirst(
            "SELECT count(*) AS n FROM pg_prepared_statements WHERE name LIKE 'atlas_ps_%'"))
        return try row.decode("n", as: Int.self)
    }

    static func stats(_ db: PostgresDatabase) async throws -> PreparedStatementStats {
        try await db.withConnection { executor in (executor as! LeasedExecutor).preparedStatementStats }
    }

    @Test func aRepeatedStatementIsPreparedOnceAndThenHit() async throws {
        let db = try TestDatabase.make(connectionsMax: 1)
        defer { db.close() }
        for value in 1...5 {
            let row = try #require(try await db.queryFirst("SELECT \(Int64(value)) + 1 AS v"))
            #expect(try row.decode("v", as: Int.self) == value + 1)
        }
        let stats = try await Self.stats(db)
        // The first use runs unprepared, the second prepares, the rest hit.
        #expect(stats.hits >= 3)
        let preparedNames = try await db.withConnection { executor in
            try await executor.query("SELECT name FROM pg_prepared_statements WHERE statement = 'SELECT $1 + 1 AS v'")
        }
        #expect(preparedNames.count == 1)
    }

    @Test func theCacheNeverHoldsMoreThanItsBound() async throws {
        let bound = 4
        let db = try TestDatabase.make(connectionsMax: 1, preparedStatementsMax: bound)
        defer { db.close() }
        for value in 0..<20 {
            for _ in 0..<2 {  // a statement is prepared on its second use
                _ = try await db.query(SQL("SELECT \(value) AS distinct_\(value), $1::int8 AS v", binds: [.int(Int64(value))]))
            }
        }
        let (serverCount, stats) = try await db.withConnection { executor in
            (try await Self.serverStatementCount(executor), (executor as! LeasedExecutor).preparedStatementStats)
        }
        // The count query itself is cached too, so the bound is what is left on the server.
        #expect(serverCount <= bound)
        #expect(stats.cached <= bound)
        #expect(stats.evictions >= 20 - bound)
        // The most recent statement is still cached: running it again is a hit.
        let before = stats.hits
        _ = try await db.query(SQL("SELECT 19 AS distinct_19, $1::int8 AS v", binds: [.int(19)]))
        #expect(try await Self.stats(db).hits > before)
    }

    @Test func evictionInsideATransactionKeepsTheTransactionUsable() async throws {
        let db = try TestDatabase.make(connectionsMax: 1, preparedStatementsMax: 2)
        defer { db.close() }
        let table = TestDatabase.uniqueName("ps_tx")
        try await db.execute("CREATE TABLE \(unsafeRaw: table) (v int8)")
        try await db.transaction { tx in
            for value in 0..<10 {
                for _ in 0..<2 {
                    try await tx.execute(SQL("INSERT INTO \(table) (v) SELECT $1::int8 + \(value * 0)", binds: [.int(Int64(value))]))
                    _ = try await tx.query(SQL("SELECT count(*) AS n_\(value) FROM \(table)", binds: []))
                }
            }
        }
        let row = try #require(try await db.queryFirst("SELECT count(*) AS n FROM \(unsafeRaw: table)"))
        #expect(try row.decode("n", as: Int.self) == 20)
        try await db.execute("DROP TABLE \(unsafeRaw: table)")
    }

    @Test func aReconnectStartsWithAnEmptyCacheAndStillWorks() async throws {
        let db = try TestDatabase.make(connectionsMax: 1)
        let admin = try TestDatabase.make(connectionsMax: 1)
        defer { db.close(); admin.close() }
        let pidSQL: SQL = "SELECT pg_backend_pid() AS pid"
        let pid = try #require(try await db.queryFirst(pidSQL)).decode("pid", as: Int64.self)
        _ = try await db.queryFirst(pidSQL)
        _ = try await db.queryFirst(pidSQL)
        #expect(try await Self.stats(db).hits >= 1)
        try await admin.execute("SELECT pg_terminate_backend(\(pid)::int4)")
        try await Task.sleep(for: .milliseconds(100))
        let newPid = try #require(try await db.queryFirst(pidSQL)).decode("pid", as: Int64.self)
        #expect(newPid != pid)
        let fresh = try await Self.stats(db)
        #expect(fresh.misses >= 1)
        #expect(fresh.hits <= 1)
    }

    @Test func aSchemaChangeThatAltersTheResultIsRetriedTransparently() async throws {
        let db = try TestDatabase.make(connectionsMax: 1)
        defer { db.close() }
        let table = TestDatabase.uniqueName("ps_ddl")
        try await db.execute("CREATE TABLE \(unsafeRaw: table) (a int8)")
        try await db.execute("INSERT INTO \(unsafeRaw: table) VALUES (1)")
        let select = SQL("SELECT * FROM \(table) WHERE a = $1", binds: [.int(1)])
        #expect(try await db.query(select).first?.columns == ["a"])
        #expect(try await db.query(select).first?.columns == ["a"])  // now prepared
        try await db.execute("ALTER TABLE \(unsafeRaw: table) ADD COLUMN b text DEFAULT 'x'")
        // Outside a transaction block the stale plan (0A000) is dropped and the statement re-prepared.
        let row = try #require(try await db.query(select).first)
        #expect(row.columns == ["a", "b"])
        #expect(try row.decode("b", as: String.self) == "x")
        // Inside a block the error surfaces once (the transaction is aborted) and the next use re-prepares.
        try await db.execute("ALTER TABLE \(unsafeRaw: table) ADD COLUMN c text DEFAULT 'y'")
        await #expect(throws: DatabaseError.self) {
            try await db.transaction { tx in _ = try await tx.query(select) }
        }
        #expect(try await db.query(select).first?.columns == ["a", "b", "c"])
        try await db.execute("DROP TABLE \(unsafeRaw: table)")
    }

    @Test func aStatementTheServerForgotIsPreparedAgain() async throws {
        let db = try TestDatabase.make(connectionsMax: 1)
        defer { db.close() }
        let select = SQL("SELECT $1::text AS v", binds: [.text("one")])
        #expect(try await db.queryFirst(select)?.text("v") == "one")
        #expect(try await db.queryFirst(select)?.text("v") == "one")  // now prepared
        try await db.execute("DEALLOCATE ALL")
        #expect(try await db.queryFirst(select)?.text("v") == "one")
    }

    @Test func errorsFromPreparedStatementsStayRedacted() async throws {
        let db = try TestDatabase.make(connectionsMax: 1)
        defer { db.close() }
        let table = TestDatabase.uniqueName("ps_err")
        try await db.execute("CREATE TABLE \(unsafeRaw: table) (id text PRIMARY KEY)")
        let insert = SQL("INSERT INTO \(table) (id) VALUES ($1)", binds: [.text("secret-4111111111111111")])
        try await db.execute(insert)
        do {
            try await db.execute(insert)
            Issue.record("expected a unique violation")
        } catch {
            #expect(error.kind == .uniqueViolation)
            #expect(!error.message.contains("4111111111111111"))
            #expect(!String(describing: error).contains("4111111111111111"))
        }
        try await db.execute("DROP TABLE \(unsafeRaw: table)")
    }

    @Test func aStatementUsedOnceIsNeverPrepared() async throws {
        let db = try TestDatabase.make(connectionsMax: 1)
        defer { db.close() }
        _ = try await db.query("SELECT 'once' AS only_once")
        let prepared = try await db.withConnection { executor in
            try await executor.query("SELECT name FROM pg_prepared_statements WHERE statement LIKE '%only_once%'")
        }
        #expect(prepared.isEmpty)
    }

    @Test func theCacheCanBeTurnedOff() async throws {
        let db = try TestDatabase.make(connectionsMax: 1, preparedStatementsMax: 0)
        defer { db.close() }
        for _ in 0..<3 { _ = try await db.query("SELECT 1 AS one") }
        let (serverCount, stats) = try await db.withConnection { executor in
            (try await Self.serverStatementCount(executor), (executor as! LeasedExecutor).preparedStatementStats)
        }
        #expect(serverCount == 0)
        #expect(stats == PreparedStatementStats(cached: 0, hits: 0, misses: 0, evictions: 0))
    }
}
