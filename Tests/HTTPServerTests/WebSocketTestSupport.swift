import Foundation
import Kernel
import Synchronization
import Testing
import AtlasTestSupport
@testable import HTTPServer

#if canImport(Glibc)
import Glibc
#endif

/// WebSocket routes the frame-level tests talk to.
enum WebSocketTestRoutes {
    /// Records what handlers observed (send errors, close codes) for assertions.
    final class Observations: Sendable {
        let sendErrors = Mutex<[WebSocketSendError]>([])
        let peerCloseCodes = Mutex<[UInt16?]>([])
        /// The sessions of /ws/broadcast, in the order they joined.
        let broadcastMembers = Mutex<[any WebSocketConnection]>([])
    }

    /// The binary message /ws/broadcast sends for "fan:big": over 64 KiB, so its frame has a 64-bit length.
    static let bigBroadcast = (0..<70_000).map { UInt8(truncatingIfNeeded: $0) }

    static func router(_ observations: Observations = Observations()) -> Router {
        var group = RouteGroup(prefix: "/ws")
        // Echoes every message; "close:<code>" makes the server close with that code.
        group.webSocket("/echo") { _, _, connection in
            for await message in connection.messages {
                if case .text(let text) = message, text.hasPrefix("close:"), let code = UInt16(text.dropFirst(6)) {
                    connection.close(code: WebSocketCloseCode(rawValue: code), reason: "bye")
                    continue
                }
                try? connection.send(message)
            }
            observations.peerCloseCodes.withLock { $0.append(connection.peerCloseCode?.rawValue) }
        }
        // Waits before reading, so the inbound queue fills and reading from the socket pauses.
        group.webSocket("/lazy") { _, _, connection in
            try? await Task.sleep(for: .milliseconds(400))
            for await message in connection.messages { try? connection.send(message) }
        }
        // After the client's first message, sends 16 KiB messages until the send queue overflows (the client
        // never reads). WHY wait: flooding at once could overflow and cut (RST) the socket before the client read
        // its 101 answer, which happened on a loaded CI machine.
        group.webSocket("/flood") { _, _, connection in
            _ = await connection.receive()
            let chunk = WebSocketMessage.binary([UInt8](repeating: 7, count: 16 * 1024))
            for _ in 0..<100_000 {
                do throws(WebSocketSendError) {
                    try connection.send(chunk)
                } catch {
                    observations.sendErrors.withLock { $0.append(error) }
                    return
                }
                await Task.yield()
            }
        }
        // Joins the broadcast group and answers "joined"; "fan:<text>" sends <text> to every member as ONE encoded
        // frame ("fan:big" sends `bigBroadcast`); "mine+fan:<text>" first queues "mine" for the sender alone.
        group.webSocket("/broadcast") { _, _, connection in
            observations.broadcastMembers.withLock { $0.append(connection) }
            try? connection.send(text: "joined")
            for await message in connection.messages {
                guard case .text(let text) = message, let colon = text.firstIndex(of: ":") else { continue }
                if text.hasPrefix("mine+fan:") { try? connection.send(text: "mine") }
                let payload = String(text[text.index(after: colon)...])
                let encoded = WebSocketEncodedMessage(payload == "big" ? .binary(bigBroadcast) : .text(payload))
                for member in observations.broadcastMembers.withLock({ $0 }) { try? member.send(encoded) }
            }
        }
        group.get("/plain") { _, _ in .text("plain") }
        return Router(groups: [group])
    }

    static func server(_ adjust: (inout HTTPServerConfiguration) -> Void = { _ in },
                       observations: Observations = Observations()) throws -> TestServer {
        try TestServer(adjust, responder: router(observations))
    }
}
