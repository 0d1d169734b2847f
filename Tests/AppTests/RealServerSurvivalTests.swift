import AtlasTestSupport
import Foundation
import HTTPServer
import Kernel
import Testing

/// The hostile inputs that could kill a process (deep nesting, unterminated nesting, NUL, huge
/// strings), sent over a real socket to Atlas's HTTP server in front of the whole app router: each
/// gets a 4xx and the server keeps serving afterwards.
@Suite struct RealServerSurvivalTests {
    @Test func hostileBodiesOverTCPGet4xxAndTheServerSurvives() async throws {
        let harness = try await AppHarness.make()
        defer { harness.close() }
        let key = try await harness.secretKey()
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.eventLoopCount = 1
        configuration.accessLogEnabled = false
        let server = HTTPServer(configuration: configuration, responder: harness.router)
        let port = try server.start()
        let running = Task { await server.run() }
        defer { running.cancel() }

        let depth = 10_000
        let bodies: [[UInt8]] = [
            Array((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8),
            Array((String(repeating: "{\"a\":", count: depth) + "1" + String(repeating: "}", count: depth)).utf8),
            Array(String(repeating: "[", count: 200_000).utf8),
            Array("{\"type\":\"SALE\",\"amount\":100,\"currency\":\"NZD\",\"referenceId\":\"a\\u0000b\"}".utf8),
            Array("{\"type\":\"\(String(repeating: "x", count: 100_000))\"}".utf8),
        ]
        let statuses = try await onThread {
            var statuses: [Int] = []
            for body in bodies {
                let client = try RawClient(port: port)
                let response = try client.request("POST", "/v1/transaction/sale",
                                                  headers: [("Content-Type", "application/json"), ("X-Api-Key", key)], body: body)
                statuses.append(response.status)
            }
            let client = try RawClient(port: port)
            statuses.append(try client.request("GET", "/v1/transaction/%00", headers: [("X-Api-Key", key)], body: []).status)
            statuses.append(try client.request("GET", "/api/v1/health", headers: [], body: []).status)
            return statuses
        }
        await server.shutdown()
        #expect(statuses.dropLast().allSatisfy { (400..<500).contains($0) }, "\(statuses)")
        #expect(statuses.last == 200)
    }
}
