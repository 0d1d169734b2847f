/// Parsing only the members a reader uses.
///
/// WHY: an event consumer reads a handful of fields of each payload (the ledger's posting: amount, tender, currency
/// and a few more of a transaction's twenty-odd), and building every other value, its strings and its nested objects,
/// was most of the cost of parsing a page. The other members' values are stepped over: their syntax is checked (a
/// payload that is not JSON still fails), no value is built, and their strings' UTF-8 is not validated (the event
/// log's json column holds valid UTF-8 already).
extension JSONValue {
    /// The member names a reader keeps, as text and as bytes: made once (a reader's `static let`), matched against
    /// each key's bytes without building or hashing it.
    public struct KeySelection: Sendable {
        let names: [String]
        let nameBytes: [[UInt8]]

        public init(_ names: Set<String>) {
            self.names = names.sorted()
            nameBytes = self.names.map { Array($0.utf8) }
        }

        /// The index of the name whose UTF-8 is `key`, if any.
        func index(of key: UnsafeBufferPointer<UInt8>) -> Int? {
            nameBytes.firstIndex { $0.count == key.count && $0.withUnsafeBufferPointer { $0.elementsEqual(key) } }
        }

        func contains(_ key: String) -> Bool { names.contains(key) }
    }

    /// The top-level object with only its members named in `keys` (values as `init(parsing:)` gives them; a repeated
    /// key keeps its first value). Anything other than an object parses whole.
    public init(parsing text: String, keeping keys: KeySelection) throws(ParseError) {
        var text = text
        self = try text.withUTF8 { bytes in
            Result { () throws(ParseError) in try JSONValue(parsingBytes: bytes, keeping: keys) }
        }.get()
    }

    /// This value with only the top-level members named in `keys` (an object), or unchanged.
    public func keeping(_ keys: KeySelection) -> JSONValue {
        guard case .object(let members) = self else { return self }
        return .object(members.filter { keys.contains($0.key) })
    }
}

extension JSONByteParser {
    /// The object at the cursor (depth 0) with only the members named in `keys` built.
    mutating func object(keeping keys: JSONValue.KeySelection) throws(JSONValue.ParseError) -> JSONValue {
        index += 1
        var members = [String: JSONValue](minimumCapacity: keys.names.count)
        skipWhitespace()
        if current == UInt8(ascii: "}") { index += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw failure("an object key was expected") }
            let kept = try keptKey(keys)
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw failure("':' was expected") }
            index += 1
            skipWhitespace()
            if let kept, members[kept] == nil {
                members[kept] = try value(depth: 1)
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

    /// Steps over the key at the cursor; returns it when `keys` names it. A key without escapes is matched by its
    /// bytes (the common case); one with escapes is read as `string()` reads it.
    private mutating func keptKey(_ keys: JSONValue.KeySelection) throws(JSONValue.ParseError) -> String? {
        let start = index + 1
        var end = start
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 { end += 1 }
        guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else {
            let key = try string()
            return keys.contains(key) ? key : nil
        }
        index = end + 1
        return keys.index(of: UnsafeBufferPointer(rebasing: bytes[start..<end])).map { keys.names[$0] }
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
