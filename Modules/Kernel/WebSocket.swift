// WebSocket routes (RFC 6455) as Kernel sees them: a feature module declares
// `group.webSocket("/session", middleware: [guard], schema: …) { request, context, connection in … }` and talks to
// `any WebSocketConnection`; it never imports the HTTP server that implements the protocol.
//
// The upgrade request runs through the group's and the route's middleware like any GET (authentication happens
// once, here: a failed check is the surface's normal 401 body, before any upgrade). When the chain reaches the
// route, the handshake is checked (`WebSocketHandshake`) and the route answers 101 with a `WebSocketUpgrade`;
// the server then switches the connection and runs the session handler in a task of its own.

/// One complete message (fragments already joined, text already checked as UTF-8).
public enum WebSocketMessage: Sendable, Equatable {
    case text(String)
    case binary([UInt8])
}

/// A close status code (RFC 6455 §7.4). `isSendable` says whether it may appear in a close frame.
public struct WebSocketCloseCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let normal = WebSocketCloseCode(rawValue: 1000)
    public static let goingAway = WebSocketCloseCode(rawValue: 1001)
    public static let protocolError = WebSocketCloseCode(rawValue: 1002)
    public static let unsupportedData = WebSocketCloseCode(rawValue: 1003)
    /// Reserved: "no status received"; never sent on the wire.
    public static let noStatus = WebSocketCloseCode(rawValue: 1005)
    /// Reserved: "closed abnormally" (no close frame); never sent on the wire.
    public static let abnormal = WebSocketCloseCode(rawValue: 1006)
    public static let invalidPayload = WebSocketCloseCode(rawValue: 1007)
    public static let policyViolation = WebSocketCloseCode(rawValue: 1008)
    public static let messageTooBig = WebSocketCloseCode(rawValue: 1009)
    public static let internalError = WebSocketCloseCode(rawValue: 1011)

    /// Codes allowed in a close frame: the defined ones (1000–1003, 1007–1014, not 1004/1005/1006/1015),
    /// and 3000–4999 (registered and private use). Everything else is a protocol error when received.
    public var isSendable: Bool {
        switch rawValue {
        case 1000...1003, 1007...1014, 3000...4999: return true
        default: return false
        }
    }

    public var description: String { String(rawValue) }
}

/// Why a send did not queue the message.
public enum WebSocketSendError: Error, Sendable, Equatable {
    /// The connection is closing or closed.
    case closed
    /// The peer does not read fast enough: the per-connection send queue is full, and the connection is cut.
    case sendQueueFull
}

/// A live WebSocket connection. Sends never wait for the peer: a message is queued (bounded per connection) and
/// written by the server's event loop; a peer that stops reading is disconnected rather than buffered for.
public protocol WebSocketConnection: Sendable {
    /// The next message; nil once the connection is closing or closed (by either side).
    func receive() async -> WebSocketMessage?
    /// Queues one message.
    func send(_ message: WebSocketMessage) throws(WebSocketSendError)
    /// Queues a message encoded beforehand. To send one message to many connections, encode it once
    /// (`WebSocketEncodedMessage(_:)`) and send that value to each: they share its bytes.
    func send(_ encoded: WebSocketEncodedMessage) throws(WebSocketSendError)
    /// Starts the close handshake (idempotent). `reason` is cut to fit a control frame (123 bytes).
    func close(code: WebSocketCloseCode, reason: String)
    /// The peer's close code once it has closed (nil while open or when the connection just dropped).
    var peerCloseCode: WebSocketCloseCode? { get }
}

extension WebSocketConnection {
    /// The incoming messages; the sequence ends when the connection closes.
    public var messages: WebSocketMessages { WebSocketMessages(connection: self) }

    public func send(text: String) throws(WebSocketSendError) { try send(.text(text)) }

    /// Serializes `json` straight into a text frame (no intermediate `String`).
    public func send(json: JSONValue) throws(WebSocketSendError) { try send(WebSocketEncodedMessage(json: json)) }

    /// For connections that do not write frames themselves (test doubles): the message, decoded again.
    public func send(_ encoded: WebSocketEncodedMessage) throws(WebSocketSendError) { try send(encoded.message) }
}

/// `for await message in connection.messages { … }`.
public struct WebSocketMessages: AsyncSequence, Sendable {
    public typealias Element = WebSocketMessage
    let connection: any WebSocketConnection

    public struct AsyncIterator: AsyncIteratorProtocol {
        let connection: any WebSocketConnection
        public mutating func next() async -> WebSocketMessage? { await connection.receive() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(connection: connection) }
}

/// The session a WebSocket route runs once upgraded. It owns the connection until it returns; the server then
/// closes the connection with 1000 if the handler has not closed it.
public typealias WebSocketHandler = @Sendable (Request, RequestContext, any WebSocketConnection) async -> Void

/// A WebSocket session that takes a derived context (`RouteGroup.webSocket` with `AuthenticatedContext`).
public typealias ChildWebSocketHandler<Context: ChildRequestContext> =
    @Sendable (Request, Context, any WebSocketConnection) async -> Void

/// What a 101 response carries to the server: the session to run on the upgraded connection.
public struct WebSocketUpgrade: Sendable {
    public let run: @Sendable (any WebSocketConnection) async -> Void

