public import Kernel

#if canImport(Glibc)
import Glibc
#endif

/// An error the server answers by itself (never reaching the responder). `code` and `message`
/// go into the JSON body `{"error":code,"message":message}`; the connection is then closed,
/// because after a framing error the rest of the byte stream cannot be trusted (RFC 9112 §11.2).
public struct HTTPServerError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: Int
    public let code: String
    public let message: String

    public init(status: Int, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status) \(code): \(message)" }

    public static func badRequest(_ message: String) -> HTTPServerError {
        HTTPServerError(status: 400, code: "BAD_REQUEST", message: message)
    }
    public static let requestTimeout = HTTPServerError(status: 408, code: "REQUEST_TIMEOUT",
                                                       message: "The request was not received in time")
    public static func payloadTooLarge(limitBytes: Int) -> HTTPServerError {
        HTTPServerError(status: 413, code: "PAYLOAD_TOO_LARGE", message: "Request body exceeds \(limitBytes) bytes")
    }
    public static let uriTooLong = HTTPServerError(status: 414, code: "URI_TOO_LONG",
                                                   message: "Request target is too long")
    public static let expectationFailed = HTTPServerError(status: 417, code: "EXPECTATION_FAILED",
                                                          message: "Only 'Expect: 100-continue' is supported")
    public static func headersTooLarge(_ message: String) -> HTTPServerError {
        HTTPServerError(status: 431, code: "HEADERS_TOO_LARGE", message: message)
    }
    public static let versionNotSupported = HTTPServerError(status: 505, code: "HTTP_VERSION_NOT_SUPPORTED",
                                                            message: "Only HTTP/1.0 and HTTP/1.1 are supported")
    public static let overloaded = HTTPServerError(status: 503, code: "SERVICE_UNAVAILABLE",
                                                   message: "Too many connections")
}

public enum HTTPVersion: Sendable, Equatable {
    case http10
    case http11
}

/// How the length of a request body is determined (RFC 9112 §6.3).
public enum BodyFraming: Sendable, Equatable {
    case none
    case contentLength(Int)
    case chunked
}

/// A parsed request head with the framing decisions already made.
public struct RequestHead: Sendable {
    public var method: HTTPMethod
    /// The target in origin-form (absolute-form is reduced to path and query).
    public var target: String
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var framing: BodyFraming
    /// False after `Connection: close`, or for HTTP/1.0 without `Connection: keep-alive`.
    public var keepAlive: Bool
    /// True when the client waits for `100 Continue` before sending its body.
    public var expectsContinue: Bool
    /// True when the request carries `Upgrade` and `Connection: upgrade`: on HTTP/1.1, a 101 with a
    /// `WebSocketUpgrade` from the responder switches the connection to WebSocket.
    public var wantsUpgrade: Bool

    /// Safe methods may run concurrently when pipelined (RFC 9112 §9.3.2).
    public var isSafe: Bool {
        switch method.rawValue {
        case "GET", "HEAD", "OPTIONS", "TRACE": return true
        default: return false
        }
    }
}

/// Size limits the parser enforces, taken from `HTTPServerConfiguration`.
public struct ParserLimits: Sendable {
    public var requestLineBytesMax: Int
    public var headerSectionBytesMax: Int
    public var headerCountMax: Int
    public var bodyBytesMax: Int
    public var chunkLineBytesMax: Int

    public init(requestLineBytesMax: Int = 8192, headerSectionBytesMax: Int = 16384, headerCountMax: Int = 100,
                bodyBytesMax: Int = 1 << 20, chunkLineBytesMax: Int = 4096) {
        self.requestLineBytesMax = requestLineBytesMax
        self.headerSectionBytesMax = headerSectionBytesMax
        self.headerCountMax = headerCountMax
        self.bodyBytesMax = bodyBytesMax
        self.chunkLineBytesMax = chunkLineBytesMax
    }

    public init(_ configuration: HTTPServerConfiguration) {
        self.init(requestLineBytesMax: configuration.requestLineBytesMax,
                  headerSectionBytesMax: configuration.headerSectionBytesMax,
                  headerCountMax: configuration.headerCountMax, bodyBytesMax: configuration.bodyBytesMax,
                  chunkLineBytesMax: configuration.chunkLineBytesMax)
    }
}

