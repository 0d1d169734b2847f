import Foundation
import Testing
@testable import Kernel

/// `JSONValue(parsing:keeping:)` builds only the named top-level members, and refuses what the whole parse refuses.
@Suite struct JSONProjectionTests {
    static let documents = [
        #"{"a":1,"b":-2,"c":1.5,"d":"x","e":true,"f":false,"g":null,"h":[1,[2,{}]],"i":{}}"#,
        #"{"amount":250000,"currency":"NZD","nested":{"list":["a","b"],"empty":""},"rounding":{"cashTotal":250000}}"#,
        #"{"duplicate":1,"duplicate":2,"skipped":{"duplicate":3},"text":"\u00e9\u20ac\ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t"}"#,
        "{ \"héllo\" : \"wörld ✓ 😀\" , \"n\" : [ 1e3 , -0.0 , 9223372036854775808 ] , \"z\" : { } }",
        #"{"am\u006funt":5,"t\u00e9xt":"x","ke\"y":1,"téxt":2,"amount":6}"#,
        "{}", "[1,2]", "\"text\"", "12",
    ]

    @Test func keepsExactlyTheNamedMembersAsTheWholeParseGivesThem() throws {
        let keySets: [Set<String>] = [[], ["a"], ["amount", "currency", "rounding"], ["duplicate", "text"], ["héllo", "n", "z"], ["amount", "téxt", "ke\"y"],
                                      ["missing"], ["a", "b", "c", "d", "e", "f", "g", "h", "i"]]
        for document in Self.documents {
            let whole = try JSONValue(parsing: document)
            for keys in keySets {
                let selection = JSONValue.KeySelection(keys)
                #expect(try JSONValue(parsing: document, keeping: selection) == whole.keeping(selection), "\(document) \(keys)")
            }
        }
        #expect(try JSONValue(parsing: Self.documents[2], keeping: JSONValue.KeySelection(["duplicate"])) == ["duplicate": 1])
    }

    @Test func refusesWhatTheWholeParseRefusesInSkippedValues() {
        let invalid = [#"{"keep":1,"skip":[1,]}"#, #"{"skip":{"a":1,},"keep":1}"#, #"{"skip":tru}"#, #"{"skip":01}"#,
                       #"{"skip":"\x"}"#, #"{"skip":"\ud83d"}"#, "{\"skip\":\"tab\there\"}", #"{"skip":"unterminated}"#,
                       #"{"keep":1} 2"#, "{\"ke\u{01}y\":1}", "{\"keep\u{01}\":1}", #"{"skip" 1}"#, #"{"skip":1"keep":2}"#, #"{"skip":-}"#, #"{"skip":1e}"#]
        for text in invalid {
            #expect(throws: JSONValue.ParseError.self, "\(text)") { try JSONValue(parsing: text, keeping: JSONValue.KeySelection(["keep"])) }
            #expect(throws: JSONValue.ParseError.self, "\(text)") { try JSONValue(parsing: text) }
        }
        let deepest = String(repeating: "[", count: JSONValue.parseDepthMax - 1) + String(repeating: "]", count: JSONValue.parseDepthMax - 1)
        #expect(throws: Never.self) { try JSONValue(parsing: "{\"skip\":\(deepest)}", keeping: JSONValue.KeySelection(["keep"])) }
        #expect(throws: JSONValue.ParseError.self) { try JSONValue(parsing: "{\"skip\":[\(deepest)]}", keeping: JSONValue.KeySelection(["keep"])) }
    }

    @Test func anEventsKeptPayloadIsTheSameFromTextOrFromAValue() throws {
        let text = Self.documents[1]
        let tenant = TenantContext(merchantId: "m_1", mode: .test)
        let fromText = DomainEvent(id: TypedID.generate(prefix: .event), type: "t", tenant: tenant, resourceId: "r",
                                   occurredAt: Date(timeIntervalSince1970: 0), payloadText: text)
        let fromValue = DomainEvent(type: "t", tenant: tenant, resourceId: "r", occurredAt: Date(timeIntervalSince1970: 0),
                                    payload: try JSONValue(parsing: text))
        let keys = JSONValue.KeySelection(["amount", "rounding"])
        #expect(fromText.payload(keeping: keys) == ["amount": 250_000, "rounding": ["cashTotal": 250_000]])
        #expect(fromValue.payload(keeping: keys) == fromText.payload(keeping: keys))
        let broken = DomainEvent(id: TypedID.generate(prefix: .event), type: "t", tenant: tenant, resourceId: "r",
                                 occurredAt: Date(timeIntervalSince1970: 0), payloadText: #"{"amount":1,"skip":[}"#)
        #expect(broken.payload(keeping: keys) == .null)
    }
}
