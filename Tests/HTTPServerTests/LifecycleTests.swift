import Foundation
import AtlasTestSupport
import Kernel
import Testing
@testable import HTTPServer

#if canImport(Glibc)
import Glibc
#endif

@Suite struct TimeoutTests {
    @Test func slowHeadGets408ThenClose() async throws {
        try await withServer({ $0.headerReadTimeoutSeconds = 1 }) { server in
            let client = try server.client()
            // A slowloris: a byte now and then, never finishing the head.
            for byte in Array("GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ".utf8).prefix(6) {
                try client.send([byte])
                usleep(150_000)
            }
            let response = try client.readResponse()
            #expect(response.status == 408)
            #expect(response.bodyText.contains("REQUEST_TIMEOUT"))
            #expect(client.readsEOF())
        }
    }

    @Test func slowBodyGets408ThenClose() async throws {
        try await withServer({ $0.bodyReadTimeoutSeconds = 1 }) { server in
            let client = try server.client()
            try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
            let response = try client.readResponse()
            #expect(response.status == 408)
            #expect(client.readsEOF())
        }
    }

    @Test func idleKeepAliveConnectionIsClosedSilently() async throws {
        try await withServer({ $0.idleTimeoutSeconds = 1 }) { server in
            let client = try server.client()
            try client.send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            let started = Date()
            #expect(client.readsEOF())  // no 408: just a close
            #expect(Date().timeIntervalSince(started) >= 0.5)
        }
    }

    @Test func silentFreshConnectionIsClosed() async throws {
        try await withServer({ $0.headerReadTimeoutSeconds = 1 }) { server in
            let client = try server.client()
            #expect(client.readsEOF())
        }
    }
}

@Suite struct ConcurrencyTests {
    @Test func hungHandlerDoesNotBlockOtherConnections() async throws {
        try await withServer({
            $0.eventLoopCount = 1
            $0.shutdownGraceSeconds = 1
        }) { server in
            let stuck = try server.client()
            try stuck.send("GET /hang HTTP/1.1\r\nHost: t\r\n\r\n")
            usleep(100_000)
            for _ in 0..<5 {
                let other = try server.client()
                try other.send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(try other.readResponse().bodyText == "pong")
            }
        }
    }

    @Test func connectionsBeyondTheLimitAreRefused() async throws {
        try await withServer({ $0.connectionsMax = 2 }) { server in
            let first = try server.client()
            let second = try server.client()
            for client in [first, second] {
                try client.send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(try client.readResponse().status == 200)
            }
            let third = try server.client()
            let refused = try third.readResponse()
            #expect(refused.status == 503)
            #expect(third.readsEOF())
            // Closing one frees a place.
            try first.send("GET /ping HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            _ = try first.readResponse()
            #expect(first.readsEOF())
            var admitted = false
            for _ in 0..<50 where !admitted {
                let fourth = try server.client()
                try? fourth.send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n")
                admitted = (try? fourth.readResponse().status) == 200
                if !admitted { usleep(100_000) }
            }
            #expect(admitted)
        }
    }

    @Test func multipleLoopsShareThePort() async throws {
        try await withServer({ $0.eventLoopCount = 3 }) { server in
            for _ in 0..<20 {
                let client = try server.client()
                try client.send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(try client.readResponse().bodyText == "pong")
            }
        }
    }
}

@Suite struct ShutdownTests {
    @Test func gracefulShutdownFinishesInFlightRequest() async throws {
        let server = try TestServer()
        let port = server.port
        let inFlight = Task {
            try await onThread { () throws -> (Int, String?, Bool) in
                let client = try RawClient(port: port)
                try client.send("GET /slow?ms=800&tag=inflight HTTP/1.1\r\nHost: t\r\n\r\n")
                let response = try client.readResponse()
                #expect(response.header("Connection") == "close")
                return (response.status, response.bodyText, client.readsEOF())
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        let idle = try server.client()  // an idle keep-alive connection is closed at once
        try await Task.sleep(for: .milliseconds(100))
        let started = Date()
        await server.stop()
        let (status, body, closed) = try await inFlight.value
        #expect(status == 200)
        #expect(body == "slow inflight")
        #expect(closed)
        #expect(try await onThread { idle.readsEOF() })
        #expect(Date().timeIntervalSince(started) < 8)
        // No longer accepting.
        #expect(throws: (any Error).self) {
            let late = try RawClient(port: port, receiveTimeoutSeconds: 2)
            try late.send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n")
            _ = try late.readResponse()
        }
    }

    @Test func shutdownGraceBoundsAHungHandler() async throws {
        let server = try TestServer { $0.shutdownGraceSeconds = 1 }
        let client = try server.client()
        try await onThread { try client.send("GET /hang HTTP/1.1\r\nHost: t\r\n\r\n") }
        try await Task.sleep(for: .milliseconds(200))
        let started = Date()
        await server.stop()
        #expect(Date().timeIntervalSince(started) < 6)
        #expect(try await onThread { client.readsEOF() })
    }

    @Test func sigtermTriggersGracefulShutdown() async throws {
        let server = try TestServer()
        HTTPServer.installSignalHandlers(for: server.server)
        let started = Date()
        kill(getpid(), SIGTERM)
        await server.server.run()  // returns once the loops have stopped
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(server.server.port == nil)
    }
}

/// Collects log lines written through a pipe.
final class LogCapture: Sendable {
    let logger: Logger
    private let readFD: Int32
    private let writeFD: Int32

    init() {
        var fds: [Int32] = [0, 0]
        _ = pipe(&fds)
        readFD = fds[0]
        writeFD = fds[1]
        _ = fcntl(readFD, F_SETFL, O_NONBLOCK)
        logger = Logger(label: "http", writer: FileHandleWriter(descriptor: writeFD))
    }

    func text() -> String {
        var collected: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            collected += chunk[0..<count]
        }
        return String(decoding: collected, as: UTF8.self)
    }

    deinit {
        close(readFD)
        close(writeFD)
    }
}

@Suite struct AccessLogTests {
    @Test func accessLogHasFieldsAndNoSecrets() async throws {
        let capture = LogCapture()
        try await withServer(logger: capture.logger) { server in
            let client = try server.client()
            try client.send("GET /ping?token=querysecret HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer authsecret\r\n"
                + "X-Api-Key: keysecret\r\nCookie: session=cookiesecret\r\nX-Request-Id: log-test-1\r\n\r\n")
            _ = try client.readResponse()
            try client.send("GET / HTTP/1.1\r\nHost : t\r\nAuthorization: Bearer authsecret\r\n\r\n")
            _ = try client.readResponse()
        }
        try await Task.sleep(for: .milliseconds(100))
        let text = capture.text()
        let lines = text.split(separator: "\n")
        #expect(lines.count >= 2)
        for secret in ["querysecret", "authsecret", "keysecret", "cookiesecret", "token="] {
            #expect(!text.contains(secret), "log leaked \(secret)")
        }
        let first = try JSONDecoder().decode(JSONValue.self, from: Data(lines[0].utf8))
        #expect(first["method"]?.stringValue == "GET")
        #expect(first["path"]?.stringValue == "/ping")
        #expect(first["status"]?.intValue == 200)
        #expect(first["request_id"]?.stringValue == "log-test-1")
        #expect(first["remote"]?.stringValue?.hasPrefix("127.0.0.1:") == true)
        #expect(first["bytes_out"]?.intValue ?? 0 > 0)
        #expect(first["duration_ms"] != nil)
        let second = try JSONDecoder().decode(JSONValue.self, from: Data(lines[1].utf8))
        #expect(second["status"]?.intValue == 400)
    }
}
