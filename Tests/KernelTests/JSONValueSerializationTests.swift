import Foundation
import Testing
@testable import Kernel

/// Pins the exact bytes of `JSONValue.serialized()` (hashed into audit chains and fingerprints), and
/// checks the optimised serializer against the original straightforward one kept below as an oracle.
@Suite struct JSONValueSerializationTests {
    private func text(_ value: JSONValue) -> String { String(decoding: value.serialized(), as: UTF8.self) }

    @Test func scalarsAndEmptyContainers() {
        #expect(text(.null) == "null")
        #expect(text(true) == "true")
        #expect(text(false) == "false")
        #expect(text(0) == "0")
        #expect(text(-7) == "-7")
        #expect(text(.int(.max)) == "9223372036854775807")
        #expect(text(.int(.min)) == "-9223372036854775808")
        #expect(text(.double(-1.25)) == "-1.25")
        #expect(text(.double(.infinity)) == "null")
        #expect(text(.double(.nan)) == "null")
        #expect(text([:]) == "{}")
        #expect(text([]) == "[]")
        #expect(text("") == "\"\"")
        #expect(text(["a": [:], "b": []]) == #"{"a":{},"b":[]}"#)
    }

    @Test func nestedObjectsSortKeysAtEveryLevel() {
        let value: JSONValue = [
            "zeta": ["b": 2, "a": [1, "x", nil, ["d": true, "c": false]]],
            "alpha": 1, "Beta": "B", "_": .null, "alpha2": [],
        ]
        #expect(text(value) == #"{"Beta":"B","_":null,"alpha":1,"alpha2":[],"zeta":{"a":[1,"x",null,{"c":false,"d":true}],"b":2}}"#)
    }

    @Test func escapesQuotesBackslashesAndControlCharacters() {
        #expect(text("say \"hi\"\\now") == #""say \"hi\"\\now""#)
        #expect(text("a\nb\rc\td") == #""a\nb\rc\td""#)
        #expect(text("\u{0}\u{1}\u{8}\u{b}\u{c}\u{1f}") == #""\u0000\u0001\u0008\u000b\u000c\u001f""#)
        #expect(text("\u{7f} /<>") == "\"\u{7f} /<>\"")
        #expect(text("\"") == #""\"""#)
        #expect(text("\n\n") == #""\n\n""#)
        #expect(text(["k\"\n": "v\u{1a}"]) == #"{"k\"\n":"v\u001a"}"#)
        #expect(text("tail\\") == #""tail\\""#)
    }

    @Test func nonASCIIIsRawUTF8AndKeysSortByCodePoint() {
        #expect(text("héllo wörld 日本 👋🏽") == "\"héllo wörld 日本 👋🏽\"")
        #expect(Array(JSONValue.string("é").serialized()) == [34, 0xC3, 0xA9, 34])
        // Code point order (= UTF-8 byte order, Python's sort_keys): "ｚ" (U+FF5A) before "👋" (U+1F44B),
        // which UTF-16 code unit order would reverse.
        let value: JSONValue = ["👋": 6, "日": 5, "ſ": 4, "é": 3, "a": 2, "Z": 1, "ｚ": .double(5.5)]
        #expect(text(value) == #"{"Z":1,"a":2,"é":3,"ſ":4,"日":5,"ｚ":5.5,"👋":6}"#)
    }

    @Test func longStringsWithEscapesScatteredThroughRuns() {
        let chunk = String(repeating: "abcdefgh", count: 40)
        let input = chunk + "\"" + chunk + "\u{1}" + chunk + "é"
        let expected = "\"" + chunk + "\\\"" + chunk + "\\u0001" + chunk + "é\""
        #expect(text(.string(input)) == expected)
    }

    @Test func appendQuotedAppendsToExistingBytes() {
        var output = Array("x=".utf8)
        JSONValue.appendQuoted("a\"b", to: &output)
        #expect(String(decoding: output, as: UTF8.self) == #"x="a\"b""#)
    }

    @Test func matchesTheOriginalSerializerOnRandomDocuments() {
        var generator = SplitMix64(seed: 0x5EED)
        for _ in 0..<2_000 {
            let value = randomValue(depth: 0, &generator)
            #expect(value.serialized() == OriginalSerializer.serialized(value))
        }
    }

    private func randomValue(depth: Int, _ generator: inout SplitMix64) -> JSONValue {
        let kind = Int(generator.next() % (depth >= 3 ? 5 : 7))
        switch kind {
        case 0: return .null
        case 1: return .bool(generator.next() % 2 == 0)
        case 2:
            let edges: [Int64] = [.min, .max, 0, -1, 1, 9, 10, -10, 999_999_999_999]
            return .int(generator.next() % 3 == 0 ? edges[Int(generator.next() % UInt64(edges.count))]
                                                   : Int64(bitPattern: generator.next()) >> Int64(generator.next() % 63))
        case 3: return .double(Double(Int64(bitPattern: generator.next()) % 1_000_000) / 64)
        case 4: return .string(randomString(&generator))
        case 5: return .array((0..<Int(generator.next() % 5)).map { _ in randomValue(depth: depth + 1, &generator) })
        default:
            var object: [String: JSONValue] = [:]
            for _ in 0..<Int(generator.next() % 8) { object[randomKey(&generator)] = randomValue(depth: depth + 1, &generator) }
            return .object(object)
        }
    }

    /// ASCII keys: the only keys whose order Swift's String `<` and code point order always agree on.
    private func randomKey(_ generator: inout SplitMix64) -> String {
        let alphabet = Array("abcAB_z09-")
        return String((0..<Int(generator.next() % 6)).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
    }

    private func randomString(_ generator: inout SplitMix64) -> String {
        let pieces = ["a", "xyz", "\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{1f}", "\u{7f}", "é", "日本", "👋🏽", " ", "/"]
        return (0..<Int(generator.next() % 12)).map { _ in pieces[Int(generator.next() % UInt64(pieces.count))] }.joined()
    }
}

/// Deterministic test randomness, so a failure names a reproducible value (this target's property tests share it).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

/// The serializer as it was before the allocation work (the oracle for the optimised one).
private enum OriginalSerializer {
    static func serialized(_ value: JSONValue) -> [UInt8] {
        var output: [UInt8] = []
        append(value, to: &output)
        return output
    }

    private static func append(_ value: JSONValue, to output: inout [UInt8]) {
        switch value {
        case .null: output.append(contentsOf: Array("null".utf8))
        case .bool(let value): output.append(contentsOf: Array((value ? "true" : "false").utf8))
        case .int(let value): output.append(contentsOf: Array(String(value).utf8))
        case .double(let value):
            let text = value.isFinite ? "\(value)" : "null"
            output.append(contentsOf: Array(text.utf8))
        case .string(let value): appendQuoted(value, to: &output)
        case .array(let values):
            output.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                append(value, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            output.append(UInt8(ascii: "{"))
            for (index, key) in object.keys.sorted().enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                appendQuoted(key, to: &output)
                output.append(UInt8(ascii: ":"))
                append(object[key]!, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static func appendQuoted(_ text: String, to output: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): output.append(contentsOf: [92, 92])
            case 0x0A: output.append(contentsOf: [92, UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [92, UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [92, UInt8(ascii: "t")])
            case 0..<0x20:
                output.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
