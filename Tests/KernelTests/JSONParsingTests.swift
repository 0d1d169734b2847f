import Foundation
import Testing
@testable import Kernel

/// `JSONValue(parsing:)` against Foundation's decoder (the path it replaced) and RFC 8259's grammar.
@Suite struct JSONParsingTests {
    static func viaFoundation(_ text: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test func agreesWithFoundationOnValidDocuments() throws {
        let documents = [
            #"{"a":1,"b":-2,"c":1.5,"d":"x","e":true,"f":false,"g":null,"h":[1,[2,{}]],"i":{}}"#,
            #"  [ 1 , 2.0 , -0 , -0.0 , 1e3 , 1E-2 , 1.5e300 , 9223372036854775807 , -9223372036854775808 , 9223372036854775808 ]  "#,
            #""\u00e9\u20ac\ud83d\ude00 \"quoted\" \\ \/ \b\f\n\r\t""#,
            #"{"amount":250000,"currency":"NZD","nested":{"list":["a","b"],"empty":""}}"#,
            #"{"duplicate":1,"duplicate":2}"#,
            "\"héllo wörld ✓ 😀\"", "0", "-1", "3.25", "true", "null", "[]", "{}",
        ]
        for document in documents {
            let parsed = try JSONValue(parsing: document)
            #expect(parsed == Self.viaFoundation(document), "\(document)")
        }
    }

    @Test func roundTripsTheSerializer() throws {
        let value: JSONValue = ["id": "evt_01", "amount": .int(Int64.max), "negative": .int(Int64.min), "ratio": .double(0.1),
                                "text": "line\nbreak \"quote\" \u{01} é 😀", "flags": [true, false, .null],
                                "deep": ["a": ["b": ["c": [1, 2, 3]]]]]
        #expect(try JSONValue(parsing: value.serialized()) == value)
    }

    @Test func refusesWhatRFC8259Refuses() {
        let invalid = ["", " ", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "1e", "+1", "tru", "nul", "[1 2]",
                       "{\"a\" 1}", "{1:2}", "\"unterminated", "\"bad \\x escape\"", "\"\\ud83d\"", "\"\\ude00\"",
                       "\"tab\there\"", "1 2", "NaN", "Infinity", "1e999", "'single'"]
        for text in invalid {
            #expect(throws: JSONValue.ParseError.self, "\(text)") { try JSONValue(parsing: text) }
        }
        #expect(throws: JSONValue.ParseError.self) { try JSONValue(parsing: [0x22, 0xFF, 0x22] as [UInt8]) }
    }

    @Test func refusesNestingBeyondTheLimit() throws {
        let deepest = String(repeating: "[", count: JSONValue.parseDepthMax) + String(repeating: "]", count: JSONValue.parseDepthMax)
        #expect(throws: Never.self) { try JSONValue(parsing: deepest) }
        let tooDeep = "[" + deepest + "]"
        #expect(throws: JSONValue.ParseError.self) { try JSONValue(parsing: tooDeep) }
    }

    @Test func reportsWhereTheProblemIs() {
        do {
            _ = try JSONValue(parsing: #"{"a":[1,2,}"#)
            Issue.record("no error")
        } catch {
            #expect(error.offset == 10)
        }
    }
}
