import Foundation
public import Kernel

#if canImport(Glibc)
import Glibc
#endif

// A blocking raw-socket HTTP/1.1 client for tests that talk to a real server over TCP.

/// Runs blocking client code on its own thread: the server's handlers run on the cooperative
/// pool (two threads on a 2-core machine), which blocking test code must never occupy.
public func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
        thread.start()
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public struct RawResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// A blocking TCP client with a receive timeout, for speaking raw bytes to the server.
/// Used by one thread at a time; `@unchecked` only so tests may hand it to `onThread`.
public final class RawClient: @unchecked Sendable {
    public let fd: Int32
    private var buffer: [UInt8] = []

    public init(port: Int, receiveTimeoutSeconds: Int = 15) throws {
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

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Half-close: the server sees end of input but may still answer.
    public func shutdownWrite() { _ = Glibc.shutdown(fd, Int32(SHUT_WR)) }

    public func send(_ bytes: [UInt8]) throws {
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
    public func readResponse(isHead: Bool = false) throws -> RawResponse {
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

    /// Exactly `count` bytes (after any already buffered), or nil when the connection ends or the read times out.
    public func read(_ count: Int) -> [UInt8]? {
        while buffer.count < count {
            if !fill() { return nil }
        }
        defer { buffer.removeFirst(count) }
        return Array(buffer[0..<count])
    }

    /// True when the server closed the connection (EOF or reset) with no further bytes.
    public func readsEOF() -> Bool {
        if !buffer.isEmpty { return false }
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, 0)
        return count == 0 || (count < 0 && errno == ECONNRESET)
    }

    /// The bytes already received past the last read (for a test that goes on reading the socket itself).
    public func takeBuffered() -> [UInt8] {
        defer { buffer = [] }
        return buffer
    }

    /// Everything until the server closes the connection.
    public func readToEnd() -> [UInt8] {
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


extension RawClient {
    /// Sends one request with a Content-Length body and reads its response.
    public func request(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = [])
        throws -> RawResponse {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        try send(Array((head + "\r\n").utf8) + body)
        return try readResponse(isHead: method == "HEAD")
    }
}

extension RawResponse {
    public var bodyJSON: JSONValue? { try? JSONCoding.decoder().decode(JSONValue.self, from: Data(body)) }
}

extension RawClient {
    // Chunked response bodies (RFC 9112 §7.1) and close-delimited ones, for streamed-response tests.

    /// One CRLF-terminated line (without the CRLF), or nil when the connection ends first.
    public func readLine() -> String? {
        var line: [UInt8] = []
        while let byte = read(1) {
            if byte[0] == 10, line.last == 13 { return String(decoding: line.dropLast(), as: UTF8.self) }
            line.append(byte[0])
            if line.count > 4_096 { return nil }
        }
        return nil
    }

    /// The next chunk's size (extensions ignored), or nil when the connection ends or the line is not hex.
    public func readChunkSize() -> Int? {
        guard let line = readLine() else { return nil }
        return Int(line.split(separator: ";").first.map(String.init) ?? "", radix: 16)
    }

    /// A chunked body after its head: the chunks' sizes and bytes; nil when the connection ends before the
    /// last chunk (a cut body) or the framing is wrong.
    public func readChunkedBody() -> (chunkSizes: [Int], bytes: [UInt8])? {
        var sizes: [Int] = []
        var bytes: [UInt8] = []
        while true {
            guard let size = readChunkSize() else { return nil }
            if size == 0 { return readLine() == "" ? (sizes, bytes) : nil }
            guard let chunk = read(size + 2), chunk[size] == 13, chunk[size + 1] == 10 else { return nil }
            sizes.append(size)
            bytes += chunk[0..<size]
        }
    }

    /// Every byte until the server closes, and whether it ended with a reset rather than a clean close.
    public func readUntilClosed() -> (bytes: [UInt8], reset: Bool) {
        var bytes = takeBuffered()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                bytes += chunk[0..<count]
                continue
            }
            return (bytes, count < 0 && errno == ECONNRESET)
        }
    }
}
