// A minimal server for bench/http.sh and bench/websocket.sh: `GET /ping` → 200 "pong"; `GET /ws` → a WebSocket
// session that stays idle until it receives a broadcast trigger, which sends `<monotonic ns>` to every open session
// (fan-out latency; bench/ws_fanout.c). Everything else 404.
//   "broadcast"       one frame encoded once, shared by every session (WebSocketEncodedMessage): the stamp as text.
//   "broadcast text"  the stamp as text, encoded by each session's send(text:) (before the shared frame).
//   "broadcast json"  each session its own numbered JSON event, serialized per session under the session's lock, as
//                     /v1/session's SessionStream.emit does: {"event":"processing","seq":n,"sentAt":<ns>,…}.
//   "broadcast tasks" the same JSON event, each emitted from a task of its own (in /v1/session each sale runs in its
//                     own task, so 1,000 sessions' events at once are 1,000 tasks emitting, not one loop).
// Usage: atlas-httpbench [port] [eventLoopCount] [accessLog: 0|1]
import HTTPServer
import Kernel
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

struct PingResponder: HTTPResponder {
    let sessions = SessionRegistry()

    func respond(to request: Request) async -> Response {
        if request.path == "/ping" { return Response(status: 200, headers: ["Content-Type": "text/plain"], body: pong) }
        if request.path == "/ws" {
            do throws(AtlasError) {
                _ = try WebSocketHandshake.validate(request)
            } catch {
                return Response(status: error.status, headers: HTTPHeaders(error.headers))
            }
            return Response(status: 101, webSocket: WebSocketUpgrade { [sessions] connection in
                await sessions.serve(connection)
            })
        }
        return Response(status: 404)
    }
}

/// Every open bench session, for the fan-out.
final class SessionRegistry: Sendable {
    private let open = Mutex<[Int: BenchSession]>([:])
    private let nextId = Atomic<Int>(0)

    func serve(_ connection: any WebSocketConnection) async {
        let id = nextId.add(1, ordering: .relaxed).newValue
        let session = BenchSession(id: id, connection: connection)
        open.withLock { $0[id] = session }
        for await message in connection.messages {
            guard case .text(let text) = message, let mode = BroadcastMode(rawValue: text) else { continue }
            broadcast(mode)
        }
        _ = open.withLock { $0.removeValue(forKey: id) }
    }

    /// Stamps the time once, then queues one message per open session (the stamp is taken before any of them).
    private func broadcast(_ mode: BroadcastMode) {
        let everyone = open.withLock { Array($0.values) }
        let stamp = monotonicStamp()
        switch mode {
        case .shared:
            let frame = WebSocketEncodedMessage(.text(String(stamp)))
            for session in everyone { try? session.connection.send(frame) }
        case .text:
            let text = String(stamp)
            for session in everyone { try? session.connection.send(text: text) }
        case .json:
            for session in everyone { session.emit(stamp: stamp) }
        case .tasks:
            for session in everyone { Task { session.emit(stamp: stamp) } }
        }
    }
}

enum BroadcastMode: String {
    case shared = "broadcast"
    case text = "broadcast text"
    case json = "broadcast json"
    case tasks = "broadcast tasks"
}

/// One bench session: its connection and the numbering of its JSON events (a lock per session, as SessionStream).
final class BenchSession: Sendable {
    let id: Int
    let connection: any WebSocketConnection
    private let nextSeq = Mutex<Int64>(1)

    init(id: Int, connection: any WebSocketConnection) {
        self.id = id
        self.connection = connection
    }

    /// A lifecycle-sized event, numbered, built and serialized for this session alone.
    func emit(stamp: Int64) {
        nextSeq.withLock { seq in
            let event: JSONValue = ["event": "processing", "transactionId": .string("txn_bench\(id)"),
                                    "sessionId": .string("wss_bench\(id)"), "seq": .int(seq), "sentAt": .int(stamp)]
            seq += 1
            try? connection.send(json: event)
        }
    }
}

private func monotonicStamp() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
}

private let pong: [UInt8] = Array("pong\n".utf8)

let arguments = CommandLine.arguments
var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: arguments.count > 1 ? Int(arguments[1]) ?? 8088 : 8088)
if arguments.count > 2, let loops = Int(arguments[2]) { configuration.eventLoopCount = loops }
configuration.accessLogEnabled = arguments.count > 3 && arguments[3] == "1"
configuration.connectionsMax = 20_000
let server = HTTPServer(configuration: configuration, responder: PingResponder())
let port = try server.start()
HTTPServer.installSignalHandlers(for: server)
print("listening on \(port)")
await server.run()
print("stopped")
