import Foundation
import Kernel
import Testing
@testable import Transactions

/// `SaleRequest.fromDocument`, the sale's fast body path: whatever body it accepts, Foundation's decoder reads as the
/// same request; whatever it declines, Foundation's decoder reads (with its errors) as before.
@Suite struct SaleRequestFastPathTests {
    static let bodies: [String] = [
        #"{"type":"SALE","amount":2500,"currency":"NZD","referenceId":"bench"}"#,
        #"{"type":"SALE","amount":2500,"currency":"NZD","tipAmount":100,"cashbackAmount":0,"entryMode":"CONTACTLESS","tender":"CARD"}"#,
        #"{"type":"REFUND","amount":100,"currency":"USD","originalTransactionId":"txn_1","terminalId":null,"metadata":null}"#,
        #"{"type":"SALE","amount":2500.0,"currency":"NZD"}"#,
        #"{"type":"SALE","amount":1e3,"currency":"NZD"}"#,
        #"{"type":"SALE","amount":-5,"currency":"NZD","unknown":{"a":[1,2,{"b":null}]}}"#,
        #"{"type":"SALE","amount":9007199254740993,"currency":"NZD"}"#,
        #"{"type":"SALE","amount":9007199254740993.0,"currency":"NZD"}"#,
        #"{"type":"SALE","amount":1e400,"currency":"NZD"}"#,
        #"{"type":"SALE","amount":12345678901234567890,"currency":"NZD"}"#,
        #"{"type":"SALE","amount":"2500","currency":"NZD"}"#,
        #"{"type":"SALE","amount":25.5,"currency":"NZD"}"#,
        #"{"type":"SALE","currency":"NZD"}"#,
        #"{"type":null,"amount":1,"currency":"NZD"}"#,
        #"{"amount":1,"currency":"NZD"}"#,
        #"{"type":"SALE","amount":1,"currency":"NZD","amount":2}"#,
        #"{"type":"SALE","amount":1,"currency":"NZD","metadata":{"k":"v","k":"w"}}"#,
        #"{"type":"SALE","amount":1,"currency":"NZD","metadata":{"order":{"lines":[1,2.5,true,"x",null]},"n":-3}}"#,
        #"{"type":"SALE","amount":1,"currency":"NZD","metadata":{"big":18014398509481984}}"#,
        #"{"type":"SALE","amount":1,"currency":"NZD","metadata":"plain"}"#,
        #"{"type":"SALE","amount":1,"currency":"NZD","referenceId":"caf\u00e9 \"quoted\" \\ \ud83d\ude00"}"#,
        #"{"type":"SALE","amount":1,"currency":"NZD","referenceId":"\ud83d"}"#,
        #"{"type":"SALE","amount":1,"currency":"NZD","referenceId":"Zoë 日本"}"#,
        #"{"type":"SALE","amount":1,"currency":"NZD","tender":"CARD","card":{"number":"4111111111111111","expiryMonth":12,"expiryYear":2030}}"#,
        #"{"type":"SALE","amount":1,"currency":"NZD","card":{"number":"4111111111111111"}}"#,
        #"{"type":"SALE","amount":1,"currency":"NZD","card":{"number":4111111111111111}}"#,
        #"{"type":"SALE","amount":1,"currency":"NZD","card":{"expiryMonth":12}}"#,
        #"{"type":"SALE","amount":1,"currency":"NZD","card":[]}"#,
        #"{"type":"SALE","amount":1,"currency":"NZD","tender":"CASH","location":{"zipCode":"90210","state":"CA","city":null}}"#,
        #"{"type":"SALE","amount":1,"currency":"NZD","location":{"zipCode":90210}}"#,
        #"{"type":"SALE","amount":1,"currency":"NZD","tipAmount":true}"#,
        #"{"type":"SALE","amount":1,"currency":"NZD","entryMode":7}"#,
        #"  {"type":"SALE","amount":1,"currency":"NZD"}  "#,
        #"{"type":"SALE","amount":01,"currency":"NZD"}"#,
        #"{"type":"SALE","amount":1,"currency":"NZD",}"#,
        #"["SALE"]"#,
        #"null"#,
    ]

    /// The common shapes take the fast path; for every body it accepts, Foundation's decoder reads the same request.
    @Test func everyBodyTheFastPathAcceptsDecodesTheSameWithFoundation() throws {
        var accepted = 0
        for body in Self.bodies {
            let bytes = Array(body.utf8)
            guard let document = try? JSONValue(parsingRefusingRepeatedKeys: bytes),
                  let fast = SaleRequest.fromDocument(document) else { continue }
            accepted += 1
            let slow = try JSONDecoder().decode(SaleRequest.self, from: Data(bytes))
            #expect(Self.fields(fast) == Self.fields(slow), "\(body)")
        }
        #expect(accepted >= 12)
        for common in Self.bodies.prefix(3) {
            let document = try JSONValue(parsingRefusingRepeatedKeys: Array(common.utf8))
            #expect(SaleRequest.fromDocument(document) != nil, "\(common)")
        }
    }

    /// What the fast path declines reaches Foundation's decoder: the same answer as without a fast path.
    @Test func declinedBodiesGetFoundationsAnswer() {
        for body in Self.bodies {
            var headers = HTTPHeaders()
            headers.add("Content-Type", "application/json")
            let request = Request(method: .post, target: "/v1/transaction/sale", headers: headers, body: Array(body.utf8))
            let fast = Result { () throws(AtlasError) in
                try request.decodeJSON(SaleRequest.self, fastPath: SaleRequest.fromDocument)
            }
            let slow = Result { () throws(AtlasError) in try request.decodeJSON(SaleRequest.self) }
            switch (fast, slow) {
            case (.success(let a), .success(let b)): #expect(Self.fields(a) == Self.fields(b), "\(body)")
            case (.failure(let a), .failure(let b)):
                #expect(a.status == b.status && a.code == b.code && a.message == b.message, "\(body)")
            default: Issue.record("the fast path and Foundation's decoder disagree on \(body)")
            }
        }
    }

    /// Every field as text, nil and null kept apart: two requests are the same when these are equal.
    static func fields(_ sale: SaleRequest) -> [String] {
        func text<T>(_ value: T?) -> String { value.map { "\($0)" } ?? "nil" }
        return [sale.type, text(sale.amount), sale.currency, text(sale.cashbackAmount), text(sale.tipAmount),
                text(sale.entryMode), text(sale.referenceId), text(sale.originalTransactionId),
                text(sale.metadata.map { String(decoding: $0.serialized(), as: UTF8.self) }), text(sale.terminalId),
                text(sale.tender), text(sale.card.map { "\($0.number) \(text($0.expiryMonth)) \(text($0.expiryYear))" }),
                text(sale.location)]
    }
}
