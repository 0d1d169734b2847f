import Foundation

/// A strict RFC 8259 parser straight into `JSONValue`.
///
/// Why not `JSONDecoder().decode(JSONValue.self, …)`: `JSONValue`'s `Decodable` conformance tries each case in
/// turn, and every failed try throws and allocates a coding path, so an event payload of ten fields cost tens of
/// microseconds. Event consumers parse payloads by the thousand (the reconcile bench once spent two thirds of the
/// server's CPU there); this parser reads the bytes once.
///
/// The values are the ones `JSONValue`'s decoder gave: a number equal to an `Int64` (1, 2.0, 1e3) is `.int`, any
/// other `.double`; a repeated object key keeps its first value.
extension JSONValue {
    /// Nesting deeper than this is refused (the recursion must not exhaust a thread's stack), as
    /// Foundation's decoder refuses more than 512 levels.
    public static let parseDepthMax = 512

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        /// Byte offset of the problem in the input.
        public let offset: Int
        public let reason: String
        public var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    public init(parsing text: String) throws(ParseError) {
        var text = text
        self = try text.withUTF8 { bytes in Result { () throws(ParseError) in try JSONValue(parsingBytes: bytes) } }.get()
    }

    public init(parsing bytes: some Collection<UInt8>) throws(ParseError) {
        let parsed: Result<JSONValue, ParseError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(ParseError) in try JSONValue(parsingBytes: buffer) }
        }
        if let parsed {
            self = try parsed.get()
        } else {
            let copy = Array(bytes)
            self = try copy.withUnsafeBufferPointer { buffer in
                Result { () throws(ParseError) in try JSONValue(parsingBytes: buffer) }
            }.get()
        }
    }

    /// The document in `bytes`, refusing (ParseError) an object that repeats a key. WHY: a fast path that reads a
    /// request body with this parser must agree with Foundation's decoder on every document it accepts, and which of
    /// two repeated members wins is where two decoders may differ; such a rare body goes to Foundation's decoder.
    public init(parsingRefusingRepeatedKeys bytes: [UInt8]) throws(ParseError) {
        self = try bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(ParseError) in try JSONValue(parsingBytes: buffer, refusingRepeatedKeys: true) }
        }.get()
    }

    /// The whole document, or with `keeping`, a top-level object's named members only (`JSONProjection.swift`).
    init(parsingBytes bytes: UnsafeBufferPointer<UInt8>, keeping keys: KeySelection? = nil,
         refusingRepeatedKeys: Bool = false) throws(ParseError) {
        var parser = JSONByteParser(bytes: bytes)
        parser.refusesRepeatedKeys = refusingRepeatedKeys
        parser.skipWhitespace()
        if let keys, parser.current == UInt8(ascii: "{") {
            self = try parser.object(keeping: keys)
        } else {
            self = try parser.value(depth: 0)
        }
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.failure("unexpected bytes after the value") }
    }
}

