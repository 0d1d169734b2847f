import Kernel

/// Parses one HTTP/1.1 response from the bytes read so far: status line and headers (within a header
/// limit), then a body framed by Content-Length, chunked encoding, or the end of the connection. Bodies
/// are kept up to `bodyBytesMax`; past it the response is complete but cut, and the connection is not
/// reused. A value fed by the connection, so it is tested without sockets.
struct ResponseReader: Sendable {
    struct Head: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let keepAlive: Bool
    }

    enum Framing: Sendable {
        case length(Int)
        case chunked
        case untilClose
    }

    let headerBytesMax: Int
    let bodyBytesMax: Int
    private var buffer: [UInt8] = []
    private(set) var head: Head?
    private var framing: Framing = .untilClose
    private var bodyStart = 0

    init(headerBytesMax: Int, bodyBytesMax: Int) {
        precondition(headerBytesMax > 0 && bodyBytesMax > 0, "limits must be positive")
        self.headerBytesMax = headerBytesMax
        self.bodyBytesMax = bodyBytesMax
    }

    /// True once any byte arrived (a failure before that on a reused connection may be retried).
    var receivedAny: Bool { !buffer.isEmpty || head != nil }

    /// Adds bytes; returns the response once complete, nil when more are needed.
    mutating func feed(_ bytes: some Collection<UInt8>) throws(OutboundHTTPError) -> (OutboundResponse, reusable: Bool)? {
        buffer.append(contentsOf: bytes)
        return try attempt(atEnd: false)
    }

    /// The connection ended: the response if its framing allows ending here.
    mutating func finish() throws(OutboundHTTPError) -> (OutboundResponse, reusable: Bool) {
        guard let result = try attempt(atEnd: true) else {
            throw .malformedResponse(head == nil ? "connection closed before a response" : "connection closed mid-body")
        }
        return result
    }

    private mutating func attempt(atEnd: Bool) throws(OutboundHTTPError) -> (OutboundResponse, reusable: Bool)? {
        while head == nil {
            guard let end = Self.find([13, 10, 13, 10], in: buffer, from: 0) else {
                if buffer.count > headerBytesMax { throw .malformedResponse("response headers exceed \(headerBytesMax) bytes") }
                return nil
            }
            guard end <= headerBytesMax else { throw .malformedResponse("response headers exceed \(headerBytesMax) bytes") }
            let parsed = try Self.parseHead(Array(buffer[0..<end]))
            if (100..<200).contains(parsed.head.status) {
                // Interim responses (100 Continue, 103 Early Hints) come before the real one.
                buffer.removeFirst(end + 4)
                continue
            }
            head = parsed.head
            framing = parsed.framing
            bodyStart = end + 4
        }
        guard let head else { return nil }
        let available = buffer.count - bodyStart
        switch framing {
        case .length(let length):
            if length > bodyBytesMax, available >= bodyBytesMax {
                return (response(head, Array(buffer[bodyStart..<bodyStart + bodyBytesMax]), truncated: true), false)
            }
            if available >= length {
                return (response(head, Array(buffer[bodyStart..<bodyStart + length]), truncated: false),
                        head.keepAlive && available == length)
            }
            if atEnd { throw .malformedResponse("connection closed mid-body") }
            return nil
        case .untilClose:
            if available >= bodyBytesMax {
                return (response(head, Array(buffer[bodyStart..<bodyStart + bodyBytesMax]), truncated: true), false)
            }
            if atEnd { return (response(head, Array(buffer[bodyStart...]), truncated: false), false) }
            return nil
        case .chunked:
            let decoded = try Self.decodeChunked(buffer[bodyStart...], bodyBytesMax: bodyBytesMax)
            if decoded.complete {
                return (response(head, decoded.body, truncated: false), head.keepAlive && decoded.consumed == available)
            }
            if decoded.body.count >= bodyBytesMax {
                return (response(head, Array(decoded.body.prefix(bodyBytesMax)), truncated: true), false)
            }
            if atEnd { throw .malformedResponse("connection closed mid-body") }
            return nil
        }
    }

    private func response(_ head: Head, _ body: [UInt8], truncated: Bool) -> OutboundResponse {
        OutboundResponse(status: head.status, headers: head.headers, body: body, bodyTruncated: truncated)
    }

    static func parseHead(_ bytes: [UInt8]) throws(OutboundHTTPError) -> (head: Head, framing: Framing) {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        guard !lines.isEmpty else { throw .malformedResponse("empty status line") }
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1]),
              (100...599).contains(status) else { throw .malformedResponse("bad status line") }
        let http11 = parts[0] == "HTTP/1.1"
        var headers = HTTPHeaders()
        for line in lines {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else { throw .malformedResponse("bad header line") }
            let name = String(line[..<colon])
            guard !name.contains(" "), !name.contains("\t") else { throw .malformedResponse("bad header name") }
            headers.add(name, line[line.index(after: colon)...].trimmedOWS)
        }
        let connection = headers.all("Connection").joined(separator: ",").lowercased()
        let keepAlive = http11 ? !connection.contains("close") : connection.contains("keep-alive")
        let framing: Framing
        if status == 204 || status == 304 {
            framing = .length(0)
        } else if let encoding = headers["Transfer-Encoding"] {
            guard encoding.lowercased().hasSuffix("chunked") else { throw .malformedResponse("unsupported transfer coding") }
            framing = .chunked
        } else if let lengths = Optional(headers.all("Content-Length")), !lengths.isEmpty {
            let distinct = Set(lengths.flatMap { $0.split(separator: ",").map { $0.trimmedOWS } })
            guard distinct.count == 1, let only = distinct.first, !only.isEmpty, only.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                  only.count <= 15, let length = Int(only) else { throw .malformedResponse("bad Content-Length") }
            framing = .length(length)
        } else {
            framing = .untilClose
        }
        return (Head(status: status, headers: headers, keepAlive: keepAlive), framing)
    }

    /// Decodes as much of a chunked body as is present (trailers skipped). `body` stops growing past the limit.
    static func decodeChunked(_ bytes: ArraySlice<UInt8>, bodyBytesMax: Int) throws(OutboundHTTPError)
        -> (body: [UInt8], complete: Bool, consumed: Int) {
        var body: [UInt8] = []
        var index = bytes.startIndex
        while true {
            guard let lineEnd = find([13, 10], in: bytes, from: index) else { return (body, false, index - bytes.startIndex) }
            guard lineEnd - index <= 1_024 else { throw .malformedResponse("chunk size line too long") }
            let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self)
                .split(separator: ";", maxSplits: 1).first.map { $0.trimmedOWS } ?? ""
            guard !sizeText.isEmpty, sizeText.count <= 15, let size = Int(sizeText, radix: 16), size >= 0 else {
                throw .malformedResponse("bad chunk size")
            }
            let dataStart = lineEnd + 2
            if size == 0 {
                // Trailers end with an empty line.
                var cursor = dataStart
                while true {
                    guard let end = find([13, 10], in: bytes, from: cursor) else { return (body, false, index - bytes.startIndex) }
                    if end == cursor { return (body, true, end + 2 - bytes.startIndex) }
                    guard end - cursor <= 8_192 else { throw .malformedResponse("trailer too long") }
                    cursor = end + 2
                }
            }
            let available = bytes.endIndex - dataStart
            if available < size + 2 {
                if body.count < bodyBytesMax {
                    body.append(contentsOf: bytes[dataStart..<dataStart + min(available, bodyBytesMax - body.count)])
                }
                return (body, false, index - bytes.startIndex)
            }
            guard bytes[dataStart + size] == 13, bytes[dataStart + size + 1] == 10 else {
                throw .malformedResponse("chunk not followed by CRLF")
            }
            if body.count < bodyBytesMax {
                body.append(contentsOf: bytes[dataStart..<dataStart + min(size, bodyBytesMax - body.count)])
            }
            index = dataStart + size + 2
        }
    }

    static func find<C: RandomAccessCollection>(_ needle: [UInt8], in haystack: C, from start: C.Index) -> C.Index?
        where C.Element == UInt8, C.Index == Int {
        guard haystack.count >= needle.count else { return nil }
        var index = start
        let last = haystack.endIndex - needle.count
        while index <= last {
            var matched = true
            for offset in 0..<needle.count where haystack[index + offset] != needle[offset] {
                matched = false
                break
            }
            if matched { return index }
            index += 1
        }
        return nil
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    var trimmedOWS: String {
        let isOWS: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isOWS($0) }), let last = lastIndex(where: { !isOWS($0) }) else { return "" }
        return String(self[first...last])
    }
}