public enum ParseEvent: Sendable {
    /// Not enough bytes yet.
    case needMore
    /// The head is complete and a body follows; the server may now send `100 Continue`.
    case headComplete(RequestHead)
    /// A complete request with its decoded body.
    case request(RequestHead, body: [UInt8])
    case failure(HTTPServerError)
}

/// An incremental HTTP/1.1 request parser (RFC 9112) over raw bytes. Strict where leniency
/// enables request smuggling: no bare LF or CR, no obs-fold, no whitespace before a colon, no
/// Content-Length together with Transfer-Encoding, only `chunked` as the transfer coding.
/// The caller owns the buffer and drops the bytes reported as consumed.
public struct HTTPRequestParser: Sendable {
    private enum State: Sendable {
        case head
        case body(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers(bytesSeen: Int)
        case failed
    }

    public let limits: ParserLimits
    private var state: State = .head
    /// Head phase: offset (after leading empty lines) of the first line not yet known complete.
    private var scanOffset = 0
    private var requestLineLength = -1
    private var currentHead: RequestHead?
    private var body: [UInt8] = []

    public init(limits: ParserLimits = ParserLimits()) { self.limits = limits }

    /// True while a head is expected (between requests or inside a partial head).
    public var isReadingHead: Bool { if case .head = state { return true } else { return false } }
    public var isReadingBody: Bool {
        switch state {
        case .head, .failed: return false
        default: return true
        }
    }

    /// Parses from the start of `bytes`; returns how many bytes were consumed and what happened.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer) -> (consumed: Int, event: ParseEvent) {
        switch state {
        case .head: return parseHead(bytes)
        case .failed: return (0, .failure(.badRequest("Connection is in a failed state")))
        default: return parseBody(bytes)
        }
    }

    private mutating func fail(_ error: HTTPServerError, consumed: Int = 0) -> (consumed: Int, event: ParseEvent) {
        state = .failed
        return (consumed, .failure(error))
    }

    // MARK: Head

    private mutating func parseHead(_ bytes: UnsafeRawBufferPointer) -> (consumed: Int, event: ParseEvent) {
        var start = 0
        if scanOffset == 0 {
            // RFC 9112 §2.2: ignore empty lines received before the request line.
            while start + 1 < bytes.count, bytes[start] == ASCII.cr, bytes[start + 1] == ASCII.lf { start += 2 }
            if start + 1 == bytes.count, bytes[start] == ASCII.cr { return (start, .needMore) }
        }
        var lineStart = start + scanOffset
        while lineStart < bytes.count {
            guard let lf = ByteScan.index(of: ASCII.lf, in: bytes, from: lineStart) else { break }
            if lf == lineStart || bytes[lf - 1] != ASCII.cr {
                return fail(.badRequest("Bare LF is not accepted as a line terminator"))
            }
            let lineLength = lf - 1 - lineStart
            if requestLineLength < 0 {
                if lineLength > limits.requestLineBytesMax {
                    return fail(Self.classifyLongRequestLine(bytes, start: start))
                }
                requestLineLength = lineLength
            } else if lineLength == 0 {
                let headEnd = lf + 1
                return finishHead(bytes, start: start, headEnd: headEnd)
            }
            lineStart = lf + 1
            scanOffset = lineStart - start
            if requestLineLength >= 0, lineStart - start - requestLineLength - 2 > limits.headerSectionBytesMax {
                return fail(.headersTooLarge("Header section exceeds \(limits.headerSectionBytesMax) bytes"))
            }
        }
        let pending = bytes.count - start
        if requestLineLength < 0, pending > limits.requestLineBytesMax + 1 {
            return fail(Self.classifyLongRequestLine(bytes, start: start))
        }
        if requestLineLength < 0, let error = Self.checkPartialRequestLine(bytes, start: start) {
            return fail(error)
        }
        if requestLineLength >= 0, pending - requestLineLength - 2 > limits.headerSectionBytesMax + 2 {
            return fail(.headersTooLarge("Header section exceeds \(limits.headerSectionBytesMax) bytes"))
        }
        return (start, .needMore)
    }

