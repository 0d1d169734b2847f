import Foundation
import Testing
@testable import Kernel

/// Hostile bodies found by the route fuzzer (Tests/AppTests): `decodeJSON` answers them with a 400,
/// before any recursive decoder runs.
@Suite struct BodyDecodingTests {
    private struct Body: Decodable { let metadata: JSONValue? }

    private func decode(_ text: String) -> Result<Body, AtlasError> {
        let request = Request(method: .post, target: "/x", headers: ["Content-Type": "application/json"],
                              body: Array(text.utf8))
        do throws(AtlasError) { return .success(try request.decodeJSON(Body.self)) } catch { return .failure(error) }
    }

    /// `MediaType.isJSON` reads bytes; it answers as Foundation's trimming and lowercasing did.
    @Test func aJSONMediaTypeIsRecognisedAsTheFoundationPathRecognisedIt() {
        let types = ["application/json", "Application/JSON", " application/json ; charset=utf-8", "\tapplication/json\t",
                     "application/problem+json", "application/vnd.api+JSON;v=1", "application/jsonx", "text/json",
                     "application/", "+json", "", ";", "application/json\u{00A0}", "\u{2003}application/json",
                     "application/jsön", "application /json", "application/json;", "APPLICATION/X+JSON ; q=1"]
        for type in types {
            let essence = MediaType.unicodeEssence(type)
            let expected = essence == "application/json" || (essence.hasPrefix("application/") && essence.hasSuffix("+json"))
            #expect(MediaType.isJSON(type) == expected, "\(type)")
        }
        #expect(MediaType.isJSON(" application/json ; charset=utf-8"))
        #expect(!MediaType.isJSON("text/json"))
    }

    @Test func nestingDeeperThanTheLimitIsAMalformedBody() {
        for depth in [65, 10_000, 200_000] {
            let array = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            let object = String(repeating: "{\"a\":", count: depth) + "1" + String(repeating: "}", count: depth)
            for text in [array, "{\"metadata\":" + object + "}", String(repeating: "[", count: depth)] {
                guard case .failure(let error) = decode(text) else { Issue.record("depth \(depth) accepted"); continue }
                #expect(error.kind == .malformedBody && error.status == 400)
                #expect(error.message == "Request body nests deeper than 64 levels")
            }
        }
    }

    @Test func nestingUpToTheLimitAndBracketsInStringsAreFine() throws {
        let nested = String(repeating: "[", count: 63) + String(repeating: "]", count: 63)
        let body = try decode("{\"metadata\":" + nested + "}").get()
        #expect(body.metadata != nil)
        let brackets = "{\"metadata\":\"" + String(repeating: "[{", count: 1_000) + "\\\"[\"}"
        #expect(try decode(brackets).get().metadata == .string(String(repeating: "[{", count: 1_000) + "\"["))
    }

    @Test func escapedNULInAnyStringIsAMalformedBody() {
        for text in ["{\"metadata\":\"a\\u0000b\"}", "{\"metadata\":{\"k\\u0000\":1}}", "{\"metadata\":[\"\\u0000\"]}"] {
            guard case .failure(let error) = decode(text) else { Issue.record("accepted \(text)"); continue }
            #expect(error.kind == .malformedBody && error.status == 400)
            #expect(error.message == "Request body must not contain NUL characters (\\u0000)")
        }
    }

    @Test func anEscapedBackslashBeforeU0000IsText() throws {
        #expect(try decode("{\"metadata\":\"\\\\u0000\"}").get().metadata == .string("\\u0000"))
        #expect(try decode("{\"metadata\":\"\\u0001\"}").get().metadata == .string("\u{1}"))
    }
}
