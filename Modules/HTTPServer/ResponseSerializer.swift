public import Kernel
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The `Date` header value, formatted once per second and shared by every thread, because an
/// IMF-fixdate formatter per response would dominate the cost of a small response.
final class DateHeaderCache: Sendable {
    static let shared = DateHeaderCache()

    private struct Entry {
        var second: Int = -1
        var line: [UInt8] = []
    }

    private let entry = Mutex(Entry())

    /// "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n" as bytes.
    func dateLine() -> [UInt8] {
        let now = time(nil)
        return entry.withLock { entry in
            if entry.second != now {
                entry.second = now
                entry.line = Array("Date: ".utf8) + Self.imfFixdate(now) + [ASCII.cr, ASCII.lf]
            }
            return entry.line
        }
    }

    static func imfFixdate(_ seconds: Int) -> [UInt8] {
        var timeValue = time_t(seconds)
        var parts = tm()
        gmtime_r(&timeValue, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let text = "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) "
            + "\(parts.tm_year + 1900) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
        return Array(text.utf8)
    }
}

/// Turns a `Response` into wire bytes with the framing headers the server owns.
enum ResponseSerializer {
    /// "HTTP/1.1 200 OK\r\n" for every status 100...599, built once.
    private static let statusLines: [[UInt8]] = (0..<600).map { status in
        Array("HTTP/1.1 \(status) \(HTTPStatusText.reason(status))\r\n".utf8)
    }

    /// What the connection needs to know about how the response is sent.
    struct Framing {
        var isHeadRequest: Bool
        var keepAlive: Bool
        var http10KeepAlive: Bool
        var requestId: String
        /// An HTTP/1.0 request: a streamed body cannot be chunked and is delimited by closing the connection.
        var isHTTP10: Bool = false
    }

    /// How a streamed body (`Response.bodyProducer`) is delimited on the wire (RFC 9112 §6.3).
    enum StreamDelimiting: Sendable, Equatable {
        /// HTTP/1.1: chunked transfer coding (§7.1); the last chunk marks the end.
        case chunked
        /// HTTP/1.0: the body ends when the connection closes (a failure is then a reset, never a clean close).
        case connectionClose
    }

    struct Output {
        var bytes: [UInt8]
        var closeAfter: Bool
        /// Set when `bytes` is only the head and the body is to be pulled from the response's producer.
        var streaming: StreamDelimiting? = nil
    }

    static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)

    /// Appends one piece of a streamed body as it goes on the wire: a chunk (size in hex, CRLF, data, CRLF) or,
    /// for a close-delimited body, the bytes as they are. An empty piece adds nothing (a zero-size chunk would end the body).
    static func appendStreamPiece(_ piece: [UInt8], _ delimiting: StreamDelimiting, to output: inout [UInt8]) {
        guard !piece.isEmpty else { return }
        guard delimiting == .chunked else {
            output.append(contentsOf: piece)
            return
        }
        output.append(contentsOf: String(piece.count, radix: 16).utf8)
        output.append(ASCII.cr)
        output.append(ASCII.lf)
        output.append(contentsOf: piece)
        output.append(ASCII.cr)
        output.append(ASCII.lf)
    }

    static func serialize(_ response: Response, framing: Framing) -> Output {
        var status = response.status
        if status < 200 || status > 599 { status = 500 }  // a 101 is written only by the WebSocket upgrade path
        var keepAlive = framing.keepAlive
        let bodyAllowed = !(status == 204 || status == 304)
        // A streamed body is pulled only when there is one to send (not for HEAD, 204 or 304).
        let streamed = bodyAllowed && response.bodyProducer != nil
        let streaming: StreamDelimiting? = streamed && !framing.isHeadRequest
            ? (framing.isHTTP10 ? .connectionClose : .chunked) : nil
        let body = bodyAllowed && !streamed ? response.body : []
        var output: [UInt8] = []
        output.reserveCapacity(160 + response.headers.count * 40 + (framing.isHeadRequest ? 0 : body.count))
        output.append(contentsOf: statusLines[status])
        for field in response.headers {
            switch field.name.utf8.count {
            case 4 where HTTPHeaders.namesEqual(field.name, "date"): continue
            case 10 where HTTPHeaders.namesEqual(field.name, "connection"):
                if containsToken(field.value, "close") { keepAlive = false }
                continue
            case 12 where HTTPHeaders.namesEqual(field.name, "x-request-id"): continue
            case 14 where HTTPHeaders.namesEqual(field.name, "content-length"): continue
            case 17 where HTTPHeaders.namesEqual(field.name, "transfer-encoding"): continue
            default: break
            }
            guard isSafeHeader(name: field.name, value: field.value) else { continue }
            output.append(contentsOf: field.name.utf8)
            output.append(ASCII.colon)
            output.append(ASCII.space)
            output.append(contentsOf: field.value.utf8)
            output.append(ASCII.cr)
            output.append(ASCII.lf)
        }
        switch streaming {
        case .chunked?: output.append(contentsOf: transferEncodingChunked)
        case .connectionClose?: keepAlive = false
        case nil:
            // A HEAD of a streamed body sends neither length nor coding: the length is not known.
            if bodyAllowed && !streamed { appendContentLength(body.count, to: &output) }
        }
        output.append(contentsOf: DateHeaderCache.shared.dateLine())
        output.append(contentsOf: requestIdPrefix)
        output.append(contentsOf: framing.requestId.utf8)
        output.append(ASCII.cr)
        output.append(ASCII.lf)
        if !keepAlive {
            output.append(contentsOf: connectionClose)
        } else if framing.http10KeepAlive {
            output.append(contentsOf: connectionKeepAlive)
        }
        output.append(ASCII.cr)
        output.append(ASCII.lf)
        if !framing.isHeadRequest { output.append(contentsOf: body) }
        return Output(bytes: output, closeAfter: !keepAlive, streaming: streaming)
    }

