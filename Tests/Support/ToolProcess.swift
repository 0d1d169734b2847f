import Foundation

/// Runs a command-line tool found on PATH (a validator, a client) and collects its exit status and its
/// combined standard output and error.
public enum ToolProcess {
    public struct Outcome: Sendable {
        public let status: Int32
        public let output: String
    }

    public static func run(_ arguments: [String]) async throws -> Outcome {
        try await offTheCooperativePool { try runBlockingTheCallingThread(arguments) }
    }

    /// Blocks the calling thread: only for a quick probe outside a test body (a trait's condition).
    public static func runBlockingTheCallingThread(_ arguments: [String]) throws -> Outcome {
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

/// Runs blocking work (reading a child process's output to its end, waiting for its exit) on a thread of
/// its own. WHY: the cooperative pool has one thread per core; two such waits on a 2-core machine stall
/// every other test of the process, and the HTTP servers under test, whose handlers run on that pool, stop
/// answering until the children exit.
public func offTheCooperativePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}
