import Foundation
import Testing

/// Two real `atlas serve` processes share one database; SIGKILL of the one running the event log's probe
/// consumer moves it to the other within 10 s, with every event consumed (bench/event_failover.py).
/// Needs the built `atlas` binary; runs with the crash tests (ATLAS_CRASH_TEST=1), about 15 s.
@Suite struct EventLogFailoverCrashTests {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static var enabled: Bool { ProcessInfo.processInfo.environment["ATLAS_CRASH_TEST"] == "1" }

    @Test(.enabled(if: EventLogFailoverCrashTests.enabled), .timeLimit(.minutes(3)))
    func aKilledInstancesConsumerMovesToTheOtherWithinTenSeconds() throws {
        let binary = ProcessInfo.processInfo.environment["ATLAS_BINARY"]
            ?? Self.root.appendingPathComponent(".build/debug/atlas").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the atlas product first")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.root.appendingPathComponent("bench/event_failover.py").path, binary]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("PASS"), "\(text)")
    }
}
