import Foundation
import Kernel
import Testing
@testable import Postgres

/// Holds one pooled connection until `release.finish()`. WHY not `pg_sleep`: on a loaded machine the
/// sleep could end before the test saw the connection in use; a held transaction ends only when told.
private func holdConnection(_ db: PostgresDatabase) -> (holder: Task<Void, any Error>, release: AsyncStream<Void>.Continuation) {
    let (released, release) = AsyncStream<Void>.makeStream()
    let holder = Task {
        try await db.transaction { tx in
            try await tx.execute("SELECT 1")
            for await _ in released {}
        }
    }
    return (holder, release)
}

@Suite struct PoolTests {
    @Test func acquireTimesOutWhenEveryConnectionIsBusy() async throws {
        let db = try TestDatabase.make(connectionsMax: 1, acquireTimeoutSeconds: 0.3)
        defer { db.close() }
        let (holder, release) = holdConnection(db)
        #expect(await eventually(timeoutSeconds: 30) { db.poolStats.inUse == 1 })
        let started = ContinuousClock.now
        do {
            _ = try await db.query("SELECT 1")
            Issue.record("expected a pool timeout")
        } catch {
            #expect(error.kind == .poolTimeout)
        }
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(250) && waited < .seconds(1.4))
        #expect(db.poolStats.waiters == 0)
        release.finish()
        _ = try await holder.value
        #expect(try await db.queryFirst("SELECT 1 AS v")?.text("v") == "1")
    }

    @Test func waitersBeyondTheLimitAreRejectedAtOnce() async throws {
        let db = try TestDatabase.make(connectionsMax: 1, acquireTimeoutSeconds: 5, waitersMax: 1)
        defer { db.close() }
        let (holder, release) = holdConnection(db)
        #expect(await eventually(timeoutSeconds: 30) { db.poolStats.inUse == 1 })
        let waiter = Task { try await db.query("SELECT 2 AS v") }
        #expect(await eventually(timeoutSeconds: 30) { db.poolStats.waiters == 1 })
        let started = ContinuousClock.now
        await #expect(throws: DatabaseError.self) { _ = try await db.query("SELECT 3") }
        #expect(ContinuousClock.now - started < .milliseconds(500))
        release.finish()
        #expect(try await waiter.value.first?.text("v") == "2")
        _ = try await holder.value
    }

    @Test func twoHundredConcurrentTasksShareEightConnections() async throws {
        let db = try TestDatabase.make(connectionsMax: 8, acquireTimeoutSeconds: 30)
        defer { db.close() }
        let sums = try await withThrowingTaskGroup(of: Int64.self) { group in
            for index in 0..<200 {
                group.addTask {
                    let row = try await db.queryFirst("SELECT \(Int64(index)) + 1 AS v, pg_sleep(0.005) AS s")
                    let value = try #require(row).decode("v", as: Int64.self)
                    #expect(db.poolStats.inUse <= 8)
                    return value - Int64(index)
                }
            }
            return try await group.reduce(into: [Int64]()) { $0.append($1) }
        }
        #expect(sums.count == 200 && sums.allSatisfy { $0 == 1 })
        let stats = db.poolStats
        #expect(stats.inUse == 0 && stats.waiters == 0 && stats.idle <= 8 && stats.idle >= 1)
        #expect(stats.connectionsMax == 8)
    }

    @Test func aTerminatedBackendIsReplacedOnTheNextAcquire() async throws {
        let db = try TestDatabase.make(connectionsMax: 1)
        let admin = try TestDatabase.make(connectionsMax: 1)
        defer { db.close(); admin.close() }
        let pid = try #require(try await db.queryFirst("SELECT pg_backend_pid() AS pid")).decode("pid", as: Int64.self)
        try await admin.execute("SELECT pg_terminate_backend(\(pid)::int4)")
        // The server closes the socket; give it a moment to arrive before the next acquire.
        try await Task.sleep(for: .milliseconds(100))
        let newPid = try #require(try await db.queryFirst("SELECT pg_backend_pid() AS pid")).decode("pid", as: Int64.self)
        #expect(newPid != pid)
        #expect(db.poolStats.idle == 1)
    }

    @Test func aCancelledWaiterLeavesTheQueueAtOnce() async throws {
        let db = try TestDatabase.make(connectionsMax: 1, acquireTimeoutSeconds: 10)
        defer { db.close() }
        let (holder, release) = holdConnection(db)
        #expect(await eventually(timeoutSeconds: 30) { db.poolStats.inUse == 1 })
        let waiter = Task { try await db.query("SELECT 1") }
        #expect(await eventually(timeoutSeconds: 30) { db.poolStats.waiters == 1 })
        let started = ContinuousClock.now
        waiter.cancel()
        let result = await waiter.result
        #expect(ContinuousClock.now - started < .milliseconds(500))
        #expect((try? result.get()) == nil)
        #expect(db.poolStats.waiters == 0)
        release.finish()
        _ = try await holder.value
    }

    @Test func aStrayBeginThroughThePoolIsRolledBackOnRelease() async throws {
        let db = try TestDatabase.make(connectionsMax: 1)
        defer { db.close() }
        try await db.execute("BEGIN")
        // Inside a transaction now() is frozen; after the pool's ROLLBACK each statement gets a new one.
        let first = try #require(try await db.queryFirst("SELECT now()::text AS t")).text("t")
        try await Task.sleep(for: .milliseconds(20))
        let second = try #require(try await db.queryFirst("SELECT now()::text AS t")).text("t")
        #expect(first != second)
    }

    @Test func closedPoolRefusesWork() async throws {
        let db = try TestDatabase.make()
        _ = try await db.query("SELECT 1")
        db.close()
        do {
            _ = try await db.query("SELECT 1")
            Issue.record("expected poolClosed")
        } catch {
            #expect(error.kind == .poolClosed)
        }
    }

    @Test func unreachableServerFailsWithConnectionFailedAndFreesTheSlot() async throws {
        let db = PostgresDatabase(configuration: PostgresConfiguration(
            url: "postgresql://atlas@/atlas?host=/nonexistent-atlas-dir&port=1", pool: PoolLimits(connectionsMax: 1)))
        defer { db.close() }
        for _ in 0..<2 {
            do {
                _ = try await db.query("SELECT 1")
                Issue.record("expected connectionFailed")
            } catch {
                #expect(error.kind == .connectionFailed)
            }
        }
        #expect(db.poolStats.opening == 0 && db.poolStats.inUse == 0)
        #expect(await db.isReachable() == false)
    }

    @Test func reachableDatabaseAnswersHealthChecks() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        // A first connection during the full suite's start-up surge can take longer than the check's 2 s.
        _ = try await db.query("SELECT 1")
        #expect(await db.isReachable())
        let name = try #require(try await db.queryFirst("SELECT current_setting('application_name') AS n"))
        #expect(name.text("n") == "atlas-tests")
    }
}