    /// Rejects a request line that cannot become valid before its end arrives, so garbage is
    /// answered at once instead of waiting for the header timeout.
    private static func checkPartialRequestLine(_ bytes: UnsafeRawBufferPointer, start: Int) -> HTTPServerError? {
        var index = start
        var field = 0  // 0 method, 1 target, 2 version
        while index < bytes.count {
            let byte = bytes[index]
            if byte == ASCII.space {
                guard field < 2, index > start else { return .badRequest("Malformed request line") }
                field += 1
            } else if byte == ASCII.cr {
                guard field == 2, index + 1 == bytes.count else { return .badRequest("Malformed request line") }
            } else {
                switch field {
                case 0: if !ASCII.isTokenChar(byte) { return .badRequest("Invalid method") }
                case 1: if !(byte > 0x20 && byte < 0x7F) { return .badRequest("Invalid character in request target") }
                default: if !(byte > 0x20 && byte < 0x7F) { return .badRequest("Malformed HTTP version") }
                }
            }
            index += 1
        }
        return nil
    }

    /// A long request line is 414 when the method was short and the target is what overflowed.
    private static func classifyLongRequestLine(_ bytes: UnsafeRawBufferPointer, start: Int) -> HTTPServerError {
        let end = min(bytes.count, start + 33)
        var index = start
        while index < end {
            if bytes[index] == ASCII.space { return index > start ? .uriTooLong : .badRequest("Malformed request line") }
            guard ASCII.isTokenChar(bytes[index]) else { return .badRequest("Malformed request line") }
            index += 1
        }
        return .badRequest("Request line is too long")
    }

    private mutating func finishHead(_ bytes: UnsafeRawBufferPointer, start: Int, headEnd: Int)
        -> (consumed: Int, event: ParseEvent) {
        let result = Self.parseHeadLines(bytes, start: start, requestLineLength: requestLineLength, limits: limits)
        scanOffset = 0
        requestLineLength = -1
        switch result {
        case .failure(let error):
            return fail(error, consumed: headEnd)
        case .success(let head):
            switch head.framing {
            case .none:
                state = .head
                return (headEnd, .request(head, body: []))
            case .contentLength(let length):
                currentHead = head
                body = []
                body.reserveCapacity(length)
                state = .body(remaining: length)
            case .chunked:
                currentHead = head
                body = []
                state = .chunkSize
            }
            return (headEnd, .headComplete(head))
        }
    }

    private static func parseHeadLines(_ bytes: UnsafeRawBufferPointer, start: Int, requestLineLength: Int,
                                       limits: ParserLimits) -> Result<RequestHead, HTTPServerError> {
        let requestLine: RequestLine
        switch parseRequestLine(UnsafeRawBufferPointer(rebasing: bytes[start..<(start + requestLineLength)])) {
        case .failure(let error): return .failure(error)
        case .success(let line): requestLine = line
        }
        var fields = FieldScan()
        var lineStart = start + requestLineLength + 2
        while true {
            let lf = ByteScan.index(of: ASCII.lf, in: bytes, from: lineStart)!
            let lineEnd = lf - 1
            if lineEnd == lineStart { break }
            if let error = fields.add(UnsafeRawBufferPointer(rebasing: bytes[lineStart..<lineEnd]), limits: limits) {
                return .failure(error)
            }
            lineStart = lf + 1
        }
        return fields.makeHead(requestLine, limits: limits)
    }

    struct RequestLine {
        var method: HTTPMethod
        var target: String
        var version: HTTPVersion
    }

    static func parseRequestLine(_ line: UnsafeRawBufferPointer) -> Result<RequestLine, HTTPServerError> {
        guard let firstSpace = ByteScan.index(of: ASCII.space, in: line, from: 0), firstSpace > 0 else {
            return .failure(.badRequest("Malformed request line"))
        }
        for index in 0..<firstSpace where !ASCII.isTokenChar(line[index]) {
            return .failure(.badRequest("Invalid method"))
        }
        guard let secondSpace = ByteScan.index(of: ASCII.space, in: line, from: firstSpace + 1),
              secondSpace > firstSpace + 1 else {
            return .failure(.badRequest("Malformed request line"))
        }
        for index in (firstSpace + 1)..<secondSpace where !(line[index] > 0x20 && line[index] < 0x7F) {
            return .failure(.badRequest("Invalid character in request target"))
        }
        let versionBytes = UnsafeRawBufferPointer(rebasing: line[(secondSpace + 1)...])
        let version: HTTPVersion
        switch parseVersion(versionBytes) {
        case .failure(let error): return .failure(error)
        case .success(let parsed): version = parsed
        }
        let method = HTTPMethod(rawValue: String(decoding: UnsafeRawBufferPointer(rebasing: line[0..<firstSpace]),
                                                 as: UTF8.self))
        let rawTarget = UnsafeRawBufferPointer(rebasing: line[(firstSpace + 1)..<secondSpace])
        guard let target = normalizeTarget(rawTarget, method: method) else {
            return .failure(.badRequest("Unsupported request target form"))
        }
        return .success(RequestLine(method: method, target: target, version: version))
    }

