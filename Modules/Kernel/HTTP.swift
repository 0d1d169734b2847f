public import Foundation

/// An HTTP method token. Known methods are static members; any RFC 9110 token is representable.
public struct HTTPMethod: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let get = HTTPMethod(rawValue: "GET")
    public static let head = HTTPMethod(rawValue: "HEAD")
    public static let post = HTTPMethod(rawValue: "POST")
    public static let put = HTTPMethod(rawValue: "PUT")
    public static let patch = HTTPMethod(rawValue: "PATCH")
    public static let delete = HTTPMethod(rawValue: "DELETE")
    public static let options = HTTPMethod(rawValue: "OPTIONS")

    public var description: String { rawValue }
}

/// Header fields in arrival order. Names compare case-insensitively (RFC 9110 §5.1).
public struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var fields: [(name: String, value: String)] = []

    public init() {}
    public init(_ fields: [(String, String)]) { self.fields = fields.map { (name: $0.0, value: $0.1) } }
    public init(dictionaryLiteral elements: (String, String)...) { self.init(elements) }

    public var count: Int { fields.count }

    /// The first value for a name, or nil.
    public subscript(name: String) -> String? { first(name) }

    public func first(_ name: String) -> String? {
        for field in fields where HTTPHeaders.namesEqual(field.name, name) { return field.value }
        return nil
    }

    public func all(_ name: String) -> [String] {
        fields.filter { HTTPHeaders.namesEqual($0.name, name) }.map(\.value)
    }

    public func contains(_ name: String) -> Bool { first(name) != nil }

    public mutating func add(_ name: String, _ value: String) { fields.append((name: name, value: value)) }

    /// Replaces every field of that name with one value.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        add(name, value)
    }

    public mutating func remove(_ name: String) {
        fields.removeAll { HTTPHeaders.namesEqual($0.name, name) }
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }

    /// ASCII case-insensitive comparison without allocating lower-cased copies.
    public static func namesEqual(_ lhs: String, _ rhs: String) -> Bool {
        var left = lhs.utf8.makeIterator()
        var right = rhs.utf8.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return true
            case (let a?, let b?):
                if a == b { continue }
                let lowerA = (a >= 65 && a <= 90) ? a | 0x20 : a
                let lowerB = (b >= 65 && b <= 90) ? b | 0x20 : b
                if lowerA != lowerB { return false }
            default: return false
            }
        }
    }
}

/// A fully received request. The server collects the body (within its byte limit) before routing.
public struct Request: Sendable {
    public var method: HTTPMethod
    /// The request-target as received, e.g. "/v1/transaction/txn_1?expand=card".
    public var target: String
    /// The path part of the target, not percent-decoded.
    public var path: String
    /// The query part without "?", or nil.
    public var query: String?
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Set by the server: the echoed `X-Request-Id` when sane, else a new `req_` id.
    public var requestId: String
    /// The peer address as "ip:port", or "in-process" for the test client.
    public var remoteAddress: String
    /// Filled by the router from `:name` segments of the matched route.
    public var pathParameters: [String: String] = [:]

    public init(method: HTTPMethod, target: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
                requestId: String = "", remoteAddress: String = "in-process") {
        self.method = method
        self.target = target
        if let question = target.firstIndex(of: "?") {
            path = String(target[..<question])
            query = String(target[target.index(after: question)...])
        } else {
            path = target
            query = nil
        }
        self.headers = headers
        self.body = body
        self.requestId = requestId.isEmpty ? TypedID.generate(prefix: .request).rawValue : requestId
        self.remoteAddress = remoteAddress
    }

    /// Query parameters, percent-decoded, `+` as space; the last value wins for repeated names.
    public var queryParameters: [String: String] {
        guard let query, !query.isEmpty else { return [:] }
        var result: [String: String] = [:]
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = FormDecoding.decodeComponent(String(parts[0]))
            let value = parts.count > 1 ? FormDecoding.decodeComponent(String(parts[1])) : ""
            if let name, let value { result[name] = value }
        }
        return result
    }

    public func pathParameter(_ name: String) -> String? { pathParameters[name] }

    /// The same request without any `name=` query parameter (so a credential in `?apiKey=` does not travel on).
    public func removingQueryParameter(_ name: String) -> Request {
        guard let query else { return self }
        let kept = query.split(separator: "&", omittingEmptySubsequences: true).filter { pair in
            let rawName = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
            return FormDecoding.decodeComponent(String(rawName)) != name
        }
        var copy = self
        copy.query = kept.isEmpty ? nil : kept.joined(separator: "&")
        copy.target = copy.query.map { path + "?" + $0 } ?? path
        return copy
    }
}

