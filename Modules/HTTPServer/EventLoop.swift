import Kernel
import Synchronization
import CLinuxSockets

#if canImport(Glibc)
import Glibc
#endif

let epollIn = EPOLLIN.rawValue
let epollOut = EPOLLOUT.rawValue
let epollErr = EPOLLERR.rawValue
let epollHup = EPOLLHUP.rawValue

/// A finished handler result on its way back to the loop that owns the connection.
struct Completion: Sendable {
    let fd: Int32
    let connectionID: UInt64
    let sequence: UInt64
    let bytes: [UInt8]
    let closeAfter: Bool
    /// Set when `bytes` is a 101 that switches the connection to WebSocket.
    var upgrade: WebSocketUpgrade? = nil
    /// Set when `bytes` is the head of a streamed body.
    var stream: StreamStart? = nil
}

/// One pulled piece of a streamed body on its way back to the loop that owns the connection.
struct StreamDelivery: Sendable {
    enum Piece: Sendable {
        case bytes([UInt8])
        case end
        /// The producer threw (its error's type, for the log).
        case failed(String)
    }

    let fd: Int32
    let connectionID: UInt64
    let sequence: UInt64
    let piece: Piece
}

/// State shared by all loops of one server.
final class ServerCore: Sendable {
    let configuration: HTTPServerConfiguration
    let limits: ParserLimits
    let responder: any HTTPResponder
    let accessLog: AccessLog?
    let tls: TLSServerContext?
    let openConnections = Atomic<Int>(0)

    init(configuration: HTTPServerConfiguration, responder: any HTTPResponder, logger: Logger,
         tls: TLSServerContext?) {
        self.configuration = configuration
        self.limits = ParserLimits(configuration)
        self.responder = responder
        self.accessLog = configuration.accessLogEnabled ? AccessLog(logger: logger) : nil
        self.tls = tls
    }
}

/// One thread, one epoll instance, one listener. Everything mutable below `// Loop thread only`
/// is touched only by the loop thread; other threads talk to it through `inbox` + `wakeFD`.
final class EventLoop: @unchecked Sendable {
    private struct Inbox {
        var completions: [Completion] = []
        var streamPieces: [StreamDelivery] = []
        /// WebSocket channels with frames to send or requests for their loop.
        var webSocketWork: [WebSocketChannel] = []
        var shutdownRequested = false
    }

    /// How often timeouts are checked; bounds their precision.
    private static let sweepIntervalNanos: UInt64 = 100_000_000
    private static let eventBatchMax: Int32 = 256
    private static let acceptBatchMax = 64
    private static let readChunkBytes = 64 * 1024
    /// Sent bytes kept at the front of a streaming connection's output before they are dropped.
    private static let streamOutputCompactBytes = 64 * 1024
    /// Reads per readiness event on one TLS connection (plain sockets read once; epoll is level-triggered).
    private static let tlsReadsPerEventMax = 16

    let core: ServerCore
    private let epollFD: Int32
    private let wakeFD: Int32
    private let inbox = Mutex(Inbox())
    private let wakePending = Atomic<Bool>(false)
    private let onExit: @Sendable () -> Void

    // Loop thread only.
    private var listenFD: Int32
    var connections: [Int32: Connection] = [:]
    private var nextConnectionID: UInt64 = 1
    private let scratch: UnsafeMutableRawBufferPointer
    var now: UInt64 = monotonicNanos()
    private var lastSweep: UInt64 = 0
    var shuttingDown = false
    private var graceDeadline: UInt64 = 0
    private var acceptPaused = false

