import AtlasTestSupport
import Testing

/// SIGKILL of the real `atlas serve` and a restart of its (private) PostgreSQL while 10,000 events are being
/// delivered to a local receiver (bench/webhooks_crash.py): every event arrives at least once, none is lost,
/// duplicates are only of the same event id and body. `WEBHOOK_CRASH_EVENTS` tunes the count. Runs only with
/// ATLAS_CRASH_TEST=1:
///
///     swift build --product atlas && ATLAS_CRASH_TEST=1 swift test --skip-build --filter WebhooksCrashTests
@Suite struct WebhooksCrashTests {
    @Test(.enabled(if: BenchScript.crashTestsEnabled), .timeLimit(.minutes(5)))
    func everyEventIsDeliveredAcrossAServerKillAndAPostgreSQLRestart() async throws {
        let outcome = try await BenchScript.run("webhooks_crash.py")
        #expect(outcome.status == 0, "\(outcome.output)")
        #expect(outcome.output.contains("PASS"))
    }
}
