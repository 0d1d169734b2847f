import AtlasTestSupport
import Foundation
@testable import HTTPServer
import Kernel
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Streamed response bodies (`Response.streamed`): chunked framing on HTTP/1.1 (RFC 9112 §7.1), close-delimited
/// bodies on HTTP/1.0, HEAD without pulling, a failed producer cutting the connection, and pulls held back by a
/// reader that does not read (constant memory).
@Suite struct StreamedResponseTests {
    /// Piece `i` is `size` bytes of `i % 256`; the call after `failAfter` pieces throws.
    final class PatternProducer: ResponseBodyProducer {
        struct Broken: Error {}

        let pieces: Int
        let size: Int
        let failAfter: Int?
        let pulls = Atomic<Int>(0)

        init(pieces: Int, size: Int, failAfter: Int? = nil) {
            self.pieces = pieces
            self.size = size
            self.failAfter = failAfter
        }

        func nextBodyPiece() async throws -> [UInt8]? {
            let index = pulls.add(1, ordering: .sequentiallyConsistent).oldValue
            if let failAfter, index == failAfter { throw Broken() }
            guard index < pieces else { return nil }
            return [UInt8](repeating: UInt8(index % 256), count: size)
        }

        static func expected(pieces: Int, size: Int) -> [UInt8] {
            (0..<pieces).flatMap { [UInt8](repeating: UInt8($0 % 256), count: size) }
        }
    }

    /// Hands out the given pieces in order (empty ones included).
    actor ListProducer: ResponseBodyProducer {
        private var pieces: [[UInt8]]
        init(_ pieces: [[UInt8]]) { self.pieces = pieces }
        func nextBodyPiece() async throws -> [UInt8]? { pieces.isEmpty ? nil : pieces.removeFirst() }
    }

    /// `/stream` answers the producer's body; everything else as `TestResponder`.
    struct StreamingResponder: HTTPResponder {
        let producer: any ResponseBodyProducer

        func respond(to request: Request) async -> Response {
            guard request.path == "/stream" else { return await TestResponder().respond(to: request) }
            return .streamed(headers: ["Content-Type": "application/octet-stream", "Content-Length": "999"],
                             producer: producer)
        }
    }

    @Test func http11BodyIsChunkedOnePiecePerChunkAndTheConnectionStaysUsable() async throws {
        let pieces: [[UInt8]] = [Array("hello".utf8), [], Array(" streamed".utf8), [UInt8](repeating: 0x41, count: 70_000), []]
        try await withServer(responder: StreamingResponder(producer: ListProducer(pieces))) { server in
            let client = try server.client()
            try client.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\nGET /ping HTTP/1.1\r\nHost: t\r\n\r\n")
            let head = try client.readResponse()
            #expect(head.status == 200)
            #expect(head.header("Transfer-Encoding") == "chunked")
            // The handler's Content-Length is the server's to decide, so it is dropped.
            #expect(head.header("Content-Length") == nil)
            let body = try #require(client.readChunkedBody())
            #expect(body.chunkSizes == [5, 9, 70_000])
            #expect(body.bytes == pieces.flatMap { $0 })
            // After the last chunk the next pipelined response follows on the same connection.
            #expect(try client.readResponse().bodyText == "pong")
        }
    }

    @Test func headSendsTheHeadOnlyAndNeverPulls() async throws {
        let producer = PatternProducer(pieces: 3, size: 10)
        try await withServer(responder: StreamingResponder(producer: producer)) { server in
            let client = try server.client()
            try client.send("HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\nGET /ping HTTP/1.1\r\nHost: t\r\n\r\n")
            let head = try client.readResponse(isHead: true)
            #expect(head.status == 200)
            #expect(head.header("Transfer-Encoding") == nil)
            #expect(head.header("Content-Length") == nil)
            #expect(try client.readResponse().bodyText == "pong")
        }
        #expect(producer.pulls.load(ordering: .sequentiallyConsistent) == 0)
    }

    @Test func http10BodyEndsWithTheConnection() async throws {
        let producer = PatternProducer(pieces: 40, size: 4_096)
        try await withServer(responder: StreamingResponder(producer: producer)) { server in
            let client = try server.client()
            try client.send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let head = try client.readResponse()
            #expect(head.header("Transfer-Encoding") == nil)
            #expect(head.header("Content-Length") == nil)
            #expect(head.header("Connection") == "close")
            let (rest, reset) = client.readUntilClosed()
            #expect(!reset)
            #expect(rest == PatternProducer.expected(pieces: 40, size: 4_096))
        }
    }