/// `application/x-www-form-urlencoded` decoding (used for query strings and OAuth token bodies).
public enum FormDecoding {
    /// Decodes one component; nil when a percent escape is malformed or the bytes are not UTF-8.
    public static func decodeComponent(_ text: String) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            default: bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    public static func decodeForm(_ body: [UInt8]) -> [String: String]? {
        guard let text = String(validating: body, as: UTF8.self) else { return nil }
        var result: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decodeComponent(String(parts[0])),
                  let value = parts.count > 1 ? decodeComponent(String(parts[1])) : "" else { return nil }
            result[name] = value
        }
        return result
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: return byte - 48
        case 65...70: return byte - 55
        case 97...102: return byte - 87
        default: return nil
        }
    }
}

/// A response. The server adds Date, Content-Length (or Transfer-Encoding), Connection and X-Request-Id.
public struct Response: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Set only on a 101 from a WebSocket route: the session the server runs once it has switched protocols.
    public var webSocket: WebSocketUpgrade?
    /// A body produced while it is sent (`Response.streamed`); `body` is then ignored by the server.
    public var bodyProducer: (any ResponseBodyProducer)?

    public init(status: Int = 200, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
                webSocket: WebSocketUpgrade? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.webSocket = webSocket
    }

    /// A body of unknown length, pulled from `producer` while it is sent: chunked on HTTP/1.1, delimited by
    /// closing the connection on HTTP/1.0, never pulled for HEAD, 204 or 304 (docs/http-server.md).
    public static func streamed(status: Int = 200, headers: HTTPHeaders = HTTPHeaders(),
                                producer: any ResponseBodyProducer) -> Response {
        var response = Response(status: status, headers: headers)
        response.bodyProducer = producer
        return response
    }

    /// The same response with a streamed body read to its end into `body` (the in-process test client; never
    /// the server, which sends the pieces as they come).
    public func collectingBody() async throws -> Response {
        guard let producer = bodyProducer else { return self }
        var collected = self
        collected.bodyProducer = nil
        while let piece = try await producer.nextBodyPiece() { collected.body += piece }
        return collected
    }

    public static func json(_ value: JSONValue, status: Int = 200) -> Response {
        Response(status: status, headers: ["Content-Type": "application/json"], body: value.serialized())
    }

    /// Encodes any Encodable with the shared encoder (ISO 8601 dates, sorted keys).
    public static func json<T: Encodable>(encoding value: T, status: Int = 200) throws -> Response {
        let data = try JSONCoding.encoder().encode(value)
        return Response(status: status, headers: ["Content-Type": "application/json"], body: Array(data))
    }

    public static func text(_ text: String, status: Int = 200, contentType: String = "text/plain; charset=utf-8")
        -> Response {
        Response(status: status, headers: ["Content-Type": contentType], body: Array(text.utf8))
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// Parses the body as JSON (for tests and clients).
    public var bodyJSON: JSONValue? { try? JSONValue(parsing: body) }
}

/// A response body written while it is sent, so a body of any size costs constant memory. The server pulls
/// it: it asks for the next piece only once the previous one is on its way and the connection's unsent bytes
/// are within its write buffer, so a slow reader slows the producer down instead of filling memory.
///
/// WHY pull rather than push: the producer keeps its own position (a keyset cursor) and holds no resource
/// between calls; when the connection ends the server just stops asking, and nothing needs cancelling.
public protocol ResponseBodyProducer: Sendable {
    /// The next piece of the body (an empty piece is skipped), or nil once the body is complete. Called again
    /// only after the previous call returned. Throwing ends the connection without completing the body, so
    /// the client sees a broken transfer, never a short body that looks whole.
    func nextBodyPiece() async throws -> [UInt8]?
}

/// Standard reason phrases (RFC 9110 §15).
public enum HTTPStatusText {
    public static func reason(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 101: return "Switching Protocols"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 304: return "Not Modified"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 410: return "Gone"
        case 411: return "Length Required"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 415: return "Unsupported Media Type"
        case 417: return "Expectation Failed"
        case 422: return "Unprocessable Content"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        default: return "Status \(status)"
        }
    }
}

/// The one JSON configuration shared by every module so responses look alike.
public enum JSONCoding {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
