/// Where the server finds its certificate chain and private key (PEM files) for HTTPS.
public struct TLSConfiguration: Sendable, Hashable {
    public var certificatePath: String
    public var privateKeyPath: String

    public init(certificatePath: String, privateKeyPath: String) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }
}

/// Every knob of the server, each a named limit so that no queue, buffer or wait is unbounded.
/// The defaults suit an API server behind a load balancer: small heads, 1 MiB bodies.
public struct HTTPServerConfiguration: Sendable {
    /// Address to bind: an IPv4 or IPv6 literal ("0.0.0.0", "127.0.0.1", "::", "::1").
    public var host: String = "127.0.0.1"
    /// TCP port; 0 picks an ephemeral port, reported by `HTTPServer.start()`.
    public var port: Int = 8080
    /// Event-loop threads; each has its own SO_REUSEPORT listener and epoll instance.
    public var eventLoopCount: Int = HTTPServerConfiguration.defaultEventLoopCount
    /// listen(2) backlog per loop.
    public var listenBacklog: Int = 1024

    /// Request line (method, target, version) longer than this: 414 when the target is long, else 400.
    public var requestLineBytesMax: Int = 8 * 1024
    /// All header field lines together (excluding the request line): beyond it, 431.
    public var headerSectionBytesMax: Int = 16 * 1024
    /// Number of header fields: beyond it, 431.
    public var headerCountMax: Int = 100
    /// Decoded request body bytes: beyond it, 413 (checked before reading a Content-Length body).
    public var bodyBytesMax: Int = 1024 * 1024
    /// One chunk-size line (size and ignored extensions).
    public var chunkLineBytesMax: Int = 4096

    /// From the first byte of a request until its head is complete (slowloris guard): 408, close.
    /// Also how long a fresh connection may stay silent before it is closed without a response.
    public var headerReadTimeoutSeconds: Double = 10
    /// From the end of the head until the body is complete: 408, close.
    public var bodyReadTimeoutSeconds: Double = 30
    /// A keep-alive connection with nothing in flight is closed silently after this long.
    public var idleTimeoutSeconds: Double = 60
    /// A response that makes no write progress for this long (the peer stopped reading): close.
    public var writeTimeoutSeconds: Double = 30
    /// After the last response on a closing connection, how long unread input is drained so the
    /// peer sees the response rather than a reset.
    public var lingerSeconds: Double = 2
    /// On shutdown, how long in-flight requests may take before their connections are cut.
    public var shutdownGraceSeconds: Double = 10

    /// Open connections across all loops; further connections get a 503 and are closed.
    public var connectionsMax: Int = 10_000
    /// Requests parsed ahead on one connection (waiting, running or unsent); parsing pauses here.
    public var pipelinedRequestsMax: Int = 16
    /// Unparsed input kept per connection while parsing is paused; reading pauses beyond it.
    public var readAheadBytesMax: Int = 64 * 1024
    /// Unsent response bytes per connection; reading (and so new requests) pauses beyond it.
    public var writeBufferBytesMax: Int = 256 * 1024

    /// Limits and timers of upgraded WebSocket connections.
    public var webSocket = WebSocketLimits()

    /// One JSON access-log line per request through the Kernel Logger (disable for benchmarks).
    public var accessLogEnabled: Bool = true
    /// HTTPS when set; plain HTTP when nil.
    public var tls: TLSConfiguration? = nil

    public init(host: String = "127.0.0.1", port: Int = 8080, tls: TLSConfiguration? = nil) {
        self.host = host
        self.port = port
        self.tls = tls
    }

    public static var defaultEventLoopCount: Int {
        max(1, min(64, sysconfNumberOfProcessors()))
    }
}

/// Every bound of a WebSocket connection (RFC 6455), so that neither a peer nor a handler can make the server
/// buffer without limit. WHY these defaults: session traffic is small JSON events, and an idle connection must
/// cost almost nothing (10,000 of them in well under 300 MB), so nothing here is allocated up front; buffers
/// exist only while a frame or message is in flight.
public struct WebSocketLimits: Sendable {
    /// Payload of one received frame: beyond it the connection is closed with 1009 before the payload is read.
    public var frameBytesMax: Int = 64 * 1024
    /// A received message, all its fragments together: beyond it, 1009.
    public var messageBytesMax: Int = 256 * 1024
    /// Received messages the handler has not taken yet; reading from the socket pauses at this count.
    public var inboundMessagesMax: Int = 16
    /// Encoded frames queued by the handler and not yet taken by the event loop. A send beyond it fails with
    /// `sendQueueFull` and the connection is cut: a slow reader is dropped, never buffered for.
    /// (The loop itself holds at most `writeBufferBytesMax` more while the socket drains.)
    public var sendQueueBytesMax: Int = 256 * 1024
    /// Nothing received for this long: the server sends a ping.
    public var pingIntervalSeconds: Double = 30
    /// Still nothing received this long after that ping: the connection is closed with 1001.
    public var pongTimeoutSeconds: Double = 15
    /// After the server sent a close frame, how long it waits for the peer's before closing the socket.
    public var closeTimeoutSeconds: Double = 5

    public init() {}
}

#if canImport(Glibc)
import Glibc
private func sysconfNumberOfProcessors() -> Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
#else
import Darwin
private func sysconfNumberOfProcessors() -> Int { Int(sysconf(_SC_NPROCESSORS_ONLN)) }
#endif
