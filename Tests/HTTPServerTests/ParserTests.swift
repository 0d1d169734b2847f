import AtlasTestSupport
import Kernel
import Testing
@testable import HTTPServer

/// Feeds bytes to a parser the way a connection does and collects the events.
struct ParserHarness {
    var parser: HTTPRequestParser
    var buffer: [UInt8] = []

    init(limits: ParserLimits = ParserLimits(requestLineBytesMax: 256, headerSectionBytesMax: 1024,
                                             headerCountMax: 10, bodyBytesMax: 1000, chunkLineBytesMax: 64)) {
        parser = HTTPRequestParser(limits: limits)
    }

    /// Appends bytes and parses as far as possible.
    mutating func feed(_ bytes: [UInt8]) -> [ParseEvent] {
        buffer.append(contentsOf: bytes)
        var events: [ParseEvent] = []
        while !buffer.isEmpty {
            let (consumed, event) = buffer.withUnsafeBytes { parser.parse($0) }
            buffer.removeFirst(consumed)
            if case .needMore = event { break }
            events.append(event)
            if case .failure = event { break }
        }
        return events
    }

    mutating func feed(_ text: String) -> [ParseEvent] { feed(Array(text.utf8)) }

    static func requests(_ events: [ParseEvent]) -> [(RequestHead, [UInt8])] {
        events.compactMap { if case .request(let head, let body) = $0 { return (head, body) } else { return nil } }
    }

    static func failure(_ events: [ParseEvent]) -> HTTPServerError? {
        for event in events { if case .failure(let error) = event { return error } }
        return nil
    }
}

@Suite struct ParserTests {
    @Test func parsesSimpleGet() throws {
        var harness = ParserHarness()
        let events = harness.feed("GET /v1/items?x=1 HTTP/1.1\r\nHost: example\r\nX-Thing:  spaced value \t\r\n\r\n")
        let requests = ParserHarness.requests(events)
        try #require(requests.count == 1)
        let head = requests[0].0
        #expect(head.method == .get)
        #expect(head.target == "/v1/items?x=1")
        #expect(head.version == .http11)
        #expect(head.keepAlive)
        #expect(head.headers["x-thing"] == "spaced value")
        #expect(head.framing == .none)
        #expect(harness.buffer.isEmpty)
    }

    @Test func parsesPipelinedRequestsInOneBuffer() {
        var harness = ParserHarness()
        let events = harness.feed("GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET /c HTTP/1.1\r\nHost: h\r\n\r\n")
        let requests = ParserHarness.requests(events)
        #expect(requests.map(\.0.target) == ["/a", "/b", "/c"])
        #expect(requests[1].1 == Array("abc".utf8))
    }

    @Test func parsesByteByByte() {
        var harness = ParserHarness()
        let text = "\r\nPOST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4;name=value\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: 1\r\n\r\n"
        var events: [ParseEvent] = []
        for byte in Array(text.utf8) { events += harness.feed([byte]) }
        let requests = ParserHarness.requests(events)
        #expect(requests.count == 1)
        #expect(requests.first?.1 == Array("Wikipedia".utf8))
        #expect(ParserHarness.failure(events) == nil)
    }

    @Test func chunkedBodyWithExtensionsAndTrailers() {
        var harness = ParserHarness()
        let events = harness.feed("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\nA ; ext=\"q\"\r\n0123456789\r\n0\r\nDigest: x\r\nOther: y\r\n\r\n")
        #expect(ParserHarness.requests(events).first?.1 == Array("0123456789".utf8))
    }

    @Test func headCompleteIsReportedBeforeTheBody() {
        var harness = ParserHarness()
        let events = harness.feed("PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        guard case .headComplete(let head)? = events.first else {
            Issue.record("expected headComplete")
            return
        }
        #expect(head.expectsContinue)
        #expect(ParserHarness.requests(harness.feed("data")).first?.1 == Array("data".utf8))
    }

    @Test func absoluteFormIsReducedToOriginForm() {
        var harness = ParserHarness()
        let events = harness.feed("GET http://example.com:8080/a/b?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\nGET HTTPS://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n")
        #expect(ParserHarness.requests(events).map(\.0.target) == ["/a/b?q=1", "/"])
    }

