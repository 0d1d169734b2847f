import Foundation
public import Kernel
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Atlas's HTTP/1.1 server (RFC 9112): one epoll event-loop thread per core, each with its own
/// SO_REUSEPORT listener; handlers run as Swift tasks so a slow or stuck handler never blocks a
/// loop, and their responses come back to the owning loop through a locked queue plus eventfd.
///
/// Use: `let port = try server.start()`, optionally `HTTPServer.installSignalHandlers(for: server)`,
/// then `await server.run()`, which returns after a graceful shutdown.
public final class HTTPServer: Sendable {
    private enum Phase {
        case idle
        case running(loops: [EventLoop], port: Int)
        case stopped
    }

    private struct State {
        var phase: Phase = .idle
        var loopsRunning = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    public let configuration: HTTPServerConfiguration
    private let responder: any HTTPResponder
    private let logger: Logger
    private let state = Mutex(State())

    public init(configuration: HTTPServerConfiguration, responder: any HTTPResponder,
                logger: Logger = Logger(label: "http")) {
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
    }

    /// Binds the listeners and starts the event-loop threads; returns the bound port.
    @discardableResult
    public func start() throws(HTTPServerStartError) -> Int {
        try state.withLock { state throws(HTTPServerStartError) in
            guard case .idle = state.phase else { throw .alreadyStarted }
            // Writes to a peer that went away must fail with EPIPE, not kill the process
            // (OpenSSL writes with plain write(2), which cannot pass MSG_NOSIGNAL).
            signal(SIGPIPE, SIG_IGN)
            let tls = try configuration.tls.map { configuration throws(HTTPServerStartError) in
                try TLSServerContext(configuration)
            }
            let core = ServerCore(configuration: configuration, responder: responder, logger: logger, tls: tls)
            let listeners = try Self.bindListeners(configuration)
            var loops: [EventLoop] = []
            do throws(HTTPServerStartError) {
                for fd in listeners.fds {
                    loops.append(try EventLoop(core: core, listenFD: fd) { [self] in loopExited() })
                }
            } catch {
                listeners.fds.forEach { close($0) }
                throw error
            }
            state.phase = .running(loops: loops, port: listeners.port)
            state.loopsRunning = loops.count
            for (index, loop) in loops.enumerated() {
                let thread = Thread { loop.run() }
                thread.name = "http-loop-\(index)"
                thread.start()
            }
            return listeners.port
        }
    }

    private static func bindListeners(_ configuration: HTTPServerConfiguration)
        throws(HTTPServerStartError) -> (fds: [Int32], port: Int) {
        let first = try Socket.listen(host: configuration.host, port: configuration.port,
                                      backlog: configuration.listenBacklog)
        var fds = [first.fd]
        for _ in 1..<max(1, configuration.eventLoopCount) {
            do throws(HTTPServerStartError) {
                fds.append(try Socket.listen(host: configuration.host, port: first.port,
                                             backlog: configuration.listenBacklog).fd)
            } catch {
                fds.forEach { close($0) }
                throw error
            }
        }
        return (fds, first.port)
    }

    /// The bound port while running.
    public var port: Int? {
        state.withLock { state in
            if case .running(_, let port) = state.phase { return port }
            return nil
        }
    }

    /// Returns once every event loop has stopped (after `shutdown()`); at once if never started.
    public func run() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished = state.withLock { state -> Bool in
                if case .running = state.phase {
                    state.waiters.append(continuation)
                    return false
                }
                return true
            }
            if finished { continuation.resume() }
        }
    }

    /// Graceful shutdown: stop accepting, close idle connections, let in-flight requests finish
    /// within `shutdownGraceSeconds`, then stop the loops. Returns when they have stopped.
    public func shutdown() async {
        beginShutdown()
        await run()
    }

    /// Starts a graceful shutdown without waiting (safe from any thread, any number of times).
    public func beginShutdown() {
        let loops = state.withLock { state -> [EventLoop] in
            if case .running(let loops, _) = state.phase { return loops }
            return []
        }
        for loop in loops { loop.requestShutdown() }
    }

    private func loopExited() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.loopsRunning -= 1
            guard state.loopsRunning == 0 else { return [] }
            state.phase = .stopped
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Routes SIGTERM and SIGINT to a graceful shutdown of `server` (self-pipe: the handler only
    /// writes one byte; a watcher thread does the work outside signal context).
    public static func installSignalHandlers(for server: HTTPServer) {
        SignalWatcher.shared.add(server)
    }
}

/// Self-pipe signal handling shared by all servers of the process.
final class SignalWatcher: Sendable {
    static let shared = SignalWatcher()

    private struct State {
        var servers: [HTTPServer] = []
        var installed = false
    }

    private let state = Mutex(State())

    func add(_ server: HTTPServer) {
        let needsInstall = state.withLock { state -> Bool in
            state.servers.append(server)
            defer { state.installed = true }
            return !state.installed
        }
        if needsInstall { install() }
    }

    private func install() {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        signalPipeWriteFD.store(fds[1], ordering: .sequentiallyConsistent)
        let handler: @convention(c) (Int32) -> Void = { _ in
            var byte: UInt8 = 1
            _ = write(signalPipeWriteFD.load(ordering: .relaxed), &byte, 1)
        }
        signal(SIGTERM, handler)
        signal(SIGINT, handler)
        let readFD = fds[0]
        let thread = Thread { [self] in
            var byte: UInt8 = 0
            while true {
                let count = read(readFD, &byte, 1)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { return }
                let servers = state.withLock { $0.servers }
                for server in servers { server.beginShutdown() }
            }
        }
        thread.name = "http-signals"
        thread.start()
    }
}

/// Read by the signal handler, which may only touch async-signal-safe state.
private let signalPipeWriteFD = Atomic<Int32>(-1)
