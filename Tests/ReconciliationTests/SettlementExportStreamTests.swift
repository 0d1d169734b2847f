import AtlasTestSupport
import Auth
import Bootstrap
import Foundation
import HTTPServer
import Kernel
import Postgres
import Testing
@testable import Reconciliation

/// The streamed export over a real socket: a settlement of many keyset pages arrives chunked and byte for byte
/// equal to the documented CSV, and as one JSON object per line.
@Suite struct SettlementExportStreamTests {
    static let lineCount = 12_345
    static let base = Date(timeIntervalSince1970: 1_780_000_000)

    /// A settled batch of `lineCount` sales written straight into the module's tables (no acquirer, no events):
    /// sale `i` is `txn_` + `i` zero-padded, amount 100 + i, one second after the previous. One PRE_AUTH too,
    /// which is never exported.
    static func bigSettlement(_ fixture: ReconciliationFixture) async throws -> String {
        let id = TypedID.generate(prefix: .settlement).rawValue
        let count = Int64(lineCount)
        let sum = count * 100 + count * (count + 1) / 2
        try await fixture.database.execute("""
            INSERT INTO reconciliation_settlements (id, merchant_id, mode, terminal_id, currency, status, submission,
                sale_count, sale_amount, refund_count, refund_amount, void_count, void_amount, pre_auth_count,
                pre_auth_amount, net_amount, closed_at)
            VALUES (\(id), \(fixture.merchantId), 'test', 'ALL', 'NZD', 'SETTLED', 'SUBMITTED', \(count), \(sum), 0, 0, 0, 0,
                1, 5, \(sum), \(base))
            """)
        try await fixture.database.execute("""
            INSERT INTO reconciliation_items (merchant_id, mode, transaction_id, type, status, amount, currency, card_scheme,
                masked_pan, authorization_code, occurred_at, source_event_id, settlement_id)
            SELECT \(fixture.merchantId), 'test', 'txn_' || lpad(i::text, 26, '0'), CASE WHEN i = 0 THEN 'PRE_AUTH' ELSE 'SALE' END,
                'APPROVED', CASE WHEN i = 0 THEN 5 ELSE 100 + i END, 'NZD', 'VISA', '************4242',
                'A' || lpad((i % 100000)::text, 5, '0'), \(base)::timestamptz + i * interval '1 second', 'evt_' || i, \(id)
            FROM generate_series(0, \(count)) AS i
            """)
        return id
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// The documented CSV, written out independently of the module's writer.
    static var expectedCSV: [UInt8] {
        var text = "transactionId,type,status,amount,currency,cardScheme,maskedPan,authorizationCode,timestamp\n"
        for i in 1...lineCount {
            let timestamp = Timestamp.iso8601(base.addingTimeInterval(Double(i)))
            text += "txn_\(pad(i, 26)),SALE,APPROVED,\(100 + i),NZD,VISA,************4242,A\(pad(i % 100_000, 5)),\(timestamp)\n"
        }
        return Array(text.utf8)
    }

    @Test func aSettlementOfManyPagesStreamsChunkedAndExact() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let id = try await Self.bigSettlement(fixture)
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.eventLoopCount = 1
        configuration.accessLogEnabled = false
        let server = HTTPServer(configuration: configuration, responder: fixture.client.responder)
        let port = try server.start()
        let key = fixture.testKey
        let (csv, jsonl, unknownFormat) = try await onThread {
            // A page query may wait on a loaded machine; a read waits up to 60 s (it ends at once on data or EOF).
            let client = try RawClient(port: port, receiveTimeoutSeconds: 60)
            func export(_ format: String) throws -> (RawResponse, (chunkSizes: [Int], bytes: [UInt8])?) {
                try client.send("GET /v1/settlements/\(id)/export?format=\(format) HTTP/1.1\r\nHost: t\r\nX-Api-Key: \(key)\r\n\r\n")
                let head = try client.readResponse()
                return (head, head.header("Transfer-Encoding") == "chunked" ? client.readChunkedBody() : nil)
            }
            let csv = try export("csv")
            let jsonl = try export("jsonl")
            // Bad input is answered before any body starts, with the whole error body (same connection).
            let unknown = try client.request("GET", "/v1/settlements/\(id)/export?format=xml", headers: [("X-Api-Key", key)])
            return (csv, jsonl, unknown)
        }
        await server.shutdown()

        #expect(csv.0.status == 200)
        #expect(csv.0.header("Content-Type")?.hasPrefix("text/csv") == true)
        let csvBody = try #require(csv.1)
        #expect(csvBody.bytes == Self.expectedCSV)
        // One chunk per keyset page: the body was never built whole.
        let pages = (Self.lineCount + SettlementHandlers.Limits().exportPageItems - 1) / SettlementHandlers.Limits().exportPageItems
        #expect(csvBody.chunkSizes.count == pages)

        let jsonlBody = try #require(jsonl.1)
        let lines = String(decoding: jsonlBody.bytes, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == Self.lineCount)
        let last = try JSONDecoder().decode(JSONValue.self, from: Data(lines.last.map { Array($0.utf8) } ?? []))
        #expect(last["transactionId"]?.stringValue == "txn_\(Self.pad(Self.lineCount, 26))")
        #expect(last["amount"]?.intValue == Int64(100 + Self.lineCount))

        #expect(unknownFormat.status == 400)
        #expect(unknownFormat.header("Transfer-Encoding") == nil)
        #expect(unknownFormat.bodyJSON?["error"]?.stringValue == "INVALID_REQUEST")
    }

    /// The in-process client reads a streamed body whole, so handler tests see the same bytes.
    @Test func theInProcessClientCollectsTheStreamedBody() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let id = try await Self.bigSettlement(fixture)
        let csv = await fixture.get("/v1/settlements/\(id)/export?format=csv")
        #expect(csv.status == 200)
        #expect(csv.body == Self.expectedCSV)
        #expect(csv.bodyProducer == nil)
    }
}
