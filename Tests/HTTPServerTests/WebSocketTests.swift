import AtlasTestSupport
import Foundation
@testable import HTTPServer
import Kernel
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` against a server with the WebSocket test routes, on a thread of its own.
private func withWebSocketServer<T: Sendable>(_ adjust: (inout HTTPServerConfiguration) -> Void = { _ in },
                                              observations: WebSocketTestRoutes.Observations = .init(),
                                              _ body: @escaping @Sendable (TestServer) throws -> T) async throws -> T {
    try await withServer(adjust, responder: WebSocketTestRoutes.router(observations), body)
}

/// Opens a session on /ws/echo and checks the 101.
private func openEcho(_ server: TestServer, path: String = "/ws/echo") throws -> RawWebSocketClient {
    let client = try RawWebSocketClient(port: server.port)
    let response = try client.open(path)
    guard response.status == 101 else { throw TestFailure("expected 101, got \(response.status)") }
    return client
}

/// The server answers a protocol violation with a close frame carrying `code`, then closes the socket.
private func expectClose(_ client: RawWebSocketClient, code: UInt16, sourceLocation: SourceLocation = #_sourceLocation) {
    let (close, _) = client.readUntilClose()
    #expect(close?.closeCode == code, sourceLocation: sourceLocation)
    #expect(client.readsEOF(), sourceLocation: sourceLocation)
}

@Suite struct WebSocketHandshakeTests {
    @Test func acceptKeyMatchesTheRFCExample() {
        #expect(WebSocketAccept.value(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func upgradeAnswers101WithTheAcceptKeyAndEchoes() async throws {
        try await withWebSocketServer { server in
            let client = try RawWebSocketClient(port: server.port)
            let response = try client.open()
            #expect(response.status == 101)
            #expect(response.header("Upgrade")?.lowercased() == "websocket")
            #expect(response.header("Connection")?.lowercased() == "upgrade")
            #expect(response.header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            #expect(response.header("Sec-WebSocket-Extensions") == nil)  // permessage-deflate is not offered back
            #expect(response.header("X-Request-Id") != nil)
            try client.sendText("héllo")
            #expect(client.readFrame() == ReceivedFrame(fin: true, opcode: 0x1, payload: Array("héllo".utf8)))
            try client.sendFrame(opcode: 0x2, payload: [0, 1, 2, 255])
            #expect(client.readFrame() == ReceivedFrame(fin: true, opcode: 0x2, payload: [0, 1, 2, 255]))
            let big = [UInt8](repeating: 65, count: 70_000)  // 64-bit length on the way back, 16-bit fragments in
            try client.sendFrame(opcode: 0x1, payload: Array(big[0..<40_000]), fin: false)
            try client.sendFrame(opcode: 0x0, payload: Array(big[40_000...]))
            #expect(client.readFrame()?.payload == big)
            try client.sendClose(code: 1000)
            expectClose(client, code: 1000)
        }
    }

    @Test func otherVersionsAre426WithTheSupportedVersion() async throws {
        try await withWebSocketServer { server in
            let client = try RawWebSocketClient(port: server.port)
            let response = try client.open(version: "8")
            #expect(response.status == 426)
            #expect(response.header("Sec-WebSocket-Version") == "13")
            #expect(response.bodyJSON?["error"]?.stringValue == "UPGRADE_REQUIRED")
            // Not switched: the connection still speaks HTTP.
            let plain = try client.open("/ws/plain")
            #expect(plain.status == 200)
        }
    }

    @Test func plainGetOnAWebSocketRouteIs426AndBadKeysAre400() async throws {
        try await withWebSocketServer { server in
            let http = try server.client()
            let plain = try http.request("GET", "/ws/echo")
            #expect(plain.status == 426)
            #expect(plain.header("Upgrade") == "websocket")
            let badKey = try http.request("GET", "/ws/echo", headers: [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                                                       ("Sec-WebSocket-Version", "13"),
                                                                       ("Sec-WebSocket-Key", "c2hvcnQ=")])
            #expect(badKey.status == 400)
            let noKey = try http.request("GET", "/ws/echo", headers: [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                                                      ("Sec-WebSocket-Version", "13")])
            #expect(noKey.status == 400)
            // An upgrade request to an ordinary route is answered as HTTP.
            let ordinary = try RawWebSocketClient(port: server.port)
            #expect(try ordinary.open("/ws/plain").status == 200)
        }
    }
}

/// Handshakes that must be refused with a 4xx, never a 500 and never a switch (RFC 6455 §4.1, §4.2.1, §4.4).
@Suite struct WebSocketBadHandshakeTests {
    static let key = RawWebSocketClient.sampleKey

    /// One request head per case and the status RFC 6455 asks for (nil: any 4xx).
    static let cases: [(name: String, head: String, status: Int?)] = [
        ("HTTP/1.0", "GET /ws/echo HTTP/1.0\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n", 400),
        ("HTTP/1.0 keep-alive", "GET /ws/echo HTTP/1.0\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade, keep-alive\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n", 400),
        ("no version", "GET /ws/echo HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\n", 426),
        ("two versions", "GET /ws/echo HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13, 8\r\n", 426),
        ("no key", "GET /ws/echo HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Version: 13\r\n", 400),
        ("empty key", "GET /ws/echo HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \r\nSec-WebSocket-Version: 13\r\n", 400),
        ("two keys", "GET /ws/echo HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n", 400),
        ("key of 15 bytes", "GET /ws/echo HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\nSec-WebSocket-Version: 13\r\n", 400),
        ("key not base64", "GET /ws/echo HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ!==\r\nSec-WebSocket-Version: 13\r\n", 400),
        ("other protocol", "GET /ws/echo HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n", 426),
        ("no Connection: Upgrade", "GET /ws/echo HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n", 426),
        ("POST", "POST /ws/echo HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n", nil),
    ]

    @Test(arguments: 0..<cases.count) func badHandshakeIsA4xxAndNotSwitched(index: Int) async throws {
        let (name, head, expected) = Self.cases[index]
        try await withServer(responder: WebSocketTestRoutes.router()) { server in
            let client = try RawClient(port: server.port)
            try client.send(head + "\r\n")
            let response = try client.readResponse()
            if let expected {
                #expect(response.status == expected, "\(name)")
            } else {
                #expect((400..<500).contains(response.status), "\(name): \(response.status)")
            }
            #expect(response.header("Sec-WebSocket-Accept") == nil, "\(name)")
            if response.status == 426 {
                // RFC 6455 §4.4: the versions the server speaks.
                #expect(response.header("Sec-WebSocket-Version") == "13", "\(name)")
            }
            if response.status == 400 {
                // The route's INVALID_REQUEST, or the parser's BAD_REQUEST for a header it refuses itself.
                #expect(["INVALID_REQUEST", "BAD_REQUEST"].contains(response.bodyJSON?["error"]?.stringValue ?? ""), "\(name)")
                #expect(response.bodyJSON?["message"]?.stringValue?.isEmpty == false, "\(name)")
            }
        }
    }

    /// The HTTP/1.0 refusal carries the request id and closes the connection (no keep-alive was asked for).
    @Test func http10HandshakeIs400WithTheRequestIdAndCloses() async throws {
        try await withServer(responder: WebSocketTestRoutes.router()) { server in
            let client = try RawClient(port: server.port)
            try client.send("GET /ws/echo HTTP/1.0\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            + "Sec-WebSocket-Key: \(Self.key)\r\nSec-WebSocket-Version: 13\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 400)
            let requestId = try #require(response.header("X-Request-Id"))
            #expect(response.bodyJSON?["requestId"]?.stringValue == requestId)
            #expect(client.readsEOF())
        }
    }
}

@Suite struct WebSocketFrameTests {
    @Test func unmaskedClientFrameCloses1002() async throws {
        try await withWebSocketServer { server in
            let client = try openEcho(server)
            try client.sendFrame(opcode: 0x1, payload: Array("hi".utf8), masked: false)
            expectClose(client, code: 1002)
        }
    }

    @Test(arguments: [UInt8(1), 2, 4, 7]) func rsvBitsClose1002(rsv: UInt8) async throws {
        try await withWebSocketServer { server in
            let client = try openEcho(server)
            try client.sendFrame(opcode: 0x1, payload: Array("hi".utf8), rsv: rsv)
            expectClose(client, code: 1002)
        }
    }

    @Test(arguments: [UInt8(3), 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF]) func unknownOpcodesClose1002(opcode: UInt8) async throws {
        try await withWebSocketServer { server in
            let client = try openEcho(server)
            try client.sendFrame(opcode: opcode, payload: [1, 2])
            expectClose(client, code: 1002)
        }
    }

    @Test func fragmentedControlFrameCloses1002() async throws {
        try await withWebSocketServer { server in
            let client = try openEcho(server)
            try client.sendFrame(opcode: 0x9, payload: [1], fin: false)
            expectClose(client, code: 1002)
        }
    }

    @Test func controlFrameOver125BytesCloses1002() async throws {
        try await withWebSocketServer { server in
            let client = try openEcho(server)
            try client.sendFrame(opcode: 0x9, payload: [UInt8](repeating: 1, count: 126))
            expectClose(client, code: 1002)
        }
    }

    @Test func continuationWithoutAMessageAndANewMessageInsideOneClose1002() async throws {
        try await withWebSocketServer { server in
            let stray = try openEcho(server)
            try stray.sendFrame(opcode: 0x0, payload: [1])
            expectClose(stray, code: 1002)
            let interleaved = try openEcho(server)
            try interleaved.sendText("part", fin: false)
            try interleaved.sendText("other")
            expectClose(interleaved, code: 1002)
        }
    }

    @Test func oversizeFrameCloses1009BeforeItsPayload() async throws {
        try await withWebSocketServer({ $0.webSocket.frameBytesMax = 1024 }) { server in
            let client = try openEcho(server)
            // Only the header is sent: the server refuses on the declared length.
            try client.send(Array(RawWebSocketClient.frame(opcode: 0x2, payload: [], declaredLength: 1 << 40).prefix(14)))
            expectClose(client, code: 1009)
        }
    }

    @Test func messageOverTheLimitAcrossFragmentsCloses1009() async throws {
        try await withWebSocketServer({ $0.webSocket.frameBytesMax = 1024; $0.webSocket.messageBytesMax = 2048 }) { server in
            let client = try openEcho(server)
            try client.sendFrame(opcode: 0x2, payload: [UInt8](repeating: 1, count: 1000), fin: false)
            try client.sendFrame(opcode: 0x0, payload: [UInt8](repeating: 1, count: 1000), fin: false)
            try client.sendFrame(opcode: 0x0, payload: [UInt8](repeating: 1, count: 1000))
            expectClose(client, code: 1009)
        }
    }

    @Test func invalidUTF8Closes1007() async throws {
        try await withWebSocketServer { server in
            let client = try openEcho(server)
            try client.sendFrame(opcode: 0x1, payload: [0x68, 0xC0, 0xAF])  // overlong '/'
            expectClose(client, code: 1007)
            let surrogate = try openEcho(server)
            try surrogate.sendFrame(opcode: 0x1, payload: [0xED, 0xA0, 0x80])
            expectClose(surrogate, code: 1007)
        }
    }

    @Test func utf8SplitAcrossFragmentsIsCheckedAsAWhole() async throws {
        try await withWebSocketServer { server in
            // "€" is E2 82 AC: split inside the character, the message is valid and echoed whole.
            let client = try openEcho(server)
            try client.sendFrame(opcode: 0x1, payload: [0x61, 0xE2], fin: false)
            try client.sendFrame(opcode: 0x0, payload: [0x82], fin: false)
            try client.sendFrame(opcode: 0x0, payload: [0xAC])
            #expect(client.readFrame()?.text == "a€")
            // An invalid continuation byte in the second fragment fails as soon as it arrives.
            try client.sendFrame(opcode: 0x1, payload: [0xE2], fin: false)
            try client.sendFrame(opcode: 0x0, payload: [0x28], fin: false)
            expectClose(client, code: 1007)
            // A message that ends inside a character.
            let truncated = try openEcho(server)
            try truncated.sendFrame(opcode: 0x1, payload: [0x61, 0xE2, 0x82])
            expectClose(truncated, code: 1007)
        }
    }

    @Test func pingIsAnsweredWithPongCarryingItsPayload() async throws {
        try await withWebSocketServer { server in
            let client = try openEcho(server)
            try client.sendFrame(opcode: 0x9, payload: Array("are you there".utf8))
            #expect(client.readFrame() == ReceivedFrame(fin: true, opcode: 0xA, payload: Array("are you there".utf8)))
            try client.sendFrame(opcode: 0xA, payload: [9])  // an unsolicited pong is ignored
            try client.sendText("still here")
            #expect(client.readFrame()?.text == "still here")
        }
    }

    @Test func controlFramesInterleaveWithFragments() async throws {
        try await withWebSocketServer { server in
            let client = try openEcho(server)
            try client.sendText("frag", fin: false)
            try client.sendFrame(opcode: 0x9, payload: [42])
            try client.sendFrame(opcode: 0x0, payload: Array("mented".utf8))
            #expect(client.readFrame() == ReceivedFrame(fin: true, opcode: 0xA, payload: [42]))
            #expect(client.readFrame()?.text == "fragmented")
        }
    }

    @Test func garbageAfterTheHandshakeNeverCrashesTheServer() async throws {
        try await withWebSocketServer { server in
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<20 {
                let client = try openEcho(server)
                try client.send((0..<200).map { _ in UInt8.random(in: 0...255, using: &generator) })
                _ = client.readUntilClose()
            }
            let client = try openEcho(server)
            try client.sendText("alive")
            #expect(client.readFrame()?.text == "alive")
        }
    }
}

@Suite struct WebSocketCloseTests {
    /// RFC 6455 §7.4: codes a peer may send (echoed back) …
    static let validCodes: [UInt16] = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]
    /// … and codes that must never appear on the wire (answered 1002).
    static let invalidCodes: [UInt16] = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]

    @Test(arguments: validCodes) func validCloseCodeIsEchoedAndTheServerClosesTheSocket(code: UInt16) async throws {
        let observations = WebSocketTestRoutes.Observations()
        try await withWebSocketServer(observations: observations) { server in
            let client = try openEcho(server)
            try client.sendClose(code: code, reason: Array("done".utf8))
            expectClose(client, code: code)
        }
        try await waitUntil { observations.peerCloseCodes.withLock { $0 } == [code] }
    }

    @Test(arguments: invalidCodes) func invalidCloseCodeCloses1002(code: UInt16) async throws {
        try await withWebSocketServer { server in
            let client = try openEcho(server)
            try client.sendClose(code: code)
            expectClose(client, code: 1002)
        }
    }

    @Test func emptyCloseIsAnsweredWithAnEmptyClose() async throws {
        try await withWebSocketServer { server in
            let client = try openEcho(server)
            try client.sendClose(code: nil)
            let (close, _) = client.readUntilClose()
            #expect(close?.payload == [])
            #expect(client.readsEOF())
        }
    }

    @Test func oneByteClosePayloadAndInvalidReasonAreRefused() async throws {
        try await withWebSocketServer { server in
            let short = try openEcho(server)
            try short.sendFrame(opcode: 0x8, payload: [3])
            expectClose(short, code: 1002)
            let badReason = try openEcho(server)
            try badReason.sendClose(code: 1000, reason: [0xFF, 0xFE])
            expectClose(badReason, code: 1007)
        }
    }

    @Test func serverInitiatedCloseWaitsForTheEchoThenClosesTheSocket() async throws {
        try await withWebSocketServer { server in
            let client = try openEcho(server)
            try client.sendText("close:4001")
            let (close, _) = client.readUntilClose()
            #expect(close?.closeCode == 4001)
            #expect(close.map { String(decoding: $0.payload.dropFirst(2), as: UTF8.self) } == "bye")
            try client.sendClose(code: 4001)
            #expect(client.readsEOF())
        }
    }

    @Test func serverCutsAPeerThatNeverAnswersItsClose() async throws {
        try await withWebSocketServer({ $0.webSocket.closeTimeoutSeconds = 0.3 }) { server in
            let client = try openEcho(server)
            try client.sendText("close:1000")
            #expect(client.readUntilClose().frame?.closeCode == 1000)
            #expect(client.readsEOF())  // within the close timeout, not the 5 s read timeout
        }
    }

    @Test func shutdownClosesSessionsWith1001() async throws {
        let server = try WebSocketTestRoutes.server()
        let client = try await onThread { try openEcho(server) }
        let stopping = Task { await server.stop() }
        let close = try await onThread { () -> ReceivedFrame? in
            let close = client.readUntilClose().frame
            try client.sendClose(code: close?.closeCode ?? 1000)
            return close
        }
        await stopping.value
        #expect(close?.closeCode == 1001)
    }
}

@Suite struct WebSocketFlowTests {
    @Test func idlePeerIsPingedThenClosedWith1001() async throws {
        try await withWebSocketServer({ $0.webSocket.pingIntervalSeconds = 0.3; $0.webSocket.pongTimeoutSeconds = 0.3 }) { server in
            let silent = try openEcho(server)
            #expect(silent.readFrame()?.opcode == 0x9)
            #expect(silent.readUntilClose().frame?.closeCode == 1001)
        }
    }

    @Test func answeringPingsKeepsTheSessionOpen() async throws {
        try await withWebSocketServer({ $0.webSocket.pingIntervalSeconds = 0.2; $0.webSocket.pongTimeoutSeconds = 0.3 }) { server in
            let client = try openEcho(server)
            for _ in 0..<4 {
                let ping = client.readFrame()
                #expect(ping?.opcode == 0x9)
                try client.sendFrame(opcode: 0xA, payload: ping?.payload ?? [])
            }
            try client.sendText("still open")
            #expect(client.readFrame()?.text == "still open")
        }
    }

    @Test func aHandlerThatReadsLateLosesNoMessages() async throws {
        try await withWebSocketServer({ $0.webSocket.inboundMessagesMax = 4 }) { server in
            let client = try openEcho(server, path: "/ws/lazy")
            for index in 0..<50 { try client.sendText("m\(index)") }
            for index in 0..<50 { #expect(client.readFrame()?.text == "m\(index)") }
        }
    }

    @Test func aPeerThatStopsReadingIsCutNotBufferedFor() async throws {
        let observations = WebSocketTestRoutes.Observations()
        let (errors, cut) = try await withWebSocketServer({ $0.webSocket.sendQueueBytesMax = 64 * 1024; $0.writeBufferBytesMax = 64 * 1024 },
                                                          observations: observations) { server in
            let client = try RawWebSocketClient(port: server.port)
            var size: Int32 = 4096
            setsockopt(client.fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            guard try client.open("/ws/flood").status == 101 else { throw TestFailure("no upgrade") }
            try client.sendText("go")
            // The client reads nothing while the server's queue fills and a send fails.
            for _ in 0..<1000 where observations.sendErrors.withLock({ $0.isEmpty }) { usleep(20_000) }
            // Then the socket is cut: reading drains what was in flight (a reset may discard some of it) and ends
            // without a close frame.
            while let frame = client.readFrame() {
                if frame.opcode == 0x8 { return (observations.sendErrors.withLock { $0 }, false) }
            }
            return (observations.sendErrors.withLock { $0 }, client.socketEnded())
        }
        #expect(errors == [.sendQueueFull])
        #expect(cut)
    }
}

@Suite struct WebSocketRealClientTests {
    static let python: String? = {
        for candidate in whichAll("python3") {
            if let outcome = try? ToolProcess.runBlockingTheCallingThread([candidate, "-c", "import websockets"]),
               outcome.status == 0 { return candidate }
        }
        return nil
    }()

    static let script = """
    import asyncio, ssl, sys
    from websockets.asyncio.client import connect

    async def main(url):
        context = None
        if url.startswith("wss:"):
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        async with connect(url, ssl=context) as ws:
            await ws.send("hello")
            assert await ws.recv() == "hello"
            await ws.send(b"\\x00\\x01")
            assert await ws.recv() == b"\\x00\\x01"
            big = "x" * 100000
            await ws.send(big)
            assert await ws.recv() == big
            pong = await ws.ping(b"p")
            await asyncio.wait_for(pong, 5)
        print("close", ws.close_code)

    asyncio.run(main(sys.argv[1]))
    """

    /// Needs `pip install websockets`; skipped when no python3 has it. `wss` also needs `openssl` for a
    /// self-signed certificate and runs the same session over the server's TLS transport.
    @Test(.enabled(if: python != nil && TLSTests.openssl != nil), arguments: ["ws", "wss"])
    func pythonWebsocketsHandshakeEchoAndClose(scheme: String) async throws {
        let directory = try RealClientTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("client.py").path
        try Self.script.write(toFile: path, atomically: true, encoding: .utf8)
        var tls: TLSConfiguration?
        if scheme == "wss" {
            let certificate = directory.appendingPathComponent("cert.pem").path
            let key = directory.appendingPathComponent("key.pem").path
            let generated = try await ToolProcess.run([TLSTests.openssl!, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                                                       "-keyout", key, "-out", certificate, "-days", "1", "-subj", "/CN=localhost"])
            try #require(generated.status == 0, "\(generated.output)")
            tls = TLSConfiguration(certificatePath: certificate, privateKeyPath: key)
        }
        let server = try WebSocketTestRoutes.server({ $0.webSocket.frameBytesMax = 128 * 1024; $0.tls = tls })
        let result: ToolProcess.Outcome
        do {
            result = try await ToolProcess.run([Self.python!, path, "\(scheme)://127.0.0.1:\(server.port)/ws/echo"])
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("close 1000"))
    }
}

/// Polls `condition` (cheap, non-blocking) until it holds or `seconds` pass.
func waitUntil(seconds: Double = 5, _ condition: @escaping @Sendable () -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    #expect(condition(), "condition not met within \(seconds) s")
}
