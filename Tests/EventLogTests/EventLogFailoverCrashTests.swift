import AtlasTestSupport
import Testing

/// Two real `atlas serve` processes share one database; SIGKILL of the one running the event log's probe
/// consumer moves it to the other within 10 s, with every event consumed (bench/event_failover.py).
/// Needs the built `atlas` binary; runs with the crash tests (ATLAS_CRASH_TEST=1), about 15 s.
@Suite struct EventLogFailoverCrashTests {
    @Test(.enabled(if: BenchScript.crashTestsEnabled), .timeLimit(.minutes(3)))
    func aKilledInstancesConsumerMovesToTheOtherWithinTenSeconds() async throws {
        let outcome = try await BenchScript.run("event_failover.py")
        #expect(outcome.passed, "\(outcome.output)")
    }
}
