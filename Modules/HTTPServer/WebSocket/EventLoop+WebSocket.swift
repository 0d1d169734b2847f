import Kernel

#if canImport(Glibc)
import Glibc
#endif

/// The loop's state for one upgraded connection (loop thread only). Small on purpose: an idle session is this
/// object, its channel and the handler's suspended task; no buffer is kept between frames.
final class WebSocketSession {
    var reader: WebSocketFrameReader
    let channel: WebSocketChannel
    /// The handler has `inboundMessagesMax` messages it has not taken: the socket is not read.
    var readPaused = false
    /// A close frame is queued or sent (by the handler or the loop); nothing else goes out after it.
    var closeSent = false
    /// The close handshake is over (or the protocol failed): close the socket once the output is written.
    var closeAfterFlush = false
    /// When a close we sent first stops waiting for the peer's answer.
    var closeDeadline: UInt64 = 0
    /// When the idle ping went out; 0 when none is outstanding.
    var pingSentNanos: UInt64 = 0

    init(reader: WebSocketFrameReader, channel: WebSocketChannel) {
        self.reader = reader
        self.channel = channel
    }
}

extension EventLoop {
    /// The 101 is queued: from here on the connection carries frames, and the route's session runs in its own task.
    func startWebSocket(_ connection: Connection) {
        guard let upgrade = connection.pendingUpgrade else { return }
        let limits = core.configuration.webSocket
        connection.pendingUpgrade = nil
        connection.upgradeSequence = nil
        connection.acceptingRequests = false
        connection.slots.removeAll()
        connection.parser = HTTPRequestParser(limits: core.limits)
        connection.lastReadNanos = now
        let channel = WebSocketChannel(fd: connection.fd, connectionID: connection.id, limits: limits) { [self] channel in
            deliverWebSocketWork(channel)
        }
        let session = WebSocketSession(reader: WebSocketFrameReader(limits: limits), channel: channel)
        connection.webSocket = session
        Task {
            await upgrade.run(channel)
            channel.close(code: .normal, reason: "")
        }
        if shuttingDown { closeWebSocketForShutdown(connection, session) }
    }

    /// Parses received frames while the handler has room for messages.
    func processWebSocketInput(_ connection: Connection, _ session: WebSocketSession) {
        while !session.readPaused && !session.reader.isFinished && connection.unparsedBytes > 0 {
            let start = connection.inputStart
            let (consumed, event) = connection.input.withUnsafeBytes { raw in
                session.reader.read(UnsafeRawBufferPointer(rebasing: raw[start...]))
            }
            connection.inputStart += consumed
            if let event {
                handleWebSocketEvent(event, connection, session)
                if connection.isClosed { return }
            } else if consumed == 0 {
                break
            }
        }
        if session.reader.isFinished || connection.inputStart == connection.input.count {
            // Idle connections keep no input buffer.
            connection.input = []
            connection.inputStart = 0
        } else if connection.inputStart >= 16 * 1024 {
            connection.input.removeFirst(connection.inputStart)
            connection.inputStart = 0
        }
        flushWebSocket(connection, session)
    }

    private func handleWebSocketEvent(_ event: WebSocketFrameReader.Event, _ connection: Connection,
                                      _ session: WebSocketSession) {
        switch event {
        case .message(let message):
            if session.channel.deliver(message) { session.readPaused = true }
        case .ping(let payload):
            if !session.closeSent { appendWebSocketOutput(WebSocketFrameEncoder.frame(.pong, payload: payload), connection) }
        case .pong:
            break
        case .close(let code, _):
            session.channel.peerClosed(code: code)
            if !session.closeSent {
                // Whatever the handler queued goes out before the echo of the peer's code (RFC 6455 §5.5.1).
                takeChannelWork(connection, session)
                if connection.isClosed { return }
                appendWebSocketOutput(code.map { WebSocketFrameEncoder.close($0, reason: "") } ?? WebSocketFrameEncoder.emptyClose,
                                      connection)
                session.closeSent = true
                session.channel.loopClosing()
            }
            session.closeAfterFlush = true
        case .fail(let code, let reason):
            session.channel.peerClosed(code: nil)
            sendLoopClose(code, reason: reason, connection, session)
            session.closeAfterFlush = true
        }
    }

    /// The loop closes on its own account (protocol error, idle peer, shutdown).
    func sendLoopClose(_ code: WebSocketCloseCode, reason: String, _ connection: Connection, _ session: WebSocketSession) {
        guard !session.closeSent else { return }
        session.channel.loopClosing()
        takeChannelWork(connection, session)
        if connection.isClosed { return }
        appendWebSocketOutput(WebSocketFrameEncoder.close(code, reason: reason), connection)
        session.closeSent = true
        session.closeDeadline = now &+ core.configuration.webSocket.closeTimeoutSeconds.nanoseconds
    }