/// The parser's cursor over the input bytes.
struct JSONByteParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    /// Off: a repeated key keeps its first value, as `JSONValue`'s decoder did.
    var refusesRepeatedKeys = false

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func failure(_ reason: String) -> JSONValue.ParseError { JSONValue.ParseError(offset: index, reason: reason) }

    var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    mutating func value(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        guard depth < JSONValue.parseDepthMax else { throw failure("nested deeper than \(JSONValue.parseDepthMax) levels") }
        guard let byte = current else { throw failure("a value was expected") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw failure("a value was expected")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONValue.ParseError) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw failure("\(word) was expected") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw failure("\(word) was expected")
        }
        index += count
    }

    mutating func object(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        index += 1
        // Members are gathered in order and hashed once, into a dictionary sized for them: inserting as they came
        // hashed each key twice (the repeated-key check) and grew the table a few times per payload.
        var members: [(String, JSONValue)] = []
        skipWhitespace()
        if current == UInt8(ascii: "}") { index += 1; return .object([:]) }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw failure("an object key was expected") }
            let key = try string()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw failure("':' was expected") }
            index += 1
            skipWhitespace()
            members.append((key, try value(depth: depth + 1)))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                let object = Dictionary(members, uniquingKeysWith: { first, _ in first })
                if refusesRepeatedKeys && object.count < members.count { throw failure("a repeated object key") }
                return .object(object)
            default: throw failure("',' or '}' was expected")
            }
        }
    }

    mutating func array(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") { index += 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try value(depth: depth + 1))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; return .array(elements)
            default: throw failure("',' or ']' was expected")
            }
        }
    }

    /// A string's contents; the common case (no escapes) is one validated copy of the bytes.
    mutating func string() throws(JSONValue.ParseError) -> String {
        index += 1
        let start = index
        while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
            guard byte >= 0x20 else { throw failure("a control character inside a string") }
            index += 1
        }
        guard let stop = current else { throw failure("an unterminated string") }
        var text = try validUTF8(from: start, to: index)
        if stop == UInt8(ascii: "\"") { index += 1; return text }
        while true {
            guard let byte = current else { throw failure("an unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return text
            case UInt8(ascii: "\\"):
                index += 1
                text.unicodeScalars.append(try escape())
            default:
                let runStart = index
                while let next = current, next != UInt8(ascii: "\""), next != UInt8(ascii: "\\") {
                    guard next >= 0x20 else { throw failure("a control character inside a string") }
                    index += 1
                }
                text += try validUTF8(from: runStart, to: index)
            }
        }
    }

    /// WHY the ASCII check first: `String(validating:as:)` is generic and looked its metadata up at run time on every
    /// call (about 1% of the server's CPU in the sale bench); ASCII, nearly every string of a payload, is valid UTF-8.
    func validUTF8(from start: Int, to end: Int) throws(JSONValue.ParseError) -> String {
        let run = UnsafeBufferPointer(rebasing: bytes[start..<end])
        if run.allSatisfy({ $0 < 0x80 }) { return String(decoding: run, as: UTF8.self) }
        guard let text = String(validating: run, as: UTF8.self) else {
            throw JSONValue.ParseError(offset: start, reason: "a string is not valid UTF-8")
        }
        return text
    }

    mutating func escape() throws(JSONValue.ParseError) -> Unicode.Scalar {
        guard let byte = current else { throw failure("an unterminated escape") }
        index += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"): return try unicodeEscape()
        default: throw failure("an unknown escape")
        }
    }

    /// `\uXXXX`, joining a UTF-16 surrogate pair written as two escapes; a lone surrogate is refused.
    mutating func unicodeEscape() throws(JSONValue.ParseError) -> Unicode.Scalar {
        let high = try hexQuad()
        if (0xD800...0xDBFF).contains(high) {
            guard current == UInt8(ascii: "\\") else { throw failure("a lone UTF-16 surrogate") }
            index += 1
            guard current == UInt8(ascii: "u") else { throw failure("a lone UTF-16 surrogate") }
            index += 1
            let low = try hexQuad()
            guard (0xDC00...0xDFFF).contains(low) else { throw failure("a lone UTF-16 surrogate") }
            return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
        }
        guard let scalar = Unicode.Scalar(high) else { throw failure("a lone UTF-16 surrogate") }
        return scalar
    }

    mutating func hexQuad() throws(JSONValue.ParseError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw failure("four hex digits were expected") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("four hex digits were expected")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// RFC 8259 §6 grammar; an integer that fits is read exactly, anything else through `Double`'s parser.
    mutating func number() throws(JSONValue.ParseError) -> JSONValue {
        let (start, integral) = try scanNumber()
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if integral, let exact = Int64(text) { return .int(exact) }
        guard let number = Double(text), number.isFinite else { throw JSONValue.ParseError(offset: start, reason: "a number out of range") }
        // Foundation's decoder reads 2.0 and 1e3 as the integers they equal; so does this parser.
        if let exact = Int64(exactly: number) { return .int(exact) }
        return .double(number)
    }

    /// Steps over a number (RFC 8259 §6); returns where it started and whether it has no fraction or exponent.
    mutating func scanNumber() throws(JSONValue.ParseError) -> (start: Int, integral: Bool) {
        let start = index
        if current == UInt8(ascii: "-") { index += 1 }
        guard let first = current, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else {
            throw failure("a digit was expected")
        }
        if first == UInt8(ascii: "0") { index += 1 } else { skipDigits() }
        var integral = true
        if current == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard skipDigits() > 0 else { throw failure("a digit was expected after '.'") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            integral = false
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard skipDigits() > 0 else { throw failure("a digit was expected in the exponent") }
        }
        return (start, integral)
    }

    @discardableResult
    mutating func skipDigits() -> Int {
        let start = index
        while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
        return index - start
    }
}
