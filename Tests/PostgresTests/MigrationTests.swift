import Foundation
import Kernel
import Testing
@testable import Postgres

/// Serialized: every runner takes the same advisory lock on the shared test database, so tests running at
/// once only measured each other's lock waits (one waits at most 2 s on purpose).
@Suite(.serialized) struct MigrationTests {
    @Test func appliesInVersionOrderOnceAndRerunsAsANoOp() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        let namespace = TestDatabase.uniqueName("mig")
        let table = TestDatabase.uniqueName("migt")
        let migrations = [
            Migration(namespace: namespace, version: 2, name: "add column",
                      sql: "ALTER TABLE \(table) ADD COLUMN note text; INSERT INTO \(table) (id, note) VALUES (1, 'a;b')"),
            Migration(namespace: namespace, version: 1, name: "create", sql: "CREATE TABLE \(table) (id int8 PRIMARY KEY)"),
        ]
        let first = try await MigrationRunner.run(migrations: migrations, on: db)
        #expect(first.applied == ["\(namespace)#1", "\(namespace)#2"])
        #expect(first.alreadyApplied == 0)
        let rows = try await db.query("""
            SELECT version, name, checksum, applied_at FROM atlas_schema_migrations WHERE namespace = \(namespace) ORDER BY version
            """)
        #expect(rows.map { $0.text("name") } == ["create", "add column"])
        #expect(rows.allSatisfy { ($0.text("checksum") ?? "").count == 64 })
        #expect(try rows.allSatisfy { try $0.decode("applied_at", as: Date.self).timeIntervalSinceNow > -60 })
        #expect(try await db.queryFirst("SELECT note FROM \(unsafeRaw: table)")?.text("note") == "a;b")