    @Test func aFailureMidStreamCutsTheChunkedBodyBeforeItsLastChunk() async throws {
        let producer = PatternProducer(pieces: 10, size: 1_000, failAfter: 3)
        try await withServer(responder: StreamingResponder(producer: producer)) { server in
            let client = try server.client()
            try client.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().header("Transfer-Encoding") == "chunked")
            // Three whole chunks may arrive; the last chunk never does.
            #expect(client.readChunkedBody() == nil)
        }
    }

    @Test func aFailureMidStreamOnHTTP10IsAResetNotACleanClose() async throws {
        let producer = PatternProducer(pieces: 10, size: 1_000, failAfter: 3)
        try await withServer(responder: StreamingResponder(producer: producer)) { server in
            let client = try server.client()
            try client.send("GET /stream HTTP/1.0\r\n\r\n")
            _ = try client.readResponse()
            let (rest, reset) = client.readUntilClosed()
            #expect(reset)
            #expect(rest.count <= 3_000)
        }
    }

    /// Constant memory: while the client reads nothing, the server stops pulling once its write buffer and the
    /// socket buffers are full; then every byte arrives, in order.
    @Test func aReaderThatDoesNotReadHoldsThePullsBack() async throws {
        let (pieces, size) = (512, 64 * 1024)  // 32 MiB
        let producer = PatternProducer(pieces: pieces, size: size)
        try await withServer({ $0.writeBufferBytesMax = 64 * 1024 }, responder: StreamingResponder(producer: producer)) { server in
            let client = try RawClient(port: server.port, receiveBufferBytes: 64 * 1024)
            try client.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
            usleep(700_000)
            let pulledWhilePaused = producer.pulls.load(ordering: .sequentiallyConsistent)
            // The kernel buffers some MiB on loopback; far from the 32 MiB a push without backpressure would queue.
            #expect(pulledWhilePaused < 160, "pulled \(pulledWhilePaused) pieces of 64 KiB while the reader slept")
            #expect(try client.readResponse().header("Transfer-Encoding") == "chunked")
            var index = 0
            while let size = client.readChunkSize(), size > 0 {
                guard let chunk = client.read(size + 2) else { break }
                #expect(size == 64 * 1024 && chunk[0] == UInt8(index % 256) && chunk[size - 1] == UInt8(index % 256))
                index += 1
            }
            #expect(index == pieces)
        }
    }
}

/// curl, a real client, over HTTP/1.1, HTTP/1.0 and HTTPS: a streamed body arrives whole, and a cut one makes curl
/// fail (exit status not 0) instead of saving a short body as complete.
@Suite struct StreamedResponseCurlTests {
    /// A new producer per request: `/stream` 1 MiB in 64 pieces, `/broken` fails after 10 pieces.
    struct FreshStreams: HTTPResponder {
        func respond(to request: Request) async -> Response {
            switch request.path {
            case "/stream": .streamed(producer: StreamedResponseTests.PatternProducer(pieces: 64, size: 16_384))
            case "/broken": .streamed(producer: StreamedResponseTests.PatternProducer(pieces: 64, size: 16_384, failAfter: 10))
            default: await TestResponder().respond(to: request)
            }
        }
    }

    /// "<curl exit status> <http code> <bytes saved>".
    static func fetch(_ url: String, _ extra: [String] = []) throws -> String {
        let result = try runProcess(RealClientTests.curl!, ["-sS", "-k", "-o", "/dev/null", "-w", "%{http_code} %{size_download}"]
            + extra + [url])
        return "\(result.status) \(result.output)"
    }

    @Test(.enabled(if: TLSTests.openssl != nil && RealClientTests.curl != nil)) func curlOverHTTPAndHTTPS() async throws {
        let directory = try RealClientTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let generated = try runProcess(TLSTests.openssl!, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                                                          "-out", certificate, "-days", "1", "-subj", "/CN=localhost"])
        try #require(generated.status == 0, "\(generated.error)")
        for tls in [false, true] {
            try await withServer({ if tls { $0.tls = TLSConfiguration(certificatePath: certificate, privateKeyPath: key) } },
                                 responder: FreshStreams()) { server in
                let base = "\(tls ? "https" : "http")://127.0.0.1:\(server.port)"
                let whole = try Self.fetch("\(base)/stream")
                let whole10 = try Self.fetch("\(base)/stream", ["--http1.0"])
                let cut = try Self.fetch("\(base)/broken")
                let cut10 = try Self.fetch("\(base)/broken", ["--http1.0"])
                #expect(whole == "0 200 1048576")
                #expect(whole10 == "0 200 1048576")
                // On HTTPS no close_notify follows a cut: not even a close-delimited body looks complete.
                #expect(!cut.hasPrefix("0 "), "\(cut)")
                #expect(!cut10.hasPrefix("0 "), "\(cut10)")
            }
        }
    }
}

extension RawClient {
    convenience init(port: Int, receiveBufferBytes: Int) throws {
        try self.init(port: port)
        var bytes = Int32(receiveBufferBytes)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, socklen_t(MemoryLayout<Int32>.size))
    }
}
