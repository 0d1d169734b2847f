import Foundation
import Glibc
import Kernel
import Testing
@testable import Postgres

/// These tests restart PostgreSQL. They use PRIVATE clusters (LocalCluster in a temp folder) instead of the
/// shared DATABASE_URL server, because the whole package's tests run in parallel in one process and a
/// restart of the shared server would break unrelated tests. They are serialized among themselves to keep
/// the 2-core machine from running two initdbs at once. ATLAS_TEST_PGBIN (from pg.sh) picks the binaries.
@Suite(.serialized) struct ClusterTests {
    static func temporaryFolder() -> String {
        "/tmp/atlas-pg-test-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(10).lowercased()
    }

    static func makeCluster(_ folder: String) throws -> LocalCluster {
        _ = try TestDatabase.url()  // same precondition as every other Postgres test
        let bin = ProcessInfo.processInfo.environment["ATLAS_TEST_PGBIN"]
        return try LocalCluster(dataDirectory: folder + "/data", port: 55_500 + Int.random(in: 0..<400), binDirectory: bin)
    }

    static func removeCluster(_ cluster: LocalCluster, _ folder: String) async {
        try? await cluster.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    @Test func localClusterIsCreatedOnceAndReused() async throws {
        let folder = Self.temporaryFolder()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let cluster = try Self.makeCluster(folder)
        do {
            #expect(!cluster.isInitialized)
            let url = try await cluster.start()
            #expect(url == "postgresql://atlas@/atlas?host=\(folder)/data&port=\(cluster.port)")
            #expect(cluster.isInitialized)
            let db = PostgresDatabase(url: url)
            try await db.execute("CREATE TABLE survivor (id int8)")
            try await db.execute("INSERT INTO survivor VALUES (42)")
            let encoding = try #require(try await db.queryFirst("SHOW server_encoding"))
            #expect(encoding.values.first == "UTF8")
            db.close()
            // Starting an already running cluster is a no-op that returns the same URL.
            #expect(try await cluster.start() == url)
            try await cluster.stop()
            // A crash leaves a stale postmaster.pid behind; start must cope and keep the data.
            try "999999\n\(cluster.dataDirectory)\n0\n\(cluster.port)\n".write(
                toFile: cluster.dataDirectory + "/postmaster.pid", atomically: true, encoding: .utf8)
            let again = try await cluster.start()
            #expect(again == url)
            let reopened = PostgresDatabase(url: again)
            #expect(try await reopened.queryFirst("SELECT id FROM survivor")?.text("id") == "42")
            reopened.close()
        } catch {
            await Self.removeCluster(cluster, folder)
            throw error
        }
        await Self.removeCluster(cluster, folder)
    }

    @Test func poolAndListenerRecoverAfterServerRestart() async throws {
        let folder = Self.temporaryFolder()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let cluster = try Self.makeCluster(folder)
        do {
            let url = try await cluster.start()
            let db = PostgresDatabase(configuration: PostgresConfiguration(url: url, pool: PoolLimits(connectionsMax: 4)))
            defer { db.close() }
            let channel = "restart_events"
            let collector = NotificationCollector(try await db.listen(channel: channel))
            defer { collector.stop() }
            // Warm several pooled connections so all of them go stale at the restart.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { try await db.execute("SELECT pg_sleep(0.05)") } }
                try await group.waitForAll()
            }
            try await db.notify(channel: channel, payload: "before")
            #expect(await collector.wait(count: 1).map(\.payload) == ["before"])
            let pidBefore = try #require(try await db.queryFirst("SELECT pg_backend_pid() AS pid")).text("pid")

            try await cluster.restart()

            // The very first statement after the restart succeeds: stale idle connections are detected
            // (their sockets hit EOF) and replaced on acquire.
            let pidAfter = try #require(try await db.queryFirst("SELECT pg_backend_pid() AS pid")).text("pid")
            #expect(pidAfter != pidBefore)
            for index in 0..<8 { #expect(try await db.queryFirst("SELECT \(index) AS v")?.text("v") == "\(index)") }
            #expect(await db.isReachable())
            // The listener reconnects and re-LISTENs by itself; notifications sent before that are lost,
            // so keep notifying until one arrives.
            let delivered = await eventually(timeoutSeconds: 15) {
                try? await db.notify(channel: channel, payload: "after")
                return collector.notifications.contains { $0.payload == "after" }
            }
            #expect(delivered)
            let stats = db.poolStats
            #expect(stats.inUse == 0 && stats.idle >= 1)
        } catch {
            await Self.removeCluster(cluster, folder)
            throw error
        }
        await Self.removeCluster(cluster, folder)
    }
}

/// Restarts the SHARED test server (ATLAS_TEST_PGDATA/ATLAS_TEST_PGBIN exported by pg.sh). Opt-in with
/// ATLAS_TEST_RESTART_SHARED=1 and run alone (`swift test --filter SharedServerRestartTests`): a restart
/// breaks whatever else is using that server at the moment. `ClusterTests` covers the same on a private cluster.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["ATLAS_TEST_RESTART_SHARED"] == "1"))
struct SharedServerRestartTests {
    @Test func sharedServerRestartIsSurvived() async throws {
        let environment = ProcessInfo.processInfo.environment
        let dataDirectory = try #require(environment["ATLAS_TEST_PGDATA"], "ATLAS_TEST_PGDATA not set (use pg.sh)")
        let cluster = try LocalCluster(dataDirectory: dataDirectory, binDirectory: environment["ATLAS_TEST_PGBIN"])
        let db = try TestDatabase.make(connectionsMax: 2)
        defer { db.close() }
        let channel = TestDatabase.uniqueName("shared_restart")
        let collector = NotificationCollector(try await db.listen(channel: channel))
        defer { collector.stop() }
        let before = try #require(try await db.queryFirst("SELECT pg_backend_pid() AS pid")).text("pid")
        try await cluster.restart()
        let after = try #require(try await db.queryFirst("SELECT pg_backend_pid() AS pid")).text("pid")
        #expect(before != after)
        #expect(await eventually(timeoutSeconds: 15) {
            try? await db.notify(channel: channel, payload: "after")
            return !collector.notifications.isEmpty
        })
    }
}