    /// A channel woke this loop: take its frames and requests, write, and update epoll interest.
    func webSocketWorkArrived(_ channel: WebSocketChannel) {
        guard let connection = connections[channel.fd], connection.id == channel.connectionID, !connection.isClosed,
              connection.lingerDeadline == 0, let session = connection.webSocket else { return }
        flushWebSocket(connection, session)
        if !connection.isClosed { settle(connection) }
    }

    /// Takes the handler's queued frames while the socket keeps up, then writes.
    func flushWebSocket(_ connection: Connection, _ session: WebSocketSession) {
        if connection.pendingOutputBytes <= core.configuration.writeBufferBytesMax {
            let resume = takeChannelWork(connection, session)
            if connection.isClosed { return }
            if resume {
                session.readPaused = false
                processWebSocketInput(connection, session)
                return
            }
        }
        writeOutput(connection)
    }

    /// Moves the channel's work into the connection; true when reading may resume.
    @discardableResult
    private func takeChannelWork(_ connection: Connection, _ session: WebSocketSession) -> Bool {
        let work = session.channel.takeWork()
        if work.abort {
            // The handler outran the peer: cut, do not buffer (WebSocketLimits.sendQueueBytesMax).
            closeConnection(connection)
            return false
        }
        if !work.outbound.isEmpty && !session.closeSent { appendWebSocketOutput(work.outbound, connection) }
        if work.closeQueued && !session.closeSent {
            session.closeSent = true
            session.closeDeadline = now &+ core.configuration.webSocket.closeTimeoutSeconds.nanoseconds
            if session.reader.isFinished { session.closeAfterFlush = true }
        }
        return work.resumeReading && session.readPaused
    }

    private func appendWebSocketOutput(_ bytes: [UInt8], _ connection: Connection) {
        if connection.pendingOutputBytes == 0 {
            connection.output = bytes
            connection.outputOffset = 0
            return
        }
        if connection.outputOffset >= 64 * 1024 {
            connection.output.removeFirst(connection.outputOffset)
            connection.outputOffset = 0
        }
        connection.output.append(contentsOf: bytes)
    }

    func settleWebSocket(_ connection: Connection, _ session: WebSocketSession) {
        if session.closeAfterFlush && connection.pendingOutputBytes == 0 {
            // The server closes the TCP connection first (RFC 6455 §7.1.1), then drains what the peer still sends.
            beginLinger(connection)
            return
        }
        if connection.peerClosed {
            closeConnection(connection)
            return
        }
        let readPaused = session.readPaused || session.reader.isFinished
            || connection.pendingOutputBytes > core.configuration.writeBufferBytesMax
        updateInterest(connection, readPaused: readPaused)
    }

    /// Write stalls, unanswered closes, and idle peers: ping after `pingIntervalSeconds` of silence, 1001 when the
    /// ping gets no answer within `pongTimeoutSeconds`.
    func sweepWebSocket(_ connection: Connection, _ session: WebSocketSession) {
        let configuration = core.configuration
        let limits = configuration.webSocket
        if connection.pendingOutputBytes > 0,
           now &- connection.lastWriteProgressNanos > configuration.writeTimeoutSeconds.nanoseconds {
            closeConnection(connection)
            return
        }
        if session.closeSent {
            if !session.closeAfterFlush && now >= session.closeDeadline { closeConnection(connection) }
            return
        }
        if session.pingSentNanos != 0 && connection.lastReadNanos > session.pingSentNanos { session.pingSentNanos = 0 }
        if session.pingSentNanos == 0 {
            guard !session.readPaused, now &- connection.lastReadNanos > limits.pingIntervalSeconds.nanoseconds else { return }
            session.pingSentNanos = now
            appendWebSocketOutput(WebSocketFrameEncoder.frame(.ping, payload: []), connection)
        } else if now &- session.pingSentNanos > limits.pongTimeoutSeconds.nanoseconds {
            sendLoopClose(.goingAway, reason: "Idle timeout", connection, session)
        } else {
            return
        }
        if connection.isClosed { return }
        writeOutput(connection)
        if !connection.isClosed { settle(connection) }
    }

    func closeWebSocketForShutdown(_ connection: Connection, _ session: WebSocketSession) {
        sendLoopClose(.goingAway, reason: "Server shutting down", connection, session)
        if connection.isClosed { return }
        writeOutput(connection)
        if !connection.isClosed { settle(connection) }
    }
}
