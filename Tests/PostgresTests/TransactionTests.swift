import Foundation
import Kernel
import Testing
@testable import Postgres

struct Boom: Error {}

@Suite struct TransactionTests {
    @Test func commitMakesWritesVisible() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        let table = TestDatabase.uniqueName("txc")
        try await db.execute("CREATE TABLE \(unsafeRaw: table) (id int8)")
        let value = try await db.transaction { tx in
            try await tx.execute("INSERT INTO \(unsafeRaw: table) VALUES (\(1)), (\(2))")
            return try await tx.queryFirst("SELECT count(*) AS n FROM \(unsafeRaw: table)")?.decode("n", as: Int.self)
        }
        #expect(value == 2)
        #expect(try await count(db, table) == 2)
        try await db.execute("DROP TABLE \(unsafeRaw: table)")
    }

    @Test func thrownErrorRollsBackAndReturnsACleanConnection() async throws {
        let db = try TestDatabase.make(connectionsMax: 1)
        defer { db.close() }
        let table = TestDatabase.uniqueName("txr")
        try await db.execute("CREATE TABLE \(unsafeRaw: table) (id int8 UNIQUE)")
        await #expect(throws: Boom.self) {
            try await db.transaction { tx in
                try await tx.execute("INSERT INTO \(unsafeRaw: table) VALUES (\(1))")
                throw Boom()
            }
        }
        #expect(try await count(db, table) == 0)
        // A failed statement aborts the transaction; the error propagates and the connection is reset.
        await #expect(throws: DatabaseError.self) {
            try await db.transaction { tx in
                try await tx.execute("INSERT INTO \(unsafeRaw: table) VALUES (\(1)), (\(1))")
            }
        }
        // Only one connection exists: if it were left inside a transaction this would fail or see junk.
        let status = try #require(try await db.queryFirst("SELECT pg_current_xact_id_if_assigned() IS NULL AS fresh"))
        #expect(try status.decode("fresh", as: Bool.self) == true)
        #expect(db.poolStats == PoolStats(inUse: 0, idle: 1, opening: 0, waiters: 0, connectionsMax: 1))
        try await db.execute("DROP TABLE \(unsafeRaw: table)")
    }

    @Test func cancellingTheTaskRollsBackAndInterruptsTheRunningStatement() async throws {
        let db = try TestDatabase.make(connectionsMax: 1)
        defer { db.close() }
        let table = TestDatabase.uniqueName("txk")
        try await db.execute("CREATE TABLE \(unsafeRaw: table) (id int8)")
        let started = ContinuousClock.now
        let task = Task {
            try await db.transaction { tx in
                try await tx.execute("INSERT INTO \(unsafeRaw: table) VALUES (\(1))")
                try await tx.execute("SELECT pg_sleep(30)")
            }
        }
        #expect(await eventually { await hasRow(db: db, table: table, inUse: true) })
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        let result = await task.result
        #expect(ContinuousClock.now - started < .seconds(10))
        guard case .failure(let error) = result else {
            Issue.record("cancelled transaction should fail")
            return
        }
        #expect((error as? DatabaseError)?.sqlState == "57014")
        #expect(try await count(db, table) == 0)
        try await db.execute("DROP TABLE \(unsafeRaw: table)")
    }

    @Test func cancellationAfterTheBodyStillPreventsCommit() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        let table = TestDatabase.uniqueName("txk2")
        try await db.execute("CREATE TABLE \(unsafeRaw: table) (id int8)")
        let task = Task {
            try await db.transaction { tx in
                try await tx.execute("INSERT INTO \(unsafeRaw: table) VALUES (\(1))")
                withUnsafeCurrentTask { $0?.cancel() }
            }
        }
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(try await count(db, table) == 0)
        try await db.execute("DROP TABLE \(unsafeRaw: table)")
    }

    @Test func anEscapedExecutorIsRefusedAfterTheTransaction() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        let escaped = try await db.transaction { tx in tx }
        await #expect(throws: DatabaseError.self) { _ = try await escaped.query("SELECT 1") }
    }

    private func count(_ db: PostgresDatabase, _ table: String) async throws -> Int {
        try #require(try await db.queryFirst("SELECT count(*) AS n FROM \(unsafeRaw: table)")).decode("n", as: Int.self)
    }

    /// True once the pool has a leased connection (the transaction is running its sleep).
    private func hasRow(db: PostgresDatabase, table: String, inUse: Bool) async -> Bool {
        db.poolStats.inUse == 1
    }
}
