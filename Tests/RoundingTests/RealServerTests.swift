import AtlasTestSupport
import Foundation
import HTTPServer
import Kernel
import Testing

/// The quickstart acceptance flow over a real socket: Atlas's HTTP server in front of the same
/// router (Auth guard, idempotency, Rounding routes, PostgreSQL) that the in-process tests use.
@Suite struct RealServerTests {
    @Test func quickstartSaleAndErrorsOverTCP() async throws {
        let fixture = try await RoundingFixture.make()
        let merchant = try await fixture.newMerchant()
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.eventLoopCount = 1
        configuration.accessLogEnabled = false
        let server = HTTPServer(configuration: configuration, responder: fixture.client.responder)
        let port = try server.start()
        let running = Task { await server.run() }
        defer { running.cancel() }

        let sale = RoundingFixture.sale(merchant.id).serialized()
        let responses = try await onThread {
            let client = try RawClient(port: port)
            let json = [("Content-Type", "application/json")]
            let created = try client.request("POST", "/api/v1/transaction",
                                             headers: json + [("x-api-key", merchant.merchant), ("Idempotency-Key", "rt-1")],
                                             body: sale)
            let replayed = try client.request("POST", "/api/v1/transaction",
                                              headers: json + [("x-api-key", merchant.merchant), ("Idempotency-Key", "rt-1")],
                                              body: sale)
            let unauthenticated = try client.request("POST", "/api/v1/transaction", headers: json, body: sale)
            let malformed = try client.request("POST", "/api/v1/transaction",
                                               headers: json + [("x-api-key", merchant.merchant)], body: Array("{".utf8))
            return [created, replayed, unauthenticated, malformed]
        }
        await server.shutdown()

        let created = responses[0]
        #expect(created.status == 200)
        #expect(created.header("X-Request-Id")?.hasPrefix("req_") == true)
        #expect(created.header("X-RateLimit-Limit") == "1000")
        let calculation = created.bodyJSON?["transaction"]?["calculation"]
        #expect(calculation?["ledger_total_cents"] == 723)
        #expect(calculation?["cash_total_cents"] == 725)
        #expect(calculation?["rounding_delta_cents"] == 2)
        #expect(created.bodyJSON?["transaction"]?["chainPosition"] == 1)
        #expect(responses[1].body == created.body)
        #expect(responses[1].header("Idempotent-Replayed") == "true")
        #expect(responses[2].status == 401)
        #expect(responses[2].bodyJSON == ["error": "UNAUTHORIZED", "message": "Invalid or missing API key"])
        #expect(responses[3].status == 400)
        #expect(responses[3].bodyJSON?["error"] == "VALIDATION_ERROR")
    }
}
