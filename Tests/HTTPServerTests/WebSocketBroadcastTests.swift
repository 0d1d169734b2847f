import AtlasTestSupport
import Foundation
@testable import HTTPServer
import Kernel
import Synchronization
import Testing

/// One message encoded once and sent to many connections (`WebSocketEncodedMessage`): the frame format, the sharing
/// of its bytes down to the loop's queue, and a broadcast over real sockets.
@Suite struct WebSocketBroadcastTests {
    @Test(arguments: [0, 125, 126, 65_535, 65_536])
    func encodedFramesUseTheShortestLengthForm(count: Int) {
        let payload = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let frame = WebSocketEncodedMessage(.binary(payload)).frame
        let header: [UInt8]
        switch count {
        case ..<126: header = [0x82, UInt8(count)]
        case ...0xFFFF: header = [0x82, 126, UInt8(count >> 8), UInt8(count & 0xFF)]
        default: header = [0x82, 127] + (0..<8).map { UInt8(truncatingIfNeeded: UInt64(count) >> UInt64(56 - 8 * $0)) }
        }
        #expect(Array(frame.prefix(header.count)) == header)
        #expect(Array(frame.dropFirst(header.count)) == payload)
        #expect(WebSocketEncodedMessage(.binary(payload)).message == .binary(payload))
    }

    @Test func textAndJSONEncodeAsTheMessageTheyHold() {
        let text = WebSocketEncodedMessage(.text("héllo"))
        #expect(text.frame == [0x81, 6] + Array("héllo".utf8))
        #expect(text.message == .text("héllo"))
        let event: JSONValue = ["event": "processing", "seq": 3, "note": "ü\"\n"]
        let json = WebSocketEncodedMessage(json: event)
        #expect(json.frame == WebSocketEncodedMessage(.text(String(decoding: event.serialized(), as: UTF8.self))).frame)
        #expect(json.message == .text(String(decoding: event.serialized(), as: UTF8.self)))
    }

    @Test func connectionsThatWriteNoFramesReceiveTheDecodedMessage() throws {
        let recorder = RecordingWebSocket()
        try recorder.send(json: ["event": "result"])
        try recorder.send(WebSocketEncodedMessage(.binary([1, 2, 3])))
        #expect(recorder.sent.withLock { $0 } == [.text(#"{"event":"result"}"#), .binary([1, 2, 3])])
    }

    @Test func anEmptyQueueTakesTheSharedFrameAndAFullerOneAppendsACopy() throws {
        let encoded = WebSocketEncodedMessage(.text("event"))
        let idle = WebSocketChannel(fd: -1, connectionID: 1, limits: WebSocketLimits()) { _ in }
        try idle.send(encoded)
        let taken = idle.takeWork().outbound
        #expect(taken == encoded.frame)
        // Same storage: the broadcast's connections queue one buffer, not a copy each.
        #expect(taken.withUnsafeBufferPointer { $0.baseAddress } == encoded.frame.withUnsafeBufferPointer { $0.baseAddress })

        let busy = WebSocketChannel(fd: -1, connectionID: 2, limits: WebSocketLimits()) { _ in }
        try busy.send(text: "mine")
        try busy.send(encoded)
        #expect(busy.takeWork().outbound == WebSocketEncodedMessage(.text("mine")).frame + encoded.frame)
        #expect(encoded.frame == [0x81, 5] + Array("event".utf8))  // appending to one queue left the shared bytes alone
    }

    @Test func sharedFramesCountAgainstTheSendQueue() throws {
        var limits = WebSocketLimits()
        limits.sendQueueBytesMax = 100
        let channel = WebSocketChannel(fd: -1, connectionID: 1, limits: limits) { _ in }
        let encoded = WebSocketEncodedMessage(.binary([UInt8](repeating: 1, count: 40)))  // 42 bytes framed
        try channel.send(encoded)
        try channel.send(encoded)
        #expect(throws: WebSocketSendError.sendQueueFull) { try channel.send(encoded) }
        #expect(channel.takeWork().abort)
        #expect(throws: WebSocketSendError.closed) { try channel.send(encoded) }
    }

    @Test func aBroadcastReachesEverySessionOnceInOrder() async throws {
        let sessions = 24
        try await withServer(responder: WebSocketTestRoutes.router()) { server in
            let clients = try (0..<sessions).map { _ in
                let client = try RawWebSocketClient(port: server.port)
                guard try client.open("/ws/broadcast").status == 101 else { throw TestFailure("no upgrade") }
                guard client.readFrame()?.text == "joined" else { throw TestFailure("no joined") }
                return client
            }
            try clients[0].sendText("fan:first")
            for client in clients { #expect(client.readFrame() == ReceivedFrame(fin: true, opcode: 0x1, payload: Array("first".utf8))) }
            try clients[5].sendText("mine+fan:second")
            for (index, client) in clients.enumerated() {
                if index == 5 { #expect(client.readFrame()?.text == "mine") }
                #expect(client.readFrame()?.text == "second")
            }
            try clients[9].sendText("fan:big")
            for client in clients { #expect(client.readFrame() == ReceivedFrame(fin: true, opcode: 0x2, payload: WebSocketTestRoutes.bigBroadcast)) }
            for client in clients {
                try client.sendClose(code: 1000)
                #expect(client.readUntilClose().frame?.closeCode == 1000)
            }
        }
    }
}

/// A connection that writes no frames (like the feature suites' test doubles): it only gets `send(_: WebSocketMessage)`.
private final class RecordingWebSocket: WebSocketConnection {
    let sent = Mutex<[WebSocketMessage]>([])
    func receive() async -> WebSocketMessage? { nil }
    func send(_ message: WebSocketMessage) throws(WebSocketSendError) { sent.withLock { $0.append(message) } }
    func close(code: WebSocketCloseCode, reason: String) {}
    var peerCloseCode: WebSocketCloseCode? { nil }
}
