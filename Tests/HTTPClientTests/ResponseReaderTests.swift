import Kernel
import Testing
@testable import HTTPClient

@Suite struct ResponseReaderTests {
    func reader(bodyMax: Int = 1_024) -> ResponseReader { ResponseReader(headerBytesMax: 1_024, bodyBytesMax: bodyMax) }

    @Test func contentLengthInPieces() throws {
        var reader = reader()
        #expect(try reader.feed(Array("HTTP/1.1 200 OK\r\nContent-Le".utf8)) == nil)
        #expect(try reader.feed(Array("ngth: 5\r\n\r\nhel".utf8)) == nil)
        let (response, reusable) = try #require(try reader.feed(Array("lo".utf8)))
        #expect(response.status == 200 && response.body == Array("hello".utf8) && reusable && !response.bodyTruncated)
    }

    @Test func chunkedWithTrailers() throws {
        var reader = reader()
        let text = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n"
        let (response, reusable) = try #require(try reader.feed(Array(text.utf8)))
        #expect(response.status == 201 && response.body == Array("abcde".utf8) && reusable)
    }

    @Test func untilCloseAndConnectionClose() throws {
        var reader = reader()
        #expect(try reader.feed(Array("HTTP/1.1 500 Oops\r\nConnection: close\r\n\r\npartial".utf8)) == nil)
        let (response, reusable) = try reader.finish()
        #expect(response.status == 500 && response.body == Array("partial".utf8) && !reusable)
    }

    @Test func interimResponsesAreSkipped() throws {
        var reader = reader()
        let text = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
        let (response, _) = try #require(try reader.feed(Array(text.utf8)))
        #expect(response.status == 204 && response.body.isEmpty)
    }

    @Test func longBodiesAreCutAtTheLimitAndNotReused() throws {
        var reader = reader(bodyMax: 4)
        let (response, reusable) = try #require(try reader.feed(Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789".utf8)))
        #expect(response.body == Array("0123".utf8) && response.bodyTruncated && !reusable)
    }

    @Test(arguments: ["HTTP/2 200\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "garbage\r\n\r\n",
                      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n",
                      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"])
    func malformedResponsesFail(_ text: String) {
        var reader = reader()
        #expect(throws: OutboundHTTPError.self) { _ = try reader.feed(Array(text.utf8)) }
    }

    @Test func oversizedHeadersFail() {
        var reader = reader()
        #expect(throws: OutboundHTTPError.self) {
            _ = try reader.feed(Array(("HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: 2_000)).utf8))
        }
    }

    @Test func closedBeforeAnyResponseFails() {
        var reader = reader()
        #expect(throws: OutboundHTTPError.self) { _ = try reader.finish() }
    }
}