    init(core: ServerCore, listenFD: Int32, onExit: @escaping @Sendable () -> Void) throws(HTTPServerStartError) {
        self.core = core
        self.listenFD = listenFD
        self.onExit = onExit
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw .systemCall("epoll_create1", errno: errno) }
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        guard wakeFD >= 0 else { throw .systemCall("eventfd", errno: errno) }
        scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.readChunkBytes, alignment: 16)
        register(wakeFD, events: epollIn, operation: EPOLL_CTL_ADD)
        register(listenFD, events: epollIn, operation: EPOLL_CTL_ADD)
    }

    // MARK: Cross-thread entry points

    /// Called by handler tasks on any thread.
    func deliver(_ completion: Completion) {
        inbox.withLock { $0.completions.append(completion) }
        wake()
    }

    /// Called by the task that pulled a streamed body's next piece (any thread).
    func deliver(_ piece: StreamDelivery) {
        inbox.withLock { $0.streamPieces.append(piece) }
        wake()
    }

    /// Called by a WebSocket channel (any thread) when it has work for this loop.
    func deliverWebSocketWork(_ channel: WebSocketChannel) {
        inbox.withLock { $0.webSocketWork.append(channel) }
        wake()
    }

    func requestShutdown() {
        inbox.withLock { $0.shutdownRequested = true }
        wake()
    }

    private func wake() {
        // One eventfd write per batch: the loop clears the flag before draining the inbox.
        if !wakePending.exchange(true, ordering: .sequentiallyConsistent) {
            var one: UInt64 = 1
            _ = write(wakeFD, &one, 8)
        }
    }

    // MARK: Loop

    func run() {
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: Int(Self.eventBatchMax))
        defer {
            events.deallocate()
            scratch.deallocate()
            close(epollFD)
            close(wakeFD)
            onExit()
        }
        while true {
            let count = epoll_wait(epollFD, events, Self.eventBatchMax, Int32(Self.sweepIntervalNanos / 1_000_000))
            now = monotonicNanos()
            if count > 0 {
                for index in 0..<Int(count) {
                    let fd = events[index].data.fd
                    let flags = events[index].events
                    if fd == wakeFD {
                        drainInbox()
                    } else if fd == listenFD {
                        acceptConnections()
                    } else if let connection = connections[fd] {
                        handle(connection, flags: flags)
                    }
                }
            }
            if now &- lastSweep >= Self.sweepIntervalNanos {
                lastSweep = now
                sweepTimeouts()
                if !shuttingDown { resumeAccepting() }
            }
            if shuttingDown && (connections.isEmpty || now >= graceDeadline) { break }
        }
        for connection in Array(connections.values) { closeConnection(connection) }
    }

    func register(_ fd: Int32, events: UInt32, operation: Int32) {
        var event = epoll_event(events: events, data: epoll_data_t(fd: fd))
        _ = epoll_ctl(epollFD, operation, fd, &event)
    }

    private func drainInbox() {
        var counter: UInt64 = 0
        _ = read(wakeFD, &counter, 8)
        wakePending.store(false, ordering: .sequentiallyConsistent)
        let (completions, pieces, channels, shutdown) = inbox.withLock { inbox in
            let taken = inbox.completions
            let pieces = inbox.streamPieces
            let channels = inbox.webSocketWork
            inbox.completions.removeAll(keepingCapacity: true)
            inbox.streamPieces.removeAll(keepingCapacity: true)
            inbox.webSocketWork.removeAll(keepingCapacity: true)
            return (taken, pieces, channels, inbox.shutdownRequested)
        }
        for completion in completions { complete(completion) }
        for piece in pieces { streamPieceArrived(piece) }
        for channel in channels { webSocketWorkArrived(channel) }
        if shutdown && !shuttingDown { beginShutdown() }
    }

    // MARK: Accept

    private func acceptConnections() {
        for _ in 0..<Self.acceptBatchMax {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    atlas_accept4(listenFD, $0, &length, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
                }
            }
            guard fd >= 0 else {
                if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM { pauseAccepting() }
                return
            }
            let open = core.openConnections.add(1, ordering: .relaxed).newValue
            if open > core.configuration.connectionsMax {
                refuse(fd)
                continue
            }
            Socket.setNoDelay(fd)
            var transport = Transport.plain
            if let tls = core.tls {
                guard let session = tls.makeSession(fd: fd) else {
                    close(fd)
                    core.openConnections.subtract(1, ordering: .relaxed)
                    continue
                }
                transport = .tls(session)
            }
            let connection = Connection(fd: fd, id: nextConnectionID, remote: Socket.describe(storage).text,
                                        transport: transport, limits: core.limits, now: now,
                                        registeredEvents: epollIn)
            nextConnectionID += 1
            connections[fd] = connection
            register(fd, events: epollIn, operation: EPOLL_CTL_ADD)
        }
    }

    /// Out of descriptors: a level-triggered listener would spin, so it leaves epoll until the
    /// next timeout sweep.
    private func pauseAccepting() {
        guard !acceptPaused, listenFD >= 0 else { return }
        acceptPaused = true
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, listenFD, nil)
    }

    private func resumeAccepting() {
        guard acceptPaused, listenFD >= 0 else { return }
        acceptPaused = false
        register(listenFD, events: epollIn, operation: EPOLL_CTL_ADD)
    }

    /// Beyond `connectionsMax`: a best-effort 503 and an immediate close (plain HTTP only).
    private func refuse(_ fd: Int32) {
        if core.tls == nil {
            let output = ResponseSerializer.serializeError(.overloaded, requestId: TypedID.generate(prefix: .request).rawValue)
            output.bytes.withUnsafeBytes { _ = send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        close(fd)
        core.openConnections.subtract(1, ordering: .relaxed)
    }

    // MARK: Events

    private func handle(_ connection: Connection, flags: UInt32) {
        if connection.lingerDeadline != 0 {
            drainLinger(connection)
            return
        }
        if flags & epollOut != 0 {
            if connection.readWantsWrite {
                connection.readWantsWrite = false
                readAvailable(connection)
            }
            if !connection.isClosed { writeOutput(connection) }
            // Room in the write buffer may let queued responses and requests move on.
            if !connection.isClosed { processInput(connection) }
        }
        if !connection.isClosed, flags & (epollIn | epollErr | epollHup) != 0 {
            readAvailable(connection)
        }
        if !connection.isClosed { settle(connection) }
    }

    private func readAvailable(_ connection: Connection) {
        let isTLS: Bool
        if case .tls = connection.transport { isTLS = true } else { isTLS = false }
        var reads = 0
        readLoop: while !connection.peerClosed && reads < (isTLS ? Self.tlsReadsPerEventMax : 1) {
            reads += 1
            switch connection.transport.read(fd: connection.fd, into: scratch) {
            case .transferred(let count):
                connection.input.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
                connection.lastActivityNanos = now
                connection.lastReadNanos = now
            case .wouldBlock(let wantsWrite):
                connection.readWantsWrite = wantsWrite
                break readLoop
            case .closed:
                connection.peerClosed = true
            case .failed:
                closeConnection(connection)
                return
            }
        }
        processInput(connection)
    }

    // MARK: Parsing and dispatch

    func processInput(_ connection: Connection) {
        if let session = connection.webSocket {
            processWebSocketInput(connection, session)
            return
        }
        let configuration = core.configuration
        // New requests are taken only while parse-ahead and the unsent output are within limits
        // (a body already started is always finished).
        while connection.acceptingRequests && connection.unparsedBytes > 0 && connection.upgradeSequence == nil
            && (connection.parser.isReadingBody
                || (connection.slots.count < configuration.pipelinedRequestsMax
                    && connection.pendingOutputBytes <= configuration.writeBufferBytesMax)) {
            let start = connection.inputStart
            let (consumed, event) = connection.input.withUnsafeBytes { raw in
                connection.parser.parse(UnsafeRawBufferPointer(rebasing: raw[start...]))
            }
            connection.inputStart += consumed
            if case .needMore = event { break }
            handleParseEvent(event, on: connection)
        }
        if connection.acceptingRequests && connection.parser.isReadingHead {
            if connection.unparsedBytes > 0 {
                if connection.headStartNanos == 0 { connection.headStartNanos = now }
            } else {
                connection.headStartNanos = 0
            }
        }
        connection.compactInput()
        startRunnableSlots(connection)
        flushReadySlots(connection)
    }

    private func handleParseEvent(_ event: ParseEvent, on connection: Connection) {
        switch event {
        case .needMore:
            break
        case .headComplete(let head):
            connection.headStartNanos = 0
            connection.bodyStartNanos = now
            // Ask for the body only if the client waits for us and has not started sending it.
            if head.expectsContinue && connection.unparsedBytes == 0 {
                connection.slots.append(Slot(sequence: connection.nextSlotSequence(),
                                             state: .ready(bytes: ResponseSerializer.continueBytes, closeAfter: false),
                                             isSafe: true))
            }
        case .request(let head, let body):
            let started = connection.bodyStartNanos != 0 ? connection.bodyStartNanos
                : (connection.headStartNanos != 0 ? connection.headStartNanos : now)
            connection.headStartNanos = 0
            connection.bodyStartNanos = 0
            enqueueRequest(head, body: body, startNanos: started, on: connection)
        case .failure(let error):
            enqueueError(error, on: connection)
        }
    }

    private func enqueueRequest(_ head: RequestHead, body: [UInt8], startNanos: UInt64, on connection: Connection) {
        let requestId = RequestIdentity.resolve(head.headers)
        let keepAlive = head.keepAlive && !shuttingDown
        if !keepAlive { connection.acceptingRequests = false }
        let request = Request(method: head.method, target: head.target, headers: head.headers, body: body,
                              requestId: requestId, remoteAddress: connection.remote)
        let framing = ResponseSerializer.Framing(isHeadRequest: head.method == .head, keepAlive: keepAlive,
                                                 http10KeepAlive: keepAlive && head.version == .http10,
                                                 requestId: requestId, isHTTP10: head.version == .http10)
        let upgradable = head.wantsUpgrade && head.version == .http11
        connection.requestsReceived += 1
        let sequence = connection.nextSlotSequence()
        // Nothing after an upgrade request is HTTP until its answer is known (RFC 6455 §4.1: the client waits).
        if head.wantsUpgrade && head.version == .http11 { connection.upgradeSequence = sequence }
        connection.slots.append(Slot(sequence: sequence,
                                     state: .waiting(PendingRequest(request: request, framing: framing,
                                                                    startNanos: startNanos, upgradable: upgradable)),
                                     isSafe: head.isSafe))
    }

    /// A server-generated error ends the connection: it is queued after earlier responses.
    private func enqueueError(_ error: HTTPServerError, on connection: Connection) {
        connection.acceptingRequests = false
        let requestId = TypedID.generate(prefix: .request).rawValue
        let output = ResponseSerializer.serializeError(error, requestId: requestId)
        core.accessLog?.record(method: "-", path: "-", status: error.status, durationNanos: 0, requestId: requestId,
                               remote: connection.remote, bytesOut: output.bytes.count)
        connection.slots.append(Slot(sequence: connection.nextSlotSequence(),
                                     state: .ready(bytes: output.bytes, closeAfter: true), isSafe: true))
    }

    /// Starts waiting requests in order: the first one always, later ones only while every
    /// running request and the new one are safe methods.
    private func startRunnableSlots(_ connection: Connection) {
        var running = false
        var runningUnsafe = false
        for index in connection.slots.indices {
            switch connection.slots[index].state {
            case .ready:
                continue
            case .running:
                running = true
                if !connection.slots[index].isSafe { runningUnsafe = true }
            case .waiting(let pending):
                let safe = connection.slots[index].isSafe
                if running && (runningUnsafe || !safe) { return }
                connection.slots[index].state = .running
                running = true
                if !safe { runningUnsafe = true }
                startHandler(pending, connection: connection, sequence: connection.slots[index].sequence)
            }
        }
    }

    private func startHandler(_ pending: PendingRequest, connection: Connection, sequence: UInt64) {
        let responder = core.responder
        let accessLog = core.accessLog
        let fd = connection.fd
        let connectionID = connection.id
        let remote = connection.remote
        Task { [self] in
            let response = await responder.respond(to: pending.request)
            let output: ResponseSerializer.Output
            let upgrade: WebSocketUpgrade?
            var status = response.status
            if response.status == 101, let session = response.webSocket, pending.upgradable,
               let key = pending.request.headers["Sec-WebSocket-Key"] {
                output = ResponseSerializer.Output(
                    bytes: ResponseSerializer.serializeSwitchingProtocols(response, acceptKey: key,
                                                                         requestId: pending.framing.requestId),
                    closeAfter: false)
                upgrade = session
            } else if response.status == 101, response.webSocket != nil {
                // The route accepted a handshake this connection cannot switch (HTTP/1.0, or no key reached the
                // server): the request is wrong, not the server (RFC 6455 §4.1 needs HTTP/1.1).
                output = ResponseSerializer.serializeUpgradeRefused(framing: pending.framing)
                upgrade = nil
                status = 400
            } else {
                output = ResponseSerializer.serialize(response, framing: pending.framing)
                upgrade = nil
                if status < 200 || status > 599 { status = 500 }
            }
            var stream: StreamStart?
            if let delimiting = output.streaming, let producer = response.bodyProducer {
                // Logged when the body ends (`streamPieceArrived`), with every byte sent.
                stream = StreamStart(producer: producer, delimiting: delimiting, method: pending.request.method.rawValue,
                                     path: pending.request.path, status: status, requestId: pending.framing.requestId,
                                     startNanos: pending.startNanos)
            } else {
                accessLog?.record(method: pending.request.method.rawValue, path: pending.request.path,
                                  status: status, durationNanos: monotonicNanos() &- pending.startNanos,
                                  requestId: pending.framing.requestId, remote: remote, bytesOut: output.bytes.count)
            }
            deliver(Completion(fd: fd, connectionID: connectionID, sequence: sequence, bytes: output.bytes,
                               closeAfter: output.closeAfter, upgrade: upgrade, stream: stream))
        }
    }

    private func complete(_ completion: Completion) {
        guard let connection = connections[completion.fd], connection.id == completion.connectionID,
              !connection.isClosed, connection.lingerDeadline == 0,
              let index = connection.slots.firstIndex(where: { $0.sequence == completion.sequence }) else { return }
        connection.slots[index].state = .ready(bytes: completion.bytes, closeAfter: completion.closeAfter)
        connection.slots[index].stream = completion.stream
        if completion.closeAfter { connection.acceptingRequests = false }
        if completion.sequence == connection.upgradeSequence {
            // Not switched: the connection goes on as HTTP (a 401 before the upgrade, a 426, any answer).
            if let upgrade = completion.upgrade { connection.pendingUpgrade = upgrade } else { connection.upgradeSequence = nil }
        }
        startRunnableSlots(connection)
        flushReadySlots(connection)
        if !connection.isClosed { processInput(connection) }
        if !connection.isClosed { settle(connection) }
    }

    // MARK: Writing

    private func flushReadySlots(_ connection: Connection) {
        // Ready responses stay in their slots while the unsent output is over its limit, so a
        // reader that does not read holds at most `pipelinedRequestsMax` responses in memory.
        while moveReadySlotsToOutput(connection) {
            writeOutput(connection)
            if connection.isClosed || connection.pendingOutputBytes > core.configuration.writeBufferBytesMax { return }
        }
        if !connection.isClosed { pullStreamIfRoom(connection) }
    }

    /// Appends ready responses at the head of the queue to the output; false when none moved.
    private func moveReadySlotsToOutput(_ connection: Connection) -> Bool {
        var moved = false
        // A streamed body holds the connection: later responses follow its last piece.
        while connection.stream == nil, connection.pendingOutputBytes <= core.configuration.writeBufferBytesMax,
              let first = connection.slots.first, case .ready(var bytes, let closeAfter) = first.state {
            moved = true
            connection.slots.removeFirst()
            if shuttingDown && !closeAfter { bytes = ResponseSerializer.addingConnectionClose(to: bytes) }
            if connection.pendingOutputBytes == 0 {
                connection.output = bytes
                connection.outputOffset = 0
            } else {
                connection.output.append(contentsOf: bytes)
            }
            if closeAfter {
                // Later pipelined requests are abandoned: the connection ends with this response.
                connection.acceptingRequests = false
                connection.slots.removeAll()
            }
            if let start = first.stream {
                connection.stream = ActiveStream(start: start, sequence: first.sequence, bytesOut: bytes.count)
                return moved
            }
            if first.sequence == connection.upgradeSequence, connection.pendingUpgrade != nil {
                startWebSocket(connection)
                return moved
            }
        }
        return moved
    }

    // MARK: Streamed bodies

    /// Starts pulling the next piece of the connection's streamed body when none is in flight and the unsent
    /// output is within `writeBufferBytesMax`: the reader's pace sets the producer's (constant memory).
    private func pullStreamIfRoom(_ connection: Connection) {
        guard var stream = connection.stream, !stream.pullInFlight,
              connection.pendingOutputBytes <= core.configuration.writeBufferBytesMax else { return }
        stream.pullInFlight = true
        connection.stream = stream
        let (producer, fd, connectionID, sequence) = (stream.start.producer, connection.fd, connection.id, stream.sequence)
        Task { [self] in
            let piece: StreamDelivery.Piece
            do {
                piece = try await producer.nextBodyPiece().map { .bytes($0) } ?? .end
            } catch {
                piece = .failed(String(describing: type(of: error)))
            }
            deliver(StreamDelivery(fd: fd, connectionID: connectionID, sequence: sequence, piece: piece))
        }
    }

    private func streamPieceArrived(_ delivery: StreamDelivery) {
        guard let connection = connections[delivery.fd], connection.id == delivery.connectionID,
              !connection.isClosed, connection.lingerDeadline == 0, var stream = connection.stream,
              stream.sequence == delivery.sequence else { return }
        stream.pullInFlight = false
        let before = connection.pendingOutputBytes
        switch delivery.piece {
        case .bytes(let piece):
            appendOutput(connection) { ResponseSerializer.appendStreamPiece(piece, stream.start.delimiting, to: &$0) }
            stream.bytesOut += connection.pendingOutputBytes - before
            connection.stream = stream
        case .end:
            if stream.start.delimiting == .chunked { appendOutput(connection) { $0.append(contentsOf: ResponseSerializer.lastChunk) } }
            stream.bytesOut += connection.pendingOutputBytes - before
            connection.stream = nil
            recordStream(stream, connection: connection, status: stream.start.status)
        case .failed:
            // Cut, never completed: no last chunk, and a reset rather than a clean close (docs/http-server.md).
            recordStream(stream, connection: connection, status: 500)
            abortConnection(connection)
            return
        }
        writeOutput(connection)
        if !connection.isClosed { flushReadySlots(connection) }
        if !connection.isClosed { processInput(connection) }
        if !connection.isClosed { settle(connection) }
    }

    /// Appends to the unsent output. The bytes already sent are dropped first once they pass
    /// `streamOutputCompactBytes`: a reader that never quite catches up would otherwise grow the buffer by every
    /// piece it was sent.
    private func appendOutput(_ connection: Connection, _ append: (inout [UInt8]) -> Void) {
        if connection.pendingOutputBytes == 0 {
            connection.output.removeAll(keepingCapacity: true)
            connection.outputOffset = 0
        } else if connection.outputOffset >= Self.streamOutputCompactBytes {
            connection.output.removeFirst(connection.outputOffset)
            connection.outputOffset = 0
        }
        append(&connection.output)
    }

    private func recordStream(_ stream: ActiveStream, connection: Connection, status: Int) {
        core.accessLog?.record(method: stream.start.method, path: stream.start.path, status: status,
                               durationNanos: monotonicNanos() &- stream.start.startNanos,
                               requestId: stream.start.requestId, remote: connection.remote, bytesOut: stream.bytesOut)
    }

    /// Ends the connection with a reset (SO_LINGER 0) and, on TLS, without close_notify: a streamed body that
    /// failed must not end the way a complete close-delimited body does.
    func abortConnection(_ connection: Connection) {
        var option = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(connection.fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        connection.transport.discard()
        connection.transport = .plain
        closeConnection(connection)
    }

    func writeOutput(_ connection: Connection) {
        while connection.pendingOutputBytes > 0 {
            let offset = connection.outputOffset
            let result = connection.output.withUnsafeBytes { raw in
                connection.transport.write(fd: connection.fd, from: UnsafeRawBufferPointer(rebasing: raw[offset...]))
            }
            switch result {
            case .transferred(let count):
                connection.outputOffset += count
                connection.lastWriteProgressNanos = now
                connection.lastActivityNanos = now
            case .wouldBlock:
                return
            case .closed, .failed:
                closeConnection(connection)
                return
            }
        }
        connection.output = []
        connection.outputOffset = 0
    }

    /// Brings epoll interest in line with the connection's state, and ends finished connections.
    func settle(_ connection: Connection) {
        guard !connection.isClosed, connection.lingerDeadline == 0 else { return }
        if let session = connection.webSocket {
            settleWebSocket(connection, session)
            return
        }
        if connection.isQuiescent && (!connection.acceptingRequests || connection.peerClosed) {
            if shuttingDown || connection.peerClosed { closeConnection(connection) } else { beginLinger(connection) }
            return
        }
        let configuration = core.configuration
        let readPaused = !connection.acceptingRequests || connection.peerClosed
            || connection.pendingOutputBytes > configuration.writeBufferBytesMax
            || (!connection.parser.isReadingBody && connection.slots.count >= configuration.pipelinedRequestsMax
                && connection.unparsedBytes >= configuration.readAheadBytesMax)
            || (connection.upgradeSequence != nil && connection.unparsedBytes >= configuration.readAheadBytesMax)
        updateInterest(connection, readPaused: readPaused)
    }

    /// Registers read interest unless paused, write interest while output is pending.
    func updateInterest(_ connection: Connection, readPaused: Bool) {
        var desired: UInt32 = readPaused ? 0 : epollIn
        if connection.pendingOutputBytes > 0 || connection.readWantsWrite { desired |= epollOut }
        guard desired != connection.registeredEvents else { return }
        let resumedReading = desired & epollIn != 0 && connection.registeredEvents & epollIn == 0
        connection.registeredEvents = desired
        register(connection.fd, events: desired, operation: EPOLL_CTL_MOD)
        // A TLS session may hold decrypted bytes that epoll cannot see.
        if resumedReading, case .tls = connection.transport {
            readAvailable(connection)
            if !connection.isClosed { settle(connection) }
        }
    }

    // MARK: Closing

    /// Half-closes and drains input for a while so the peer reads the last response instead of
    /// a reset caused by unread data (RFC 9112 §9.6).
    func beginLinger(_ connection: Connection) {
        connection.webSocket?.channel.finish()
        connection.transport.close()
        connection.transport = .plain
        shutdown(connection.fd, Int32(SHUT_WR))
        connection.lingerDeadline = now &+ core.configuration.lingerSeconds.nanoseconds
        connection.input = []
        connection.inputStart = 0
        if connection.registeredEvents != epollIn {
            connection.registeredEvents = epollIn
            register(connection.fd, events: epollIn, operation: EPOLL_CTL_MOD)
        }
    }

    private func drainLinger(_ connection: Connection) {
        let count = read(connection.fd, scratch.baseAddress, scratch.count)
        if count == 0 || (count < 0 && errno != EAGAIN && errno != EINTR) { closeConnection(connection) }
    }

    func closeConnection(_ connection: Connection) {
        guard !connection.isClosed else { return }
        connection.isClosed = true
        connection.webSocket?.channel.finish()
        connection.transport.close()
        connection.transport = .plain
        close(connection.fd)
        connections[connection.fd] = nil
        connection.slots.removeAll()
        core.openConnections.subtract(1, ordering: .relaxed)
    }

    // MARK: Timeouts and shutdown

    private func sweepTimeouts() {
        let configuration = core.configuration
        for connection in Array(connections.values) {
            if connection.lingerDeadline != 0 {
                if now >= connection.lingerDeadline { closeConnection(connection) }
                continue
            }
            if let session = connection.webSocket {
                sweepWebSocket(connection, session)
                continue
            }
            if connection.pendingOutputBytes > 0 {
                if now &- connection.lastWriteProgressNanos > configuration.writeTimeoutSeconds.nanoseconds {
                    closeConnection(connection)
                }
                continue
            }
            if connection.acceptingRequests {
                let bodyLate = connection.parser.isReadingBody
                    && now &- connection.bodyStartNanos > configuration.bodyReadTimeoutSeconds.nanoseconds
                let headLate = connection.headStartNanos != 0
                    && now &- connection.headStartNanos > configuration.headerReadTimeoutSeconds.nanoseconds
                if bodyLate || headLate {
                    enqueueError(.requestTimeout, on: connection)
                    flushReadySlots(connection)
                    settle(connection)
                    continue
                }
            }
            if connection.isQuiescent && connection.unparsedBytes == 0 && connection.parser.isReadingHead {
                let limit = connection.requestsReceived == 0 ? configuration.headerReadTimeoutSeconds
                    : configuration.idleTimeoutSeconds
                if now &- connection.lastActivityNanos > limit.nanoseconds { closeConnection(connection) }
            }
        }
    }

    private func beginShutdown() {
        shuttingDown = true
        graceDeadline = now &+ core.configuration.shutdownGraceSeconds.nanoseconds
        if !acceptPaused { _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, listenFD, nil) }
        close(listenFD)
        listenFD = -1
        for connection in Array(connections.values) {
            if let session = connection.webSocket, connection.lingerDeadline == 0 {
                closeWebSocketForShutdown(connection, session)
            } else if connection.isQuiescent || connection.lingerDeadline != 0 {
                closeConnection(connection)
            } else {
                connection.acceptingRequests = false
                settle(connection)
            }
        }
    }
}
