import Foundation
import Kernel
import Synchronization
import Testing
@testable import HTTPServer

#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking client code on its own thread: the server's handlers run on the cooperative
/// pool (two threads on a 2-core machine), which blocking test code must never occupy.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
        thread.start()
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

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
struct RawResponse {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// A blocking TCP client with a receive timeout, for speaking raw bytes to the server.
/// Used by one thread at a time; `@unchecked` only so tests may hand it to `onThread`.
final class RawClient: @unchecked Sendable {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int, receiveTimeoutSeconds: Int = 15) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw TestFailure("connect failed: \(errno)")
        }
        var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Half-close: the server sees end of input but may still answer.
    func shutdownWrite() { _ = Glibc.shutdown(fd, Int32(SHUT_WR)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw TestFailure("send failed: \(errno)") }
            offset += count
        }
    }

    /// Reads more bytes; false on EOF, reset or timeout.
    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return false }
        buffer.append(contentsOf: chunk[0..<count])
        return true
    }

    /// Reads one response (Content-Length framed, or none for HEAD / 1xx / 204 / 304).
    func readResponse(isHead: Bool = false) throws -> RawResponse {
        var headEnd: Int?
        while headEnd == nil {
            headEnd = findHeadEnd()
            if headEnd == nil && !fill() { throw TestFailure("connection ended before a response head (\(buffer.count) bytes)") }
        }
        let head = String(decoding: buffer[0..<headEnd!], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw TestFailure("bad status line: \(head)") }
        let headers = lines.map { line -> (String, String) in
            let colon = line.firstIndex(of: ":")!
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        buffer.removeFirst(headEnd! + 4)
        var response = RawResponse(status: status, headers: headers, body: [])
        let length = isHead || status < 200 || status == 204 || status == 304 ? 0 : Int(response.header("Content-Length") ?? "0") ?? 0
        while buffer.count < length {
            if !fill() { throw TestFailure("connection ended inside a body") }
        }
        response.body = Array(buffer[0..<length])
        buffer.removeFirst(length)
        return response
    }

    /// True when the server closed the connection (EOF or reset) with no further bytes.
    func readsEOF() -> Bool {
        if !buffer.isEmpty { return false }
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, 0)
        return count == 0 || (count < 0 && errno == ECONNRESET)
    }

    /// Everything until the server closes the connection.
    func readToEnd() -> [UInt8] {
        while fill() {}
        defer { buffer = [] }
        return buffer
    }

    private func findHeadEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for index in 0...(buffer.count - 4)
            where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
            return index
        }
        return nil
    }
}

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