    private static func parseVersion(_ bytes: UnsafeRawBufferPointer) -> Result<HTTPVersion, HTTPServerError> {
        let prefix: [UInt8] = [0x48, 0x54, 0x54, 0x50, 0x2F]  // "HTTP/"
        guard bytes.count == 8, bytes[5] >= 0x30, bytes[5] <= 0x39, bytes[6] == ASCII.dot,
              bytes[7] >= 0x30, bytes[7] <= 0x39 else {
            return .failure(.badRequest("Malformed HTTP version"))
        }
        for index in 0..<5 where bytes[index] != prefix[index] {
            return .failure(.badRequest("Malformed HTTP version"))
        }
        guard bytes[5] == 0x31 else { return .failure(.versionNotSupported) }
        return .success(bytes[7] == 0x30 ? .http10 : .http11)
    }

    /// Origin-form passes through; absolute-form (`http://host/path`) is reduced to origin-form;
    /// asterisk-form only with OPTIONS; authority-form (CONNECT) is not served.
    static func normalizeTarget(_ bytes: UnsafeRawBufferPointer, method: HTTPMethod) -> String? {
        if bytes[0] == ASCII.slash { return String(decoding: bytes, as: UTF8.self) }
        if bytes.count == 1, bytes[0] == ASCII.asterisk { return method == .options ? "*" : nil }
        let schemeLength: Int
        if ASCII.hasPrefixIgnoringCase(bytes, "http://") {
            schemeLength = 7
        } else if ASCII.hasPrefixIgnoringCase(bytes, "https://") {
            schemeLength = 8
        } else {
            return nil
        }
        var index = schemeLength
        while index < bytes.count, bytes[index] != ASCII.slash, bytes[index] != ASCII.question { index += 1 }
        guard index > schemeLength else { return nil }
        if index == bytes.count { return "/" }
        let rest = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[index...]), as: UTF8.self)
        return bytes[index] == ASCII.slash ? rest : "/" + rest
    }

    // MARK: Body

    private mutating func parseBody(_ bytes: UnsafeRawBufferPointer) -> (consumed: Int, event: ParseEvent) {
        var offset = 0
        while true {
            switch state {
            case .body(let remaining):
                let take = min(remaining, bytes.count - offset)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
                offset += take
                if take < remaining {
                    state = .body(remaining: remaining - take)
                    return (offset, .needMore)
                }
                return completeRequest(consumed: offset)
            case .chunkSize:
                switch parseChunkSizeLine(bytes, from: offset) {
                case .needMore: return (offset, .needMore)
                case .failure(let error): return fail(error, consumed: offset)
                case .size(let size, let lineEnd):
                    offset = lineEnd
                    state = size == 0 ? .trailers(bytesSeen: 0) : .chunkData(remaining: size)
                }
            case .chunkData(let remaining):
                let take = min(remaining, bytes.count - offset)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
                offset += take
                if take < remaining {
                    state = .chunkData(remaining: remaining - take)
                    return (offset, .needMore)
                }
                state = .chunkDataEnd
            case .chunkDataEnd:
                guard bytes.count - offset >= 2 else {
                    if bytes.count - offset == 1, bytes[offset] != ASCII.cr {
                        return fail(.badRequest("Chunk data is not followed by CRLF"), consumed: offset)
                    }
                    return (offset, .needMore)
                }
                guard bytes[offset] == ASCII.cr, bytes[offset + 1] == ASCII.lf else {
                    return fail(.badRequest("Chunk data is not followed by CRLF"), consumed: offset)
                }
                offset += 2
                state = .chunkSize
            case .trailers(let bytesSeen):
                guard let lf = ByteScan.index(of: ASCII.lf, in: bytes, from: offset) else {
                    if bytesSeen + bytes.count - offset > limits.headerSectionBytesMax {
                        return fail(.headersTooLarge("Trailer section is too large"), consumed: offset)
                    }
                    return (offset, .needMore)
                }
                guard lf > offset, bytes[lf - 1] == ASCII.cr else {
                    return fail(.badRequest("Bare LF is not accepted as a line terminator"), consumed: offset)
                }
                let lineLength = lf - 1 - offset
                offset = lf + 1
                if lineLength == 0 { return completeRequest(consumed: offset) }
                let seen = bytesSeen + lineLength + 2
                if seen > limits.headerSectionBytesMax {
                    return fail(.headersTooLarge("Trailer section is too large"), consumed: offset)
                }
                state = .trailers(bytesSeen: seen)
            case .head, .failed:
                return (offset, .needMore)
            }
        }
    }

    private mutating func completeRequest(consumed: Int) -> (consumed: Int, event: ParseEvent) {
        let head = currentHead!
        currentHead = nil
        let completed = body
        body = []
        state = .head
        return (consumed, .request(head, body: completed))
    }

    private enum ChunkLine {
        case needMore
        case failure(HTTPServerError)
        case size(Int, lineEnd: Int)
    }

    /// `chunk-size [ chunk-ext ] CRLF`: 1–15 hex digits; extensions are ignored but must not
    /// contain control characters.
    private func parseChunkSizeLine(_ bytes: UnsafeRawBufferPointer, from offset: Int) -> ChunkLine {
        guard let lf = ByteScan.index(of: ASCII.lf, in: bytes, from: offset) else {
            if bytes.count - offset > limits.chunkLineBytesMax { return .failure(.badRequest("Chunk size line is too long")) }
            for index in offset..<bytes.count where !ASCII.isChunkLineChar(bytes[index]) && bytes[index] != ASCII.cr {
                return .failure(.badRequest("Invalid chunk size"))
            }
            return .needMore
        }
        guard lf > offset, bytes[lf - 1] == ASCII.cr else {
            return .failure(.badRequest("Bare LF is not accepted as a line terminator"))
        }
        let lineEnd = lf - 1
        if lineEnd - offset > limits.chunkLineBytesMax { return .failure(.badRequest("Chunk size line is too long")) }
        var index = offset
        var size = 0
        while index < lineEnd, let digit = ASCII.hexValue(bytes[index]) {
            guard index - offset < 15 else { return .failure(.badRequest("Chunk size is too large")) }
            size = size << 4 | Int(digit)
            index += 1
        }
        guard index > offset else { return .failure(.badRequest("Invalid chunk size")) }
        while index < lineEnd, bytes[index] == ASCII.space || bytes[index] == ASCII.tab { index += 1 }
        if index < lineEnd {
            guard bytes[index] == ASCII.semicolon else { return .failure(.badRequest("Invalid chunk size")) }
            for position in index..<lineEnd where !ASCII.isChunkLineChar(bytes[position]) {
                return .failure(.badRequest("Invalid chunk extension"))
            }
        }
        if size > limits.bodyBytesMax - body.count { return .failure(.payloadTooLarge(limitBytes: limits.bodyBytesMax)) }
        return .size(size, lineEnd: lf + 1)
    }
}

