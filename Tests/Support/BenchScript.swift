public import Foundation

/// Runs a Python script of `bench/` against the built `atlas` binary (crash and failover tests of real
/// server processes). `ATLAS_BINARY` overrides the debug build's path.
public enum BenchScript {
    public struct Outcome: Sendable {
        public let status: Int32
        public let output: String
        public var passed: Bool { status == 0 && output.contains("PASS") }
    }

    public struct MissingBinary: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "no atlas binary at \(path): build the atlas product first" }
    }

    public static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Crash tests run only with ATLAS_CRASH_TEST=1 (scripts/test.sh runs them after the main suites).
    public static var crashTestsEnabled: Bool { ProcessInfo.processInfo.environment["ATLAS_CRASH_TEST"] == "1" }

    public static func run(_ script: String) async throws -> Outcome {
        try await offTheCooperativePool { try runBlocking(script) }
    }

    private static func runBlocking(_ script: String) throws -> Outcome {
        let binary = ProcessInfo.processInfo.environment["ATLAS_BINARY"] ?? root.appendingPathComponent(".build/debug/atlas").path
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw MissingBinary(path: binary) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent("bench/" + script).path, binary]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, output: text)
    }
}