    public init(run: @escaping @Sendable (any WebSocketConnection) async -> Void) { self.run = run }
}

/// The opening handshake rules a route checks after its middleware (RFC 6455 §4.2.1).
public enum WebSocketHandshake {
    public static let version = "13"

    /// The client's `Sec-WebSocket-Key` when the request is a valid version-13 handshake.
    /// Not an upgrade → 426 with `Upgrade: websocket`; another version → 426 with `Sec-WebSocket-Version: 13`;
    /// a missing or malformed key, or a method other than GET → 400.
    public static func validate(_ request: Request) throws(AtlasError) -> String {
        guard request.method == .get else { throw invalid("A WebSocket handshake must be a GET request") }
        let upgrade = request.headers["Upgrade"].map { HTTPHeaders.namesEqual(trimmed($0), "websocket") } ?? false
        let connection = request.headers.all("Connection").contains { value in
            value.split(separator: ",").contains { HTTPHeaders.namesEqual(trimmed($0), "upgrade") }
        }
        guard upgrade, connection else {
            throw upgradeRequired("This endpoint speaks WebSocket: send Upgrade: websocket and Connection: Upgrade",
                                  headers: [("Upgrade", "websocket"), ("Sec-WebSocket-Version", version)])
        }
        guard request.headers.all("Sec-WebSocket-Version").map({ trimmed($0) }) == [version] else {
            throw upgradeRequired("Only WebSocket version 13 is supported", headers: [("Sec-WebSocket-Version", version)])
        }
        let keys = request.headers.all("Sec-WebSocket-Key")
        guard keys.count == 1, isValidKey(trimmed(keys[0])) else {
            throw invalid("Sec-WebSocket-Key must be the base64 encoding of 16 bytes")
        }
        return trimmed(keys[0])
    }

    /// 24 characters of base64 ending in "==": exactly 16 bytes.
    static func isValidKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard bytes.count == 24, bytes[22] == UInt8(ascii: "="), bytes[23] == UInt8(ascii: "=") else { return false }
        return bytes[0..<22].allSatisfy { byte in
            (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57)
                || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/")
        }
    }

    private static func trimmed<S: StringProtocol>(_ text: S) -> String {
        String(text.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }

    private static func upgradeRequired(_ message: String, headers: [(String, String)]) -> AtlasError {
        AtlasError(kind: .custom, status: 426, code: "UPGRADE_REQUIRED", message: message, headers: headers)
    }

    private static func invalid(_ message: String) -> AtlasError {
        AtlasError(kind: .malformedBody, status: 400, code: "INVALID_REQUEST", message: message)
    }
}

extension RouteGroup {
    /// Declares a WebSocket route: a GET whose middleware (authentication, once) runs on the upgrade request; the
    /// credential may also come from `?apiKey=` on these routes only (`RequestContext.isWebSocketRoute`).
    public mutating func webSocket(_ path: String, middleware: [any Middleware] = [], schema: RouteSchema? = nil,
                                   _ handler: @escaping WebSocketHandler) {
        add(.get, path, middleware: middleware, schema: schema, isWebSocket: true) { request, context in
            _ = try WebSocketHandshake.validate(request)
            return Self.upgrade(request) { session, connection in await handler(session, context, connection) }
        }
    }

    /// A WebSocket route whose session takes a derived context (`AuthenticatedContext`): converted after the
    /// handshake checks and before the upgrade, so a request without what it guarantees is answered (e.g. 401)
    /// in the group's error body rather than upgraded.
    public mutating func webSocket<Context: ChildRequestContext>(
        _ path: String, middleware: [any Middleware] = [], schema: RouteSchema? = nil,
        _ handler: @escaping ChildWebSocketHandler<Context>) {
        add(.get, path, middleware: middleware, schema: schema, isWebSocket: true) { request, context in
            _ = try WebSocketHandshake.validate(request)
            let child = try Context(parent: context)
            return Self.upgrade(request) { session, connection in await handler(session, child, connection) }
        }
    }

    /// 101 with the session to run (the handshake checked); the session sees the request without `?apiKey=`.
    private static func upgrade(_ request: Request,
                                _ session: @escaping @Sendable (Request, any WebSocketConnection) async -> Void) -> Response {
        let sessionRequest = request.removingQueryParameter("apiKey")
        return Response(status: 101, webSocket: WebSocketUpgrade { connection in await session(sessionRequest, connection) })
    }
}