/// Collects header fields and the framing-relevant ones while the head is parsed.
private struct FieldScan {
    var headers = HTTPHeaders()
    var contentLength: Int?
    var transferEncodingSeen = false
    var transferEncodingIsChunked = true
    var transferEncodingElements = 0
    var connectionClose = false
    var connectionKeepAlive = false
    var connectionUpgrade = false
    var upgradeSeen = false
    var expectValue: String?
    var hostCount = 0

    mutating func add(_ line: UnsafeRawBufferPointer, limits: ParserLimits) -> HTTPServerError? {
        if line[0] == ASCII.space || line[0] == ASCII.tab {
            return .badRequest("Obsolete line folding is not accepted")
        }
        guard let colon = ByteScan.index(of: ASCII.colon, in: line, from: 0) else {
            return .badRequest("Header field without a colon")
        }
        guard colon > 0 else { return .badRequest("Empty header name") }
        for index in 0..<colon where !ASCII.isTokenChar(line[index]) {
            return .badRequest("Invalid character in header name")
        }
        var valueStart = colon + 1
        var valueEnd = line.count
        while valueStart < valueEnd, line[valueStart] == ASCII.space || line[valueStart] == ASCII.tab { valueStart += 1 }
        while valueEnd > valueStart, line[valueEnd - 1] == ASCII.space || line[valueEnd - 1] == ASCII.tab { valueEnd -= 1 }
        for index in valueStart..<valueEnd where !ASCII.isFieldValueChar(line[index]) {
            return .badRequest(line[index] == ASCII.cr ? "Bare CR in header value" : "Invalid character in header value")
        }
        guard headers.count < limits.headerCountMax else {
            return .headersTooLarge("More than \(limits.headerCountMax) header fields")
        }
        let name = UnsafeRawBufferPointer(rebasing: line[0..<colon])
        let value = UnsafeRawBufferPointer(rebasing: line[valueStart..<valueEnd])
        if let error = inspect(name: name, value: value) { return error }
        headers.add(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
        return nil
    }

    /// Looks at the few fields that decide framing and connection handling.
    private mutating func inspect(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> HTTPServerError? {
        switch name.count {
        case 4 where ASCII.equalsIgnoringCase(name, "host"):
            hostCount += 1
        case 6 where ASCII.equalsIgnoringCase(name, "expect"):
            expectValue = String(decoding: value, as: UTF8.self)
        case 7 where ASCII.equalsIgnoringCase(name, "upgrade"):
            upgradeSeen = true
        case 10 where ASCII.equalsIgnoringCase(name, "connection"):
            ASCII.forEachListElement(value) { token in
                if ASCII.equalsIgnoringCase(token, "close") { connectionClose = true }
                else if ASCII.equalsIgnoringCase(token, "keep-alive") { connectionKeepAlive = true }
                else if ASCII.equalsIgnoringCase(token, "upgrade") { connectionUpgrade = true }
            }
        case 14 where ASCII.equalsIgnoringCase(name, "content-length"):
            return addContentLength(value)
        case 17 where ASCII.equalsIgnoringCase(name, "transfer-encoding"):
            transferEncodingSeen = true
            ASCII.forEachListElement(value) { token in
                transferEncodingElements += 1
                if !ASCII.equalsIgnoringCase(token, "chunked") { transferEncodingIsChunked = false }
            }
        default:
            break
        }
        return nil
    }

    /// RFC 9110 §8.6: a list of identical values is one value; differing values are an error.
    private mutating func addContentLength(_ value: UnsafeRawBufferPointer) -> HTTPServerError? {
        var error: HTTPServerError?
        var sawElement = false
        ASCII.forEachListElement(value, keepEmpty: true) { element in
            sawElement = true
            guard error == nil else { return }
            guard let parsed = ASCII.parseDecimal(element) else {
                error = .badRequest("Invalid Content-Length")
                return
            }
            if let existing = contentLength, existing != parsed {
                error = .badRequest("Conflicting Content-Length values")
            }
            contentLength = parsed
        }
        if !sawElement { return .badRequest("Invalid Content-Length") }
        return error
    }

    func makeHead(_ line: HTTPRequestParser.RequestLine, limits: ParserLimits) -> Result<RequestHead, HTTPServerError> {
        if transferEncodingSeen {
            if contentLength != nil { return .failure(.badRequest("Both Content-Length and Transfer-Encoding")) }
            if line.version == .http10 { return .failure(.badRequest("Transfer-Encoding in an HTTP/1.0 request")) }
            // Any coding other than one single `chunked` (including `chunked` twice) is rejected.
            if !transferEncodingIsChunked || transferEncodingElements != 1 { return .failure(.badRequest("Transfer-Encoding must be exactly chunked")) }
        }
        if line.version == .http11 && hostCount != 1 || hostCount > 1 {
            return .failure(.badRequest(hostCount == 0 ? "Missing Host header" : "Duplicate Host header"))
        }
        let framing: BodyFraming
        if transferEncodingSeen {
            framing = .chunked
        } else if let contentLength, contentLength > 0 {
            guard contentLength <= limits.bodyBytesMax else {
                return .failure(.payloadTooLarge(limitBytes: limits.bodyBytesMax))
            }
            framing = .contentLength(contentLength)
        } else {
            framing = .none
        }
        var expectsContinue = false
        if let expectValue, line.version == .http11 {
            guard expectValue.utf8.count == 12, HTTPHeaders.namesEqual(expectValue, "100-continue") else {
                return .failure(.expectationFailed)
            }
            expectsContinue = framing != .none
        }
        let keepAlive = !connectionClose && (line.version == .http11 || connectionKeepAlive)
        return .success(RequestHead(method: line.method, target: line.target, version: line.version, headers: headers,
                                    framing: framing, keepAlive: keepAlive, expectsContinue: expectsContinue,
                                    wantsUpgrade: upgradeSeen && connectionUpgrade))
    }
}

/// Byte classes and helpers from RFC 9110 §5.6.
enum ASCII {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let slash: UInt8 = 0x2F
    static let question: UInt8 = 0x3F
    static let asterisk: UInt8 = 0x2A
    static let dot: UInt8 = 0x2E
    static let comma: UInt8 = 0x2C

    /// tchar: "!#$%&'*+-.^_`|~" / DIGIT / ALPHA.
    private static let tokenTable: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for byte in UInt8(ascii: "0")...UInt8(ascii: "9") { table[Int(byte)] = true }
        for byte in UInt8(ascii: "a")...UInt8(ascii: "z") { table[Int(byte)] = true }
        for byte in UInt8(ascii: "A")...UInt8(ascii: "Z") { table[Int(byte)] = true }
        for byte in "!#$%&'*+-.^_`|~".utf8 { table[Int(byte)] = true }
        return table
    }()

    @inline(__always) static func isTokenChar(_ byte: UInt8) -> Bool { tokenTable[Int(byte)] }

    /// field-vchar / SP / HTAB (obs-text allowed); rejects NUL, CR, LF, other controls and DEL.
    @inline(__always) static func isFieldValueChar(_ byte: UInt8) -> Bool {
        byte == tab || (byte >= 0x20 && byte != 0x7F)
    }

    /// Characters allowed on a chunk-size line (digits, extensions, whitespace).
    @inline(__always) static func isChunkLineChar(_ byte: UInt8) -> Bool {
        byte == tab || (byte >= 0x20 && byte < 0x7F)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x37
        case 0x61...0x66: return byte - 0x57
        default: return nil
        }
    }

