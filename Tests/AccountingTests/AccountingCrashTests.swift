import AtlasTestSupport
import Testing

/// SIGKILL of the real `atlas serve` while the `accounting.ledger` consumer is posting test-mode sales
/// (bench/accounting_crash.py): after a restart every approved sale has exactly one balanced entry, the test ledger
/// balances, the live one is untouched and the day balances match the lines. It needs the built `atlas` binary and
/// takes about 30 s, so it runs only with ATLAS_CRASH_TEST=1:
///
///     swift build --product atlas && ATLAS_CRASH_TEST=1 swift test --skip-build --filter AccountingCrashTests
@Suite struct AccountingCrashTests {
    @Test(.enabled(if: BenchScript.crashTestsEnabled), .timeLimit(.minutes(5)))
    func killedServerPostsEverySaleExactlyOnceAfterRestart() async throws {
        let outcome = try await BenchScript.run("accounting_crash.py")
        #expect(outcome.status == 0, "\(outcome.output)")
        #expect(outcome.output.contains("PASS"))
    }
}
