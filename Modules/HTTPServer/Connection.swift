import Kernel

/// One request on its way through a connection. Slots keep pipelined requests in arrival
/// order so responses go out strictly in that order, whatever order handlers finish in.
struct Slot {
    enum State {
        case waiting(PendingRequest)
        case running
        case ready(bytes: [UInt8], closeAfter: Bool)
    }

    let sequence: UInt64
    var state: State
    /// Only safe methods run concurrently with earlier requests (RFC 9112 §9.3.2).
    let isSafe: Bool
    /// Set once ready when the response's body is streamed: `state`'s bytes are then only its head.
    var stream: StreamStart? = nil
}

/// A streamed response as its handler task hands it to the loop: where its body comes from, how it is
/// delimited, and what the access log records once it ends.
struct StreamStart: Sendable {
    let producer: any ResponseBodyProducer
    let delimiting: ResponseSerializer.StreamDelimiting
    let method: String
    let path: String
    let status: Int
    let requestId: String
    let startNanos: UInt64
}

/// The streamed body a connection is sending (loop thread only). Later responses wait until it ends.
struct ActiveStream {
    let start: StreamStart
    /// The slot sequence it answers (pieces that arrive for another are stale and dropped).
    let sequence: UInt64
    /// A pull is running: the next one starts only after it arrives (one piece in flight at most).
    var pullInFlight = false
    var bytesOut: Int
}

/// A parsed request waiting for its turn on the connection. A class: `Slot.State` then carries one reference.
/// WHY: with this as a struct payload, the release build crashed copying `Slot.State` (a null pointer in the
/// compiler-generated copy, on the first request) once `Framing` gained a field; the debug build did not.
final class PendingRequest: Sendable {
    let request: Request
    let framing: ResponseSerializer.Framing
    let startNanos: UInt64
    /// An HTTP/1.1 request with `Upgrade` and `Connection: upgrade`: a 101 from the responder may switch it.
    let upgradable: Bool

    init(request: Request, framing: ResponseSerializer.Framing, startNanos: UInt64, upgradable: Bool) {
        self.request = request
        self.framing = framing
        self.startNanos = startNanos
        self.upgradable = upgradable
    }
}

/// Per-connection state. Owned and touched only by its event loop's thread.
final class Connection {
    let fd: Int32
    let id: UInt64
    let remote: String
    var transport: Transport
    var parser: HTTPRequestParser

    /// Received bytes; everything before `inputStart` is already parsed.
    var input: [UInt8] = []
    var inputStart = 0
    var slots: [Slot] = []
    var nextSequence: UInt64 = 0
    /// Response bytes being written; everything before `outputOffset` is sent.
    var output: [UInt8] = []
    var outputOffset = 0

    /// False once no further request will be read (error, `Connection: close`, shutdown).
    var acceptingRequests = true
    /// The peer closed its sending side: answer what was received, then close.
    var peerClosed = false
    /// Non-zero while draining input after the final response (deadline, monotonic ns).
    var lingerDeadline: UInt64 = 0
    /// TLS read needs the socket writable (handshake or renegotiation).
    var readWantsWrite = false
    var registeredEvents: UInt32
    var isClosed = false

    var lastActivityNanos: UInt64
    var lastWriteProgressNanos: UInt64
    /// When the first byte of the current, incomplete head arrived; 0 when none.
    var headStartNanos: UInt64 = 0
    /// When the head of the request whose body is being read completed; 0 when none.
    var bodyStartNanos: UInt64 = 0
    var requestsReceived = 0
    /// When bytes last arrived (WebSocket idle pings).
    var lastReadNanos: UInt64
    /// The slot of an upgrade request whose answer is not known yet: parsing waits for it.
    var upgradeSequence: UInt64?
    /// The session to start once that slot's 101 is queued for writing.
    var pendingUpgrade: WebSocketUpgrade?
    /// Set once the connection speaks WebSocket; HTTP parsing and slots are done with.
    var webSocket: WebSocketSession?
    /// The streamed body being sent, if any.
    var stream: ActiveStream?

    init(fd: Int32, id: UInt64, remote: String, transport: Transport, limits: ParserLimits, now: UInt64,
         registeredEvents: UInt32) {
        self.fd = fd
        self.id = id
        self.remote = remote
        self.transport = transport
        self.parser = HTTPRequestParser(limits: limits)
        self.lastActivityNanos = now
        self.lastWriteProgressNanos = now
        self.lastReadNanos = now
        self.registeredEvents = registeredEvents
    }

    var unparsedBytes: Int { input.count - inputStart }
    var pendingOutputBytes: Int { output.count - outputOffset }
    var isQuiescent: Bool { slots.isEmpty && pendingOutputBytes == 0 && stream == nil }

    func nextSlotSequence() -> UInt64 {
        defer { nextSequence += 1 }
        return nextSequence
    }

    /// Drops parsed bytes so the buffer does not grow with a long-lived connection.
    func compactInput() {
        if inputStart == input.count {
            if input.capacity > 256 * 1024 { input = [] } else { input.removeAll(keepingCapacity: true) }
            inputStart = 0
        } else if inputStart >= 16 * 1024 {
            input.removeFirst(inputStart)
            inputStart = 0
        }
    }
}
