import AtlasTestSupport
import Foundation
import Kernel
import Testing
@testable import HTTPClient

/// The client against a real receiver (Python's http.server) on loopback, which the tests open with the
/// allow-list; the SSRF cases use a client without it.
@Suite struct HTTPClientTests {
    static let loopback = [CIDR("127.0.0.0/8")!, CIDR("::1")!]

    func client(timeoutSeconds: Double = 15, allowLoopback: Bool = true, extraCA: String? = nil) throws -> HTTPClient {
        var configuration = HTTPClientConfiguration(allowedNetworks: allowLoopback ? Self.loopback : [],
                                                    extraTrustedCertificatesPath: extraCA)
        configuration.limits.requestTimeoutSeconds = timeoutSeconds
        configuration.limits.responseBodyBytesMax = 1_000
        return try HTTPClient(configuration: configuration)
    }

    func post(_ client: HTTPClient, _ url: String) async throws(OutboundHTTPError) -> OutboundResponse {
        guard let parsed = OutboundURL.parse(url) else { throw .invalidURL(url) }
        return try await client.send(OutboundRequest(url: parsed, headers: ["X-Test": "1"], body: Array("{}".utf8)))
    }

    /// A connection given back after the taker read its clock is not idle at all (the subtraction overflowed
    /// and crashed the server during the webhook crash test).
    @Test func aConnectionGivenBackAfterTheClockWasReadIsFresh() {
        #expect(HTTPClient.idleForNanos(now: 1_000, lastUsedNanos: 1_500) == 0)
        #expect(HTTPClient.idleForNanos(now: 1_500, lastUsedNanos: 1_000) == 500)
        #expect(HTTPClient.idleForNanos(now: 7, lastUsedNanos: 7) == 0)
    }

    @Test func postsAndReusesTheConnection() async throws {
        let receiver = try WebhookReceiver()
        let client = try client()
        let first = try await post(client, receiver.url("/ok"))
        #expect(first.status == 200 && first.body == Array("ok".utf8))
        #expect(client.idleConnectionCount == 1)
        _ = try await post(client, receiver.url("/ok"))
        let received = try receiver.requests()
        #expect(received.count == 2)
        #expect(received[0].header("X-Test") == "1" && received[0].body == Array("{}".utf8))
        #expect(received[0].header("Host") == "127.0.0.1:\(receiver.port)")
    }

    @Test func redirectsAreAnswersNotFollowed() async throws {
        let receiver = try WebhookReceiver()
        let response = try await post(try client(), receiver.url("/redirect"))
        #expect(response.status == 302)
        #expect(try receiver.requests().count == 1)
    }

    @Test func longResponseBodiesAreCut() async throws {
        let receiver = try WebhookReceiver()
        let response = try await post(try client(), receiver.url("/big"))
        #expect(response.status == 200 && response.body.count == 1_000 && response.bodyTruncated)
    }

    @Test func timesOut() async throws {
        let receiver = try WebhookReceiver()
        let started = Date()
        await #expect(throws: OutboundHTTPError.timedOut) { _ = try await post(try client(timeoutSeconds: 1), receiver.url("/slow?s=20")) }
        #expect(Date().timeIntervalSince(started) < 15, "the 1 s deadline ends the wait long before the 20 s answer")
    }

    @Test func connectionRefused() async throws {
        let port = try WebhookReceiver.closedPort()
        await #expect(throws: OutboundHTTPError.connectionRefused) {
            _ = try await post(try client(), "http://127.0.0.1:\(port)/ok")
        }
    }

    @Test(arguments: ["http://127.0.0.1:9/x", "http://[::1]:9/x", "http://10.0.0.7/x", "http://169.254.169.254/latest/meta-data",
                      "http://localhost:9/x", "http://192.168.0.1/", "http://[::ffff:127.0.0.1]:9/"])
    func refusesInternalDestinationsAtConnect(_ url: String) async throws {
        let guarded = try client(allowLoopback: false)
        await #expect {
            _ = try await post(guarded, url)
        } throws: { error in
            if case .destinationForbidden = error as? OutboundHTTPError { return true }
            return false
        }
        let parsed = try #require(OutboundURL.parse(url))
        await #expect {
            try await guarded.checkDestination(parsed, requireHTTPS: false)
        } throws: { error in
            if case .destinationForbidden = error as? OutboundHTTPError { return true }
            return false
        }
    }

    @Test func httpsIsRequiredWhenAsked() async throws {
        let parsed = try #require(OutboundURL.parse("http://example.com/hook"))
        await #expect(throws: OutboundHTTPError.self) { try await client().checkDestination(parsed, requireHTTPS: true) }
    }

    /// A self-signed certificate is refused by default (verification against the system store) and
    /// accepted when configured as an extra trusted certificate; the host name must match it too.
    @Test func selfSignedCertificateRefusedUnlessConfigured() async throws {
        let directory = NSTemporaryDirectory() + "atlas-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificate = directory + "/cert.pem"
        let key = directory + "/key.pem"
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate,
                             "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]
        let output = Pipe()
        openssl.standardOutput = output
        openssl.standardError = output
        try openssl.run()
        _ = output.fileHandleForReading.readDataToEndOfFile()  // to its exit (no waitUntilExit: see WebhookReceiver.stop)
        #expect(FileManager.default.fileExists(atPath: certificate) && FileManager.default.fileExists(atPath: key))
        let receiver = try WebhookReceiver(tls: (certificate, key))
        await #expect {
            _ = try await post(try client(), receiver.url("/ok", scheme: "https"))
        } throws: { error in
            if case .tls = error as? OutboundHTTPError { return true }
            return false
        }
        let trusting = try client(extraCA: certificate)
        let response = try await post(trusting, receiver.url("/ok", scheme: "https"))
        #expect(response.status == 200)
        // By name: SNI and host name verification against the certificate's DNS entry.
        let byName = try await post(trusting, receiver.url("/ok", scheme: "https", host: "localhost"))
        #expect(byName.status == 200)
    }
}
