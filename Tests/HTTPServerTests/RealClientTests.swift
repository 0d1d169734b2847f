import Foundation
import AtlasTestSupport
import Kernel
import Testing
@testable import HTTPServer

/// Real HTTP clients (curl, Python requests and h11) against the running server, as subprocesses.
@Suite struct RealClientTests {
    static let curl = which("curl")
    /// Needs `pip install h11 requests`; the test is skipped when no python3 has both.
    static let python = pythonWithHTTPClients()

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("http-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test(.enabled(if: curl != nil)) func curlReusesTheConnectionForTwoURLs() async throws {
        try await withServer { server in
            let base = "http://127.0.0.1:\(server.port)"
            let result = try runProcess(Self.curl!, ["-sS", "-v", "-w", "\n%{http_code} %{num_connects}\n",
                                                     "\(base)/ping", "\(base)/request-id"])
            #expect(result.status == 0, "\(result.error)")
            #expect(result.output.contains("pong\n200 1"))
            #expect(result.output.contains("req_"))
            #expect(result.output.hasSuffix("200 0\n"))  // second transfer opened no new connection
            #expect(result.error.contains("Re-using existing connection") || result.error.contains("left intact"))
        }
    }

    @Test(.enabled(if: curl != nil)) func curlChunkedUpload() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("upload.bin")
        try Data(repeating: 0x61, count: 200_000).write(to: file)
        try await withServer { server in
            let result = try runProcess(Self.curl!, ["-sS", "-v", "-H", "Transfer-Encoding: chunked", "--data-binary",
                                                     "@\(file.path)", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                                                     "http://127.0.0.1:\(server.port)/echo"])
            #expect(result.status == 0, "\(result.error)")
            #expect(result.output == "200 200000")
            #expect(result.error.contains("Transfer-Encoding: chunked"))
        }
    }

    @Test(.enabled(if: curl != nil)) func curlExpect100Continue() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("upload.bin")
        try Data(repeating: 0x62, count: 50_000).write(to: file)
        try await withServer { server in
            let result = try runProcess(Self.curl!, ["-sS", "-v", "--expect100-timeout", "20", "-H", "Expect: 100-continue",
                                                     "--data-binary", "@\(file.path)", "-o", "/dev/null",
                                                     "-w", "%{http_code} %{size_download}",
                                                     "http://127.0.0.1:\(server.port)/echo"])
            #expect(result.status == 0, "\(result.error)")
            #expect(result.output == "200 50000")
            #expect(result.error.contains("HTTP/1.1 100 Continue"))
        }
    }

    @Test(.enabled(if: python != nil)) func pythonRequestsAndH11() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let script = directory.appendingPathComponent("client.py")
        try Self.pythonClient.write(to: script, atomically: true, encoding: .utf8)
        try await withServer { server in
            let result = try runProcess(Self.python!, [script.path, String(server.port)], timeoutSeconds: 60)
            #expect(result.status == 0, "\(result.output)\n\(result.error)")
            #expect(result.output.contains("requests ok"))
            #expect(result.output.contains("h11 ok"))
        }
    }

    static let pythonClient = """
    import socket, sys
    port = int(sys.argv[1])
    base = f"http://127.0.0.1:{port}"

    import requests
    with requests.Session() as session:
        r = session.get(base + "/ping", timeout=20)
        assert r.status_code == 200 and r.text == "pong", r
        assert r.headers["X-Request-Id"].startswith("req_")
        r = session.post(base + "/echo", data=(b"part%d-" % i for i in range(100)), timeout=20)  # chunked
        assert r.status_code == 200 and r.content == b"".join(b"part%d-" % i for i in range(100)), r.content[:50]
        r = session.post(base + "/echo", json={"a": 1}, timeout=20)
        assert r.json() == {"a": 1}
        r = session.head(base + "/ping", timeout=20)
        assert r.status_code == 200 and r.headers["Content-Length"] == "4" and r.content == b""
        r = session.get(base + "/nope", headers={"X-Request-Id": "py-123"}, timeout=20)
        assert r.status_code == 404 and r.headers["X-Request-Id"] == "py-123"
    print("requests ok")

    import h11
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    conn = h11.Connection(our_role=h11.CLIENT)

    def send(event):
        data = conn.send(event)
        if data:
            sock.sendall(data)

    def receive():
        events = []
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(sock.recv(65536))
                continue
            events.append(event)
            if isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                return events

    for index in range(3):
        body = b"h11 body %d" % index
        send(h11.Request(method="POST", target="/echo",
                         headers=[("Host", "localhost"), ("Content-Length", str(len(body)))]))
        send(h11.Data(data=body))
        send(h11.EndOfMessage())
        events = receive()
        response = events[0]
        assert response.status_code == 200, response
        data = b"".join(e.data for e in events if isinstance(e, h11.Data))
        assert data == body, data
        assert conn.our_state is h11.DONE and conn.their_state is h11.DONE
        conn.start_next_cycle()
    sock.close()
    print("h11 ok")
    """
}

/// HTTPS with a self-signed certificate made by `openssl req`, exercised with `curl -k`.
@Suite struct TLSTests {
    static let openssl = which("openssl")

    @Test(.enabled(if: openssl != nil && RealClientTests.curl != nil)) func httpsWithCurl() async throws {
        let directory = try RealClientTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let generated = try runProcess(Self.openssl!, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                                                       "-out", certificate, "-days", "1", "-subj", "/CN=localhost"])
        try #require(generated.status == 0, "\(generated.error)")
        let upload = directory.appendingPathComponent("upload.bin")
        try Data(repeating: 0x63, count: 300_000).write(to: upload)
        try await withServer({ $0.tls = TLSConfiguration(certificatePath: certificate, privateKeyPath: key) }) { server in
            let base = "https://127.0.0.1:\(server.port)"
            let pings = try runProcess(RealClientTests.curl!, ["-sS", "-k", "-w", " %{http_code} %{num_connects}\n",
                                                               "\(base)/ping", "\(base)/ping"])
            #expect(pings.status == 0, "\(pings.error)")
            #expect(pings.output == "pong 200 1\npong 200 0\n")
            // A 1 MiB response and a 300 kB upload exercise partial non-blocking SSL reads and writes.
            let big = try runProcess(RealClientTests.curl!, ["-sS", "-k", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                                                             "\(base)/big"])
            #expect(big.output == "200 1048576", "\(big.error)")
            let echo = try runProcess(RealClientTests.curl!, ["-sS", "-k", "--data-binary", "@\(upload.path)", "-o", "/dev/null",
                                                              "-w", "%{http_code} %{size_download}", "\(base)/echo"])
            #expect(echo.output == "200 300000", "\(echo.error)")
        }
    }

    @Test func missingCertificateFailsToStart() {
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.tls = TLSConfiguration(certificatePath: "/nonexistent/cert.pem", privateKeyPath: "/nonexistent/key.pem")
        let server = HTTPServer(configuration: configuration, responder: TestResponder())
        #expect(throws: HTTPServerStartError.self) { try server.start() }
    }
}