        let second = try await MigrationRunner.run(migrations: migrations, on: db)
        #expect(second.applied.isEmpty)
        #expect(second.alreadyApplied == 2)
        #expect(db.poolStats.inUse == 0)
    }

    @Test func aChangedAppliedMigrationIsRefusedBeforeAnythingRuns() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        let namespace = TestDatabase.uniqueName("mig")
        let table = TestDatabase.uniqueName("migc")
        let original = Migration(namespace: namespace, version: 1, name: "create", sql: "CREATE TABLE \(table) (id int8)")
        try await MigrationRunner.run(migrations: [original], on: db)
        let edited = Migration(namespace: namespace, version: 1, name: "create",
                               sql: "CREATE TABLE \(table) (id int8, extra text)")
        let next = Migration(namespace: namespace, version: 2, name: "next", sql: "ALTER TABLE \(table) ADD COLUMN b int8")
        do {
            try await MigrationRunner.run(migrations: [edited, next], on: db)
            Issue.record("expected a checksum refusal")
        } catch let error as MigrationError {
            guard case .checksumMismatch(let failedNamespace, let version, _) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(failedNamespace == namespace && version == 1)
        }
        let applied = try await db.query("SELECT version FROM atlas_schema_migrations WHERE namespace = \(namespace)")
        #expect(applied.count == 1)
    }

    /// A table moved to another module leaves its old migration's text; databases that ran the earlier text
    /// are accepted through `priorChecksums`, and only through them.
    @Test func anEarlierTextListedInPriorChecksumsIsAccepted() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        let namespace = TestDatabase.uniqueName("mig")
        let (kept, moved) = (TestDatabase.uniqueName("migk"), TestDatabase.uniqueName("migm"))
        let earlierText = "CREATE TABLE \(kept) (id int8); CREATE TABLE \(moved) (id int8)"
        try await MigrationRunner.run(migrations: [Migration(namespace: namespace, version: 1, name: "both", sql: earlierText)],
                                      on: db)
        let earlierChecksum = try #require(try await db.queryFirst(
            "SELECT checksum FROM atlas_schema_migrations WHERE namespace = \(namespace)")?.decode("checksum", as: String.self))
        let laterText = "CREATE TABLE \(kept) (id int8)"
        let accepted = Migration(namespace: namespace, version: 1, name: "both", priorChecksums: [earlierChecksum],
                                 sql: laterText)
        #expect(try await MigrationRunner.run(migrations: [accepted], on: db).alreadyApplied == 1)
        await #expect(throws: MigrationError.self) {
            try await MigrationRunner.run(migrations: [Migration(namespace: namespace, version: 1, name: "both", sql: laterText)],
                                          on: db)
        }
    }

    @Test func aFailingMigrationRollsBackAndStopsTheRun() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        let namespace = TestDatabase.uniqueName("mig")
        let table = TestDatabase.uniqueName("migf")
        let migrations = [
            Migration(namespace: namespace, version: 1, name: "create", sql: "CREATE TABLE \(table) (id int8)"),
            Migration(namespace: namespace, version: 2, name: "broken",
                      sql: "INSERT INTO \(table) VALUES (1); SELECT no_such_function()"),
            Migration(namespace: namespace, version: 3, name: "after", sql: "INSERT INTO \(table) VALUES (3)"),
        ]
        do {
            try await MigrationRunner.run(migrations: migrations, on: db)
            Issue.record("expected a failure")
        } catch let error as MigrationError {
            guard case .failed(_, let version, _, let cause) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(version == 2)
            #expect(cause.sqlState == "42883")
        }
        #expect(try await db.queryFirst("SELECT count(*) AS n FROM \(unsafeRaw: table)")?.decode("n", as: Int.self) == 0)
        let applied = try await db.query("SELECT version FROM atlas_schema_migrations WHERE namespace = \(namespace)")
        #expect(applied.compactMap { $0.text("version") } == ["1"])
        // The lock was released: another run can take it at once.
        let fixed = [migrations[0], Migration(namespace: namespace, version: 2, name: "fixed", sql: "SELECT 1"), migrations[2]]
        let report = try await MigrationRunner.run(migrations: fixed, on: db, lockWaitSeconds: 2)
        #expect(report.applied == ["\(namespace)#2", "\(namespace)#3"])
    }

    @Test func twoInstancesStartingTogetherApplyEachMigrationOnce() async throws {
        // Two separate databases = two app instances with their own pools.
        let first = try TestDatabase.make()
        let second = try TestDatabase.make()
        defer { first.close(); second.close() }
        let namespace = TestDatabase.uniqueName("mig")
        let table = TestDatabase.uniqueName("migr")
        let migrations = [
            // No IF NOT EXISTS and a sleep: a second application would fail or double the row.
            Migration(namespace: namespace, version: 1, name: "create",
                      sql: "CREATE TABLE \(table) (id int8); SELECT pg_sleep(0.3)"),
            Migration(namespace: namespace, version: 2, name: "seed", sql: "INSERT INTO \(table) VALUES (1)"),
        ]
        async let reportA = MigrationRunner.run(migrations: migrations, on: first)
        async let reportB = MigrationRunner.run(migrations: migrations, on: second)
        let reports = try await [reportA, reportB]
        #expect(reports.map(\.applied.count).sorted() == [0, 2])
        #expect(reports.map(\.alreadyApplied).sorted() == [0, 2])
        #expect(try await first.queryFirst("SELECT count(*) AS n FROM \(unsafeRaw: table)")?.decode("n", as: Int.self) == 1)
    }

    @Test func duplicateVersionsAreRejected() {
        let migrations = [Migration(namespace: "a", version: 1, name: "x", sql: "SELECT 1"),
                          Migration(namespace: "a", version: 1, name: "y", sql: "SELECT 2")]
        #expect(throws: MigrationError.self) { try MigrationRunner.order(migrations) }
        let ordered = try? MigrationRunner.order([
            Migration(namespace: "b", version: 2, name: "b2", sql: ""), Migration(namespace: "a", version: 1, name: "a1", sql: ""),
            Migration(namespace: "b", version: 1, name: "b1", sql: ""),
        ])
        #expect(ordered?.map(\.name) == ["b1", "b2", "a1"])
    }
}
