import AtlasTestSupport
import Testing

/// schemathesis against a real `atlas serve`, every surface's served document (bench/api_conformance.py):
/// generated valid and invalid requests with valid credentials, zero failures of not_a_server_error and the
/// status-code, content-type, response-schema and response-header conformance checks. Needs the built
/// `atlas` binary and schemathesis (scripts/test.sh installs it); scripts/test.sh runs it on its own after the
/// main suites (about three minutes on 2 cores), and `scripts/test.sh --filter APIConformanceTests` alone.
@Suite struct APIConformanceTests {
    @Test(.timeLimit(.minutes(20)))
    func everySurfaceConformsToItsDocumentUnderSchemathesis() async throws {
        let outcome = try await BenchScript.run("api_conformance.py")
        print(outcome.output)  // one line per surface: cases generated and passed
        #expect(outcome.passed, "\(outcome.output)")
    }
}
