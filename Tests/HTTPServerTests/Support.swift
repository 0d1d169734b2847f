import Foundation
import Kernel
import Synchronization
import Testing
import AtlasTestSupport
@testable import HTTPServer

#if canImport(Glibc)
import Glibc
#endif

/// Paths the integration tests use.
struct TestResponder: HTTPResponder {
    func respond(to request: Request) async -> Response {
        switch request.path {
        case "/ping":
            return .text("pong")
        case "/echo":
            var response = Response(status: 200, headers: ["Content-Type": "application/octet-stream"], body: request.body)
            response.headers.add("X-Method", request.method.rawValue)
            return response
        case "/slow":
            let millis = Int(request.queryParameters["ms"] ?? "200") ?? 200
            try? await Task.sleep(for: .milliseconds(millis))
            return .text("slow \(request.queryParameters["tag"] ?? "")")
        case "/hang":
            try? await Task.sleep(for: .seconds(3600))
            return .text("woke")
        case "/request-id":
            return .text(request.requestId)
        case "/close":
            return Response(status: 200, headers: ["Connection": "close"], body: Array("bye".utf8))
        case "/no-content":
            return Response(status: 204, headers: ["X-Note": "stripped"], body: Array("must not be sent".utf8))
        case "/big":
            return Response(status: 200, body: [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20))
        case "/bad-header":
            return Response(status: 200, headers: ["X-Evil": "a\r\nSet-Cookie: x=1", "X-Good": "ok"], body: [])
        case "/target":
            return .text(request.target)
        default:
            return Response(status: 404)
        }
    }
}

/// A running server on an ephemeral port, stopped by `stop()`.
final class TestServer: Sendable {
    let server: HTTPServer
    let port: Int

    init(_ adjust: (inout HTTPServerConfiguration) -> Void = { _ in }, logger: Logger? = nil,
         responder: any HTTPResponder = TestResponder()) throws {
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.eventLoopCount = 1
        configuration.accessLogEnabled = logger != nil
        adjust(&configuration)
        server = HTTPServer(configuration: configuration, responder: responder,
                            logger: logger ?? Logger(label: "test", minimumLevel: .error))
        port = try server.start()
    }

    func stop() async { await server.shutdown() }

    func client() throws -> RawClient { try RawClient(port: port) }
}

/// A parsed response as a test client sees it.
/// Runs an external program with a deadline; returns exit status and standard output.
func runProcess(_ executable: String, _ arguments: [String], timeoutSeconds: Double = 30) throws
    -> (status: Int32, output: String, error: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe()
    let errorOutput = Pipe()
    process.standardOutput = output
    process.standardError = errorOutput
    try process.run()
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    // Drain pipes while waiting so a chatty child cannot block on a full pipe.
    let outData = DataBox()
    let errData = DataBox()
    let readers = DispatchGroup()
    for (pipe, sink) in [(output, outData), (errorOutput, errData)] {
        readers.enter()
        let handle = pipe.fileHandleForReading
        Thread {
            let data = handle.readDataToEndOfFile()
            sink.data.withLock { $0 = data }
            readers.leave()
        }.start()
    }
    while process.isRunning && Date() < deadline { usleep(20_000) }
    if process.isRunning {
        process.terminate()
        throw TestFailure("\(executable) timed out")
    }
    readers.wait()
    return (process.terminationStatus, String(decoding: outData.data.withLock { $0 }, as: UTF8.self),
            String(decoding: errData.data.withLock { $0 }, as: UTF8.self))
}

/// Every executable called `name` on PATH (then common system folders), in order.
func whichAll(_ name: String) -> [String] {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    var directories = path.split(separator: ":").map(String.init)
    directories += ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin"]
    var found: [String] = []
    for directory in directories {
        let candidate = directory + "/" + name
        if FileManager.default.isExecutableFile(atPath: candidate), !found.contains(candidate) { found.append(candidate) }
    }
    return found
}

func which(_ name: String) -> String? { whichAll(name).first }

/// The first python3 that can import h11 and requests (pyenv's shim and the system one may differ).
func pythonWithHTTPClients() -> String? {
    whichAll("python3").first { candidate in
        (try? runProcess(candidate, ["-c", "import h11, requests"], timeoutSeconds: 30).status) == 0
    }
}

final class DataBox: Sendable {
    let data = Mutex(Data())
}

/// Starts a server, runs `body`, and always shuts the server down.
func withServer<T: Sendable>(_ adjust: (inout HTTPServerConfiguration) -> Void = { _ in }, logger: Logger? = nil,
                             responder: any HTTPResponder = TestResponder(),
                             _ body: @escaping @Sendable (TestServer) throws -> T) async throws -> T {
    let server = try TestServer(adjust, logger: logger, responder: responder)
    do {
        let result = try await onThread { try body(server) }
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}

/// Counts calls, then answers like `TestResponder`.
final class CountingResponder: HTTPResponder {
    let calls = Atomic<Int>(0)
    func respond(to request: Request) async -> Response {
        calls.add(1, ordering: .relaxed)
        return await TestResponder().respond(to: request)
    }
}