    /// A server-generated error: small JSON body, always `Connection: close`.
    static func serializeError(_ error: HTTPServerError, requestId: String, isHeadRequest: Bool = false) -> Output {
        let body = JSONValue.object(["error": .string(error.code), "message": .string(error.message)]).serialized()
        let response = Response(status: error.status, headers: ["Content-Type": "application/json"], body: body)
        return serialize(response, framing: Framing(isHeadRequest: isHeadRequest, keepAlive: false,
                                                    http10KeepAlive: false, requestId: requestId))
    }

    /// 400 for a WebSocket handshake the route accepted but this connection cannot switch: an HTTP/1.0 request
    /// (RFC 6455 §4.1: "the method of the request MUST be GET, and the HTTP version MUST be at least 1.1"). The
    /// body is the Commerce shape (`error`, `message`, `requestId`): WebSocket routes live on `/v1`.
    static func serializeUpgradeRefused(framing: Framing) -> Output {
        let body = JSONValue.object([
            "error": "INVALID_REQUEST", "requestId": .string(framing.requestId),
            "message": "A WebSocket handshake needs HTTP/1.1 with Upgrade: websocket, Connection: Upgrade and a Sec-WebSocket-Key",
        ]).serialized()
        return serialize(Response(status: 400, headers: ["Content-Type": "application/json"], body: body), framing: framing)
    }

    /// For responses serialized before a shutdown began: tell the client the connection ends.
    /// Interim (1xx) responses and heads that already say close are left alone.
    static func addingConnectionClose(to bytes: [UInt8]) -> [UInt8] {
        guard bytes.count > 12, bytes[9] != UInt8(ascii: "1") else { return bytes }
        return bytes.withUnsafeBytes { raw -> [UInt8] in
            var index = 0
            while index + 3 < raw.count {
                guard let cr = ByteScan.index(of: ASCII.cr, in: raw, from: index) else { return bytes }
                if cr + 3 < raw.count, raw[cr + 1] == ASCII.lf, raw[cr + 2] == ASCII.cr, raw[cr + 3] == ASCII.lf {
                    let head = UnsafeRawBufferPointer(rebasing: raw[0..<(cr + 2)])
                    if ByteScan.contains(connectionClose, in: head) { return bytes }
                    var result = Array(head)
                    result.reserveCapacity(bytes.count + connectionClose.count)
                    result.append(contentsOf: connectionClose)
                    result.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[(cr + 2)...]))
                    return result
                }
                index = cr + 1
            }
            return bytes
        }
    }

    static let continueBytes: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
    private static let requestIdPrefix: [UInt8] = Array("X-Request-Id: ".utf8)
    private static let connectionClose: [UInt8] = Array("Connection: close\r\n".utf8)
    private static let connectionKeepAlive: [UInt8] = Array("Connection: keep-alive\r\n".utf8)
    private static let contentLengthPrefix: [UInt8] = Array("Content-Length: ".utf8)
    private static let transferEncodingChunked: [UInt8] = Array("Transfer-Encoding: chunked\r\n".utf8)

    private static func appendContentLength(_ length: Int, to output: inout [UInt8]) {
        output.append(contentsOf: contentLengthPrefix)
        appendDecimal(length, to: &output)
        output.append(ASCII.cr)
        output.append(ASCII.lf)
    }

    static func appendDecimal(_ value: Int, to output: inout [UInt8]) {
        if value < 10 {
            output.append(UInt8(0x30 + value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var remaining = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            while remaining > 0 {
                buffer[count] = UInt8(0x30 + remaining % 10)
                remaining /= 10
                count += 1
            }
            for index in stride(from: count - 1, through: 0, by: -1) { output.append(buffer[index]) }
        }
    }

    /// Header names must be tokens and values free of CR, LF and NUL, or a handler could split
    /// the response; unsafe fields are dropped rather than sent.
    static func isSafeHeader(name: String, value: String) -> Bool {
        guard !name.isEmpty else { return false }
        for byte in name.utf8 where !ASCII.isTokenChar(byte) { return false }
        for byte in value.utf8 where !ASCII.isFieldValueChar(byte) { return false }
        return true
    }

    private static func containsToken(_ value: String, _ token: String) -> Bool {
        for part in value.split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: " \t")
            if HTTPHeaders.namesEqual(String(trimmed), token) { return true }
        }
        return false
    }
}

private extension Substring {
    func trimmingCharacters(in characters: String) -> Substring {
        var result = self
        while let first = result.first, characters.contains(first) { result = result.dropFirst() }
        while let last = result.last, characters.contains(last) { result = result.dropLast() }
        return result
    }
}

/// `X-Request-Id` handling: echo a sane client id, otherwise issue a `req_` TypedID.
public enum RequestIdentity {
    public static let lengthMax = 128

    /// 1–128 characters of [A-Za-z0-9._:-].
    public static func isSane(_ value: String) -> Bool {
        let count = value.utf8.count
        guard count >= 1, count <= lengthMax else { return false }
        for byte in value.utf8 {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2E, 0x5F, 0x3A, 0x2D: continue
            default: return false
            }
        }
        return true
    }

    public static func resolve(_ headers: HTTPHeaders) -> String {
        if let candidate = headers.first("X-Request-Id"), isSane(candidate) { return candidate }
        return TypedID.generate(prefix: .request).rawValue
    }
}