    @inline(__always) static func lower(_ byte: UInt8) -> UInt8 { (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte }

    /// `literal` must be lower-case ASCII.
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        let pointer = literal.utf8Start
        for index in 0..<bytes.count where lower(bytes[index]) != pointer[index] { return false }
        return true
    }

    static func hasPrefixIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        guard bytes.count >= literal.utf8CodeUnitCount else { return false }
        return equalsIgnoringCase(UnsafeRawBufferPointer(rebasing: bytes[0..<literal.utf8CodeUnitCount]), literal)
    }

    /// Splits a comma-separated list, trimming optional whitespace; empty elements are skipped
    /// unless `keepEmpty` (so "5, ,5" is rejected for Content-Length).
    static func forEachListElement(_ bytes: UnsafeRawBufferPointer, keepEmpty: Bool = false,
                                   _ body: (UnsafeRawBufferPointer) -> Void) {
        var start = 0
        while start <= bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != comma { end += 1 }
            var low = start
            var high = end
            while low < high, bytes[low] == space || bytes[low] == tab { low += 1 }
            while high > low, bytes[high - 1] == space || bytes[high - 1] == tab { high -= 1 }
            if high > low || keepEmpty { body(UnsafeRawBufferPointer(rebasing: bytes[low..<high])) }
            start = end + 1
        }
    }

    /// 1–18 decimal digits, nothing else.
    static func parseDecimal(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }
}

enum ByteScan {
    /// The index of the first `byte` at or after `from`, using memchr.
    @inline(__always)
    static func index(of byte: UInt8, in bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard from < bytes.count, let base = bytes.baseAddress else { return nil }
        guard let found = memchr(base + from, Int32(byte), bytes.count - from) else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }
}

extension ByteScan {
    /// True when `needle` occurs in `haystack` (short needles; used off the hot path).
    static func contains(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer) -> Bool {
        guard needle.count <= haystack.count, let first = needle.first else { return false }
        var index = 0
        while let found = self.index(of: first, in: haystack, from: index) {
            if found + needle.count > haystack.count { return false }
            if zip(needle.indices, found...).allSatisfy({ needle[$0] == haystack[$1] }) { return true }
            index = found + 1
        }
        return false
    }
}
