import CLibPQ
import Foundation
import Glibc
import Kernel
import Synchronization

/// LISTEN/NOTIFY on one dedicated connection, owned by one dedicated thread.
///
/// WHY a separate connection: a pooled connection is handed to other tasks between statements, so it
/// cannot hold LISTEN registrations. WHY a thread: it sleeps in `poll()` on the libpq socket plus a wake
/// pipe, so notifications arrive without polling latency and without occupying the cooperative pool.
///
/// Reconnects: when the socket reports EOF/error (e.g. `pg_ctl restart`) or a keepalive fails, the thread
/// reconnects with backoff (0.1 s doubling to `reconnectDelayMaxSeconds`) and re-LISTENs every channel
/// that still has subscribers. Notifications sent while disconnected are lost (PostgreSQL does not queue
/// them for absent listeners); consumers that need every event must re-read state after a gap.
final class NotificationListener: Sendable {
    /// Distinct channels one process may listen on.
    static let channelsMax = 1_000
    /// PostgreSQL identifiers are at most 63 bytes.
    static let channelBytesMax = 63
    /// Idle interval after which the thread runs `SELECT 1` to detect a silently dead connection.
    static let keepaliveSeconds: Int32 = 30

    typealias Continuation = AsyncStream<DatabaseNotification>.Continuation

    fileprivate enum Command {
        case listen(String, CheckedContinuation<Void, Never>)
        case unlisten(String)
    }

    private struct Shared: ~Copyable {
        var subscribers: [String: [UInt64: Continuation]] = [:]
        var commands: [Command] = []
        var started = false
        var stopping = false
        var nextSubscriberID: UInt64 = 1
    }

    private let settings: ConnectionSettings
    private let notificationBufferMax: Int
    private let reconnectDelayMaxSeconds: Double
    private let logger: Logger?
    private let shared = Mutex(Shared())
    private let wakeRead: Int32
    private let wakeWrite: Int32

    init(settings: ConnectionSettings, notificationBufferMax: Int, reconnectDelayMaxSeconds: Double, logger: Logger?) {
        self.settings = settings
        self.notificationBufferMax = notificationBufferMax
        self.reconnectDelayMaxSeconds = reconnectDelayMaxSeconds
        self.logger = logger
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
        } else {
            fds = [-1, -1]
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    deinit {
        if wakeRead >= 0 { Glibc.close(wakeRead) }
        if wakeWrite >= 0 { Glibc.close(wakeWrite) }
    }

    /// Channel names are plain identifiers so they can be quoted into LISTEN without escaping games.
    static func validate(channel: String) throws(DatabaseError) {
        let bytes = Array(channel.utf8)
        let valid = !bytes.isEmpty && bytes.count <= channelBytesMax
            && !(bytes[0] >= UInt8(ascii: "0") && bytes[0] <= UInt8(ascii: "9"))
            && bytes.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
            }
        guard valid else {
            throw DatabaseError(kind: .query, message: "invalid channel name (use [A-Za-z_][A-Za-z0-9_]{0,62})")
        }
    }

