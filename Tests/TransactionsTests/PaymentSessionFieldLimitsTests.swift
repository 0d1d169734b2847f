import AtlasTestSupport
import Foundation
import Kernel
import Testing
@testable import Transactions

/// Security review: every stored field of a payment session is bounded.
@Suite(.serialized) struct PaymentSessionFieldLimitsTests {
    func create(_ fixture: TransactionFixture, _ body: JSONValue) async -> Response {
        await fixture.client.send(.post, "/functions/v1/create-session", headers: ["Authorization": "Bearer \(fixture.testKey)"],
                                  json: body)
    }

    @Test func callbackURLsAreBounded() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        var many: [String: JSONValue] = [:]
        for index in 0..<1_000 { many["k\(index)"] = .string("https://example.com/\(index)") }
        let tooMany = await create(fixture, ["amount": 100, "currency": "USD", "callback_urls": .object(many)])
        #expect(tooMany.status == 400)
        #expect(tooMany.json["error"]?["type"] == "validation_error")
        #expect(tooMany.json["error"]?["param"] == "callback_urls")

        let longURL = JSONValue.string("https://example.com/" + String(repeating: "a", count: 100_000))
        let tooLong = await create(fixture, ["amount": 100, "currency": "USD", "callback_urls": ["approved": longURL]])
        #expect(tooLong.status == 400)
        #expect(tooLong.json["error"]?["param"] == "callback_urls.approved")

        let fine = await create(fixture, ["amount": 100, "currency": "USD",
                                          "callback_urls": ["approved": "https://example.com/ok", "declined": "https://example.com/no",
                                                            "cancelled": "https://example.com/x"]])
        #expect(fine.status == 200)
        #expect(try await fixture.count("SELECT count(*) AS n FROM transactions_payment_sessions") == 1)
    }
}
