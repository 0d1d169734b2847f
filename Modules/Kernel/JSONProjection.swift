/// Parsing only the members a reader uses.
///
/// WHY: an event consumer reads a handful of fields of each payload (the ledger's posting: amount, tender, currency
/// and a few more of a transaction's twenty-odd), and building every other value, its strings and its nested objects,
/// was most of the cost of parsing a page. The other members' values are stepped over: their syntax is checked (a
/// payload that is not JSON still fails), no value is built, and their strings' UTF-8 is not validated (the event
/// log's json column holds valid UTF-8 already).
extension JSONValue {
    /// The top-level object with only its members named in `keys` (values as `init(parsing:)` gives them; a repeated
    /// key keeps its first value). Anything other than an object parses whole.
    public init(parsing text: String, keepingKeys keys: Set<String>) throws(ParseError) {
        var text = text
        self = try text.withUTF8 { bytes in
            Result { () throws(ParseError) in
                var parser = JSONByteParser(bytes: bytes)
                parser.skipWhitespace()
                let value = parser.current == UInt8(ascii: "{") ? try parser.object(keeping: keys) : try parser.value(depth: 0)
                parser.skipWhitespace()
                guard parser.index == bytes.count else { throw parser.failure("unexpected bytes after the value") }
                return value
            }
        }.get()
    }

    /// This value with only the top-level members named in `keys` (an object), or unchanged.
    public func keeping(_ keys: Set<String>) -> JSONValue {
        guard case .object(let members) = self else { return self }
        return .object(members.filter { keys.contains($0.key) })
    }
}

extension JSONByteParser {
    /// The object at the cursor (depth 0) with only the members named in `keys` built.
    mutating func object(keeping keys: Set<String>) throws(JSONValue.ParseError) -> JSONValue {
        index += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if current == UInt8(ascii: "}") { index += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw failure("an object key was expected") }
            let key = try string()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw failure("':' was expected") }
            index += 1
            skipWhitespace()
            if keys.contains(key), members[key] == nil {
                members[key] = try value(depth: 1)
            } else {
                try skipValue(depth: 1)
            }
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; return .object(members)
            default: throw failure("',' or '}' was expected")
            }
        }
    }

    /// Steps over one value, checking its syntax and depth as `value(depth:)` would, building nothing.
    mutating func skipValue(depth: Int) throws(JSONValue.ParseError) {
        guard depth < JSONValue.parseDepthMax else { throw failure("nested deeper than \(JSONValue.parseDepthMax) levels") }
        guard let byte = current else { throw failure("a value was expected") }
        switch byte {
        case UInt8(ascii: "{"): try skipMembers(depth: depth)
        case UInt8(ascii: "["): try skipElements(depth: depth)
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try scanNumber()
        default: throw failure("a value was expected")
        }
    }

    private mutating func skipMembers(depth: Int) throws(JSONValue.ParseError) {
        index += 1
        skipWhitespace()
        if current == UInt8(ascii: "}") { index += 1; return }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw failure("an object key was expected") }
            try skipString()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw failure("':' was expected") }
            index += 1
            skipWhitespace()
            try skipValue(depth: depth + 1)
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; return
            default: throw failure("',' or '}' was expected")
            }
        }
    }

    private mutating func skipElements(depth: Int) throws(JSONValue.ParseError) {
        index += 1
        skipWhitespace()
        if current == UInt8(ascii: "]") { index += 1; return }
        while true {
            skipWhitespace()
            try skipValue(depth: depth + 1)
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; return
            default: throw failure("',' or ']' was expected")
            }
        }
    }

    /// A string's escapes are checked as `string()` checks them (a lone surrogate included); its text is not kept.
    private mutating func skipString() throws(JSONValue.ParseError) {
        index += 1
        while let byte = current {
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return
            case UInt8(ascii: "\\"):
                index += 1
                _ = try escape()
            default:
                guard byte >= 0x20 else { throw failure("a control character inside a string") }
                index += 1
            }
        }
        throw failure("an unterminated string")
    }
}
