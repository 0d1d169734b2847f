// A minimal server for bench/http.sh: `GET /ping` → 200 "pong", everything else 404.
// Usage: atlas-httpbench [port] [eventLoopCount] [accessLog: 0|1]
import HTTPServer
import Kernel

struct PingResponder: HTTPResponder {
    func respond(to request: Request) async -> Response {
        if request.path == "/ping" { return Response(status: 200, headers: ["Content-Type": "text/plain"], body: pong) }
        return Response(status: 404)
    }
}

private let pong: [UInt8] = Array("pong\n".utf8)

let arguments = CommandLine.arguments
var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: arguments.count > 1 ? Int(arguments[1]) ?? 8088 : 8088)
if arguments.count > 2, let loops = Int(arguments[2]) { configuration.eventLoopCount = loops }
configuration.accessLogEnabled = arguments.count > 3 && arguments[3] == "1"
let server = HTTPServer(configuration: configuration, responder: PingResponder())
let port = try server.start()
HTTPServer.installSignalHandlers(for: server)
print("listening on \(port)")
await server.run()
print("stopped")
