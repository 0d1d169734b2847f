import AtlasTestSupport
import Foundation
import Kernel
import Postgres
import Testing
@testable import EventLog

/// A PostgreSQL restart under a running consumer: it loses its connections and its lease state, then
/// resumes from the stored cursor; every event arrives, none is skipped. A PRIVATE cluster (a restart of
/// the shared test server would break the suites running beside this one). Its initdb and restart run with
/// the crash tests (ATLAS_CRASH_TEST=1), after the main suites, so they take no CPU from their timing.
@Suite(.serialized) struct EventLogRestartCrashTests {
    @Test(.enabled(if: BenchScript.crashTestsEnabled))
    func aConsumerResumesAfterAPostgreSQLRestart() async throws {
        _ = try TestDatabase.baseURL()
        let folder = "/tmp/atlas-evlog-test-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let cluster = try LocalCluster(dataDirectory: folder + "/data", port: 55_900 + Int.random(in: 0..<90),
                                       binDirectory: ProcessInfo.processInfo.environment["ATLAS_TEST_PGBIN"])
        defer { try? FileManager.default.removeItem(atPath: folder) }
        do {
            try await run(on: cluster)
        } catch {
            try await cluster.stop()
            throw error
        }
        try await cluster.stop()
    }

    private func run(on cluster: LocalCluster) async throws {
        let database = PostgresDatabase(configuration: PostgresConfiguration(
            url: try await cluster.start(), pool: PoolLimits(connectionsMax: 4, acquireTimeoutSeconds: 30)))
        defer { database.close() }
        try await MigrationRunner.run(migrations: EventLogService.migrations, on: database)
        let fixture = EventLogFixture(database: database)
        let deliveries = Deliveries()
        try await fixture.running(fixture.service([EventConsumer(name: "test.restart") { deliveries.record($0) }])) {
            try await fixture.append((1...5).map { EventLogFixture.event(resource: "before\($0)") })
            try await eventually("the events before the restart") { deliveries.all.count == 5 }
            try await cluster.restart()
            try await eventually("an append after the restart") {
                do {
                    try await fixture.append((1...5).map { EventLogFixture.event(resource: "after\($0)") })
                    return true
                } catch {
                    return false
                }
            }
            try await eventually("the events after the restart") { Set(deliveries.resources).count == 10 }
            // A batch is handed over before its cursor is stored: stop only once the cursor is stored too
            // (stopping between the two rightly means a redelivery, not a skip).
            try await eventually("the cursor at the last event") { try await cursorIsAtTheLastEvent(fixture) }
        }
        let expected = (1...5).map { "before\($0)" } + (1...5).map { "after\($0)" }
        #expect(Array(deliveries.resources.suffix(5)) == Array(expected.suffix(5)))
        #expect(Set(deliveries.resources) == Set(expected))
        #expect(try await cursorIsAtTheLastEvent(fixture))
    }

    /// Sequence numbers skip after a restart (PostgreSQL logs them ahead), so compare with the last row.
    private func cursorIsAtTheLastEvent(_ fixture: EventLogFixture) async throws -> Bool {
        let atEnd = try await fixture.database.queryFirst("""
            SELECT (c.cursor_xid, c.cursor_seq) = (e.writer_xid, e.seq) AS at_end FROM event_log_consumers c,
                (SELECT writer_xid, seq FROM event_log ORDER BY writer_xid DESC, seq DESC LIMIT 1) e
            WHERE c.name = 'test.restart'
            """)
        return try atEnd?.decode("at_end", as: Bool.self) == true
    }
}