    @Test func http10KeepAliveOnlyWhenAsked() {
        var harness = ParserHarness()
        let events = harness.feed("GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        #expect(ParserHarness.requests(events).map(\.0.keepAlive) == [false, true, false])
    }

    @Test func identicalDuplicateContentLengthIsAccepted() {
        var harness = ParserHarness()
        let events = harness.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok")
        #expect(ParserHarness.requests(events).first?.1 == Array("ok".utf8))
    }

    /// Malformed input and the status the server must answer with.
    static let malformed: [(String, String, Int)] = [
        ("CL and TE", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("TE and CL", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400),
        ("conflicting CL list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\n", 400),
        ("duplicate different CL", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
        ("signed CL", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", 400),
        ("CL with space", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5 5\r\n\r\n", 400),
        ("CL empty element", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5,,5\r\n\r\n", 400),
        ("TE gzip chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400),
        ("TE chunked gzip", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
        ("TE chunked twice", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("TE identity", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n", 400),
        ("TE chunked-false", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", 400),
        ("TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("bad chunk size", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ("negative chunk size", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", 400),
        ("0x chunk size", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n", 400),
        ("overflowing chunk size", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n", 400),
        ("chunk size bare LF", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n", 400),
        ("chunk data overrun", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n", 400),
        ("chunk exceeds body limit", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n", 413),
        ("obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n two\r\n\r\n", 400),
        ("space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400),
        ("tab before colon", "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", 400),
        ("bad header name", "GET / HTTP/1.1\r\nHost: h\r\nX(A): 1\r\n\r\n", 400),
        ("empty header name", "GET / HTTP/1.1\r\nHost: h\r\n: 1\r\n\r\n", 400),
        ("header without colon", "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400),
        ("bare LF line ends", "GET / HTTP/1.1\nHost: h\n\n", 400),
        ("bare LF in headers", "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", 400),
        ("bare CR in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400),
        ("NUL in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\u{0}b\r\n\r\n", 400),
        ("control in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\u{1}b\r\n\r\n", 400),
        ("DEL in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\u{7F}b\r\n\r\n", 400),
        ("invalid method", "G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("lower-case version", "GET / http/1.1\r\nHost: h\r\n\r\n", 400),
        ("malformed version", "GET / HTTP/1.1x\r\nHost: h\r\n\r\n", 400),
        ("HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
        ("HTTP/0.9 style", "GET /\r\n\r\n", 400),
        ("double space", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("space in target", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("non-ASCII target", "GET /caf\u{E9} HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("authority-form", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n", 400),
        ("asterisk with GET", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("missing Host", "GET / HTTP/1.1\r\n\r\n", 400),
        ("duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("unknown expectation", "POST / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\n", 417),
        ("body too large", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n", 413),
        ("target too long", "GET /" + String(repeating: "a", count: 400) + " HTTP/1.1\r\nHost: h\r\n\r\n", 414),
        ("request line garbage too long", String(repeating: "A", count: 400), 400),
        ("header section too large", "GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "v", count: 2000) + "\r\n\r\n", 431),
        ("too many headers", "GET / HTTP/1.1\r\nHost: h\r\n" + (0..<11).map { "X-\($0): v\r\n" }.joined() + "\r\n", 431),
        ("binary garbage", "\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\u{00}\u{01}\u{FC}\u{03}\u{03}\r\n\r\n", 400),
    ]

    @Test(arguments: ParserTests.malformed.indices)
    func rejectsMalformedInput(index: Int) {
        let (name, text, status) = ParserTests.malformed[index]
        var harness = ParserHarness()
        let events = harness.feed(text)
        #expect(ParserHarness.failure(events)?.status == status, "\(name)")
    }

    @Test func requestIdSanity() {
        #expect(RequestIdentity.isSane("abc-123_X.y:z"))
        #expect(!RequestIdentity.isSane(""))
        #expect(!RequestIdentity.isSane("has space"))
        #expect(!RequestIdentity.isSane(String(repeating: "a", count: 129)))
        #expect(RequestIdentity.isSane(String(repeating: "a", count: 128)))
        #expect(!RequestIdentity.isSane("é"))
    }

    @Test func dateHeaderIsIMFFixdate() {
        #expect(String(decoding: DateHeaderCache.imfFixdate(784_111_777), as: UTF8.self) == "Sun, 06 Nov 1994 08:49:37 GMT")
    }

    @Test func connectionCloseIsAddedOnceForShutdown() {
        let framing = ResponseSerializer.Framing(isHeadRequest: false, keepAlive: true, http10KeepAlive: false,
                                                 requestId: "r")
        let bytes = ResponseSerializer.serialize(Response(status: 200, body: Array("a\r\n\r\nb".utf8)), framing: framing).bytes
        let closed = ResponseSerializer.addingConnectionClose(to: bytes)
        let text = String(decoding: closed, as: UTF8.self)
        #expect(text.hasSuffix("Connection: close\r\n\r\na\r\n\r\nb"))
        #expect(ResponseSerializer.addingConnectionClose(to: closed) == closed)
        #expect(ResponseSerializer.addingConnectionClose(to: ResponseSerializer.continueBytes) == ResponseSerializer.continueBytes)
    }

    @Test func serializerOwnsFramingHeaders() {
        let response = Response(status: 200, headers: ["Content-Length": "999", "X-A": "1", "X-Bad": "a\r\nb"],
                                body: Array("hello".utf8))
        let framing = ResponseSerializer.Framing(isHeadRequest: true, keepAlive: true, http10KeepAlive: false,
                                                 requestId: "rid")
        let text = String(decoding: ResponseSerializer.serialize(response, framing: framing).bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.contains("Content-Length: 5\r\n"))
        #expect(!text.contains("999"))
        #expect(!text.contains("X-Bad"))
        #expect(text.contains("X-Request-Id: rid\r\n"))
        #expect(text.hasSuffix("\r\n\r\n"))
    }
}
