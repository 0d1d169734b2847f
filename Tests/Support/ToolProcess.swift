public import Foundation

/// Runs a command-line tool found on PATH (a validator, a client) and collects its exit status and its
/// combined standard output and error.
public enum ToolProcess {
    public struct Outcome: Sendable {
        public let status: Int32
        public let output: String
    }

    public static func run(_ arguments: [String]) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}