    /// Registers a subscriber and returns once the channel is LISTENed on the current connection (or
    /// queued for the next one when the server is down).
    func subscribe(channel: String) async throws(DatabaseError) -> AsyncStream<DatabaseNotification> {
        guard wakeRead >= 0 else { throw DatabaseError(kind: .connectionFailed, message: "listener wake pipe unavailable") }
        let (stream, continuation) = AsyncStream.makeStream(of: DatabaseNotification.self,
                                                           bufferingPolicy: .bufferingNewest(notificationBufferMax))
        let registration = shared.withLock { state -> (id: UInt64, startThread: Bool)? in
            guard !state.stopping else { return nil }
            if state.subscribers[channel] == nil && state.subscribers.count >= Self.channelsMax { return nil }
            let id = state.nextSubscriberID
            state.nextSubscriberID += 1
            state.subscribers[channel, default: [:]][id] = continuation
            defer { state.started = true }
            return (id, !state.started)
        }
        guard let registration else {
            throw DatabaseError(kind: .query, message: "listener closed or channel limit (\(Self.channelsMax)) reached")
        }
        continuation.onTermination = { [self] _ in unsubscribe(channel: channel, id: registration.id) }
        if registration.startThread { startThread() }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let queued = shared.withLock { state -> Bool in
                guard !state.stopping else { return false }
                state.commands.append(.listen(channel, done))
                return true
            }
            if queued { wake() } else { done.resume() }
        }
        return stream
    }

    func stop() {
        let continuations = shared.withLock { state -> [Continuation] in
            state.stopping = true
            let all = state.subscribers.values.flatMap { $0.values }
            state.subscribers.removeAll()
            return all
        }
        wake()
        continuations.forEach { $0.finish() }
    }

    private func unsubscribe(channel: String, id: UInt64) {
        let needsUnlisten = shared.withLock { state -> Bool in
            state.subscribers[channel]?[id] = nil
            guard state.subscribers[channel]?.isEmpty == true else { return false }
            state.subscribers[channel] = nil
            guard !state.stopping else { return false }
            state.commands.append(.unlisten(channel))
            return true
        }
        if needsUnlisten { wake() }
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = Glibc.write(wakeWrite, &byte, 1)
    }

    private func startThread() {
        let thread = Thread { [self] in ListenerLoop(owner: self).run() }
        thread.name = "atlas-pg-listener"
        thread.start()
    }

    // MARK: - Accessors for the loop

    fileprivate var isStopping: Bool { shared.withLock { $0.stopping } }
    fileprivate var channels: [String] { shared.withLock { Array($0.subscribers.keys) } }
    fileprivate func hasSubscribers(_ channel: String) -> Bool { shared.withLock { $0.subscribers[channel] != nil } }

    fileprivate func takeCommands() -> [Command] {
        shared.withLock { state in
            defer { state.commands.removeAll() }
            return state.commands
        }
    }

    fileprivate func deliver(_ notification: DatabaseNotification) {
        let targets = shared.withLock { Array(($0.subscribers[notification.channel] ?? [:]).values) }
        targets.forEach { $0.yield(notification) }
    }

    /// Resumes everything still queued (used when stopping).
    fileprivate func drainCommands() {
        for command in takeCommands() {
            if case .listen(_, let done) = command { done.resume() }
        }
    }

    /// The thread body: owns the PGconn exclusively, so it needs no locking around libpq.
    private final class ListenerLoop {
        let owner: NotificationListener
        var connection: OpaquePointer?
        var listening: Set<String> = []
        var reconnectDelaySeconds = 0.1

        init(owner: NotificationListener) { self.owner = owner }

        func run() {
            while !owner.isStopping {
                if connection == nil && !connect() {
                    failPendingWhileDisconnected()
                    sleepInterruptibly(seconds: reconnectDelaySeconds)
                    reconnectDelaySeconds = min(reconnectDelaySeconds * 2, owner.reconnectDelayMaxSeconds)
                    continue
                }
                runCommands()
                waitForInput()
            }
            disconnect()
            owner.drainCommands()
        }

        private func connect() -> Bool {
            let settings = owner.settings
            let keywords = ["application_name", "connect_timeout", "client_encoding", "dbname"]
            let values = [settings.applicationName, String(settings.connectTimeoutSeconds), "UTF8", settings.url]
            let candidate = withCStringArray(keywords) { keys in withCStringArray(values) { PQconnectdbParams(keys, $0, 1) } }
            guard let candidate, PQstatus(candidate) == CONNECTION_OK else {
                if let candidate { PQfinish(candidate) }
                return false
            }
            connection = candidate
            listening = []
            for channel in owner.channels where !listen(channel) { return false }
            if reconnectDelaySeconds > 0.1 {
                owner.logger?.info("postgres listener reconnected", ["channels": .int(Int64(listening.count))])
            }
            reconnectDelaySeconds = 0.1
            return true
        }

        /// While the server is unreachable, listen() callers are released at once; their channels are
        /// LISTENed after the next successful connect.
        private func failPendingWhileDisconnected() {
            for command in owner.takeCommands() {
                if case .listen(_, let done) = command { done.resume() }
            }
        }

        private func runCommands() {
            for command in owner.takeCommands() {
                switch command {
                case .listen(let channel, let done):
                    if !listening.contains(channel) && owner.hasSubscribers(channel) { _ = listen(channel) }
                    done.resume()
                case .unlisten(let channel):
                    if listening.contains(channel) && !owner.hasSubscribers(channel) {
                        if run("UNLISTEN \"\(channel)\"") { listening.remove(channel) }
                    }
                }
            }
        }

        @discardableResult
        private func listen(_ channel: String) -> Bool {
            guard run("LISTEN \"\(channel)\"") else { return false }
            listening.insert(channel)
            return true
        }

        /// Runs a bind-free command; drops the connection on failure. Channel names are validated identifiers.
        private func run(_ command: String) -> Bool {
            guard let connection else { return false }
            let result = PQexec(connection, command)
            defer { if let result { PQclear(result) } }
            let ok = result.map { PQresultStatus($0) == PGRES_COMMAND_OK || PQresultStatus($0) == PGRES_TUPLES_OK } ?? false
            if !ok || PQstatus(connection) != CONNECTION_OK {
                disconnect()
                return false
            }
            deliverPending()
            return true
        }

        private func waitForInput() {
            guard let connection else { return }
            var descriptors = [pollfd(fd: PQsocket(connection), events: Int16(POLLIN), revents: 0),
                               pollfd(fd: owner.wakeRead, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&descriptors, 2, NotificationListener.keepaliveSeconds * 1000)
            if ready == 0 {
                _ = run("SELECT 1")
                return
            }
            if ready < 0 { return }
            if descriptors[1].revents != 0 { drainWakePipe() }
            if descriptors[0].revents != 0 {
                if PQconsumeInput(connection) == 0 || PQstatus(connection) != CONNECTION_OK {
                    owner.logger?.warning("postgres listener connection lost; reconnecting")
                    deliverPending()
                    disconnect()
                    return
                }
                deliverPending()
            }
        }

        private func deliverPending() {
            guard let connection else { return }
            while let raw = PQnotifies(connection) {
                let channel = String(cString: raw.pointee.relname)
                let payload = String(cString: raw.pointee.extra)
                PQfreemem(raw)
                owner.deliver(DatabaseNotification(channel: channel, payload: payload))
            }
        }

        private func disconnect() {
            if let connection { PQfinish(connection) }
            connection = nil
            listening = []
        }

        private func sleepInterruptibly(seconds: Double) {
            var descriptor = pollfd(fd: owner.wakeRead, events: Int16(POLLIN), revents: 0)
            if poll(&descriptor, 1, Int32(seconds * 1000)) > 0 { drainWakePipe() }
        }

        private func drainWakePipe() {
            var buffer = [UInt8](repeating: 0, count: 64)
            while Glibc.read(owner.wakeRead, &buffer, buffer.count) > 0 {}
        }
    }
}
