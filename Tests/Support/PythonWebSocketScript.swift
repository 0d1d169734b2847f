import Foundation
import HTTPServer
public import Kernel

/// A Python script driving WebSocket routes with the `websockets` library against a real loopback server: the
/// server serves `responder` on an ephemeral port, the script gets the port as its first argument, and the
/// server is shut down once the script exits.
public enum PythonWebSocketScript {
    /// Whether python3 has `websockets` (`pip install websockets`); tests skip without it.
    public static let isAvailable: Bool = {
        guard let outcome = try? ToolProcess.runBlockingTheCallingThread(["python3", "-c", "import websockets"]) else {
            return false
        }
        return outcome.status == 0
    }()

    public static func run(_ script: String, serving responder: any HTTPResponder, arguments: [String]) async throws
        -> ToolProcess.Outcome {
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.eventLoopCount = 1
        configuration.accessLogEnabled = false
        let server = HTTPServer(configuration: configuration, responder: responder)
        let port = try server.start()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ws-script-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let path = directory.appendingPathComponent("script.py").path
            try script.write(toFile: path, atomically: true, encoding: .utf8)
            let outcome = try await ToolProcess.run(["python3", path, String(port)] + arguments)
            await server.shutdown()
            return outcome
        } catch {
            await server.shutdown()
            throw error
        }
    }
}
