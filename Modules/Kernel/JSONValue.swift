import Foundation

/// A JSON document as a value: for error details, metadata and responses whose shape is dynamic.
/// Numbers keep integers exact (`.int`) so money never passes through Double.
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null; return }
        if let value = try? container.decode(Bool.self) { self = .bool(value); return }
        if let value = try? container.decode(Int64.self) { self = .int(value); return }
        if let value = try? container.decode(Double.self) { self = .double(value); return }
        if let value = try? container.decode(String.self) { self = .string(value); return }
        if let value = try? container.decode([JSONValue].self) { self = .array(value); return }
        self = .object(try container.decode([String: JSONValue].self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public var stringValue: String? { if case .string(let value) = self { return value }; return nil }
    public var intValue: Int64? { if case .int(let value) = self { return value }; return nil }
    public var boolValue: Bool? { if case .bool(let value) = self { return value }; return nil }

    /// Compact JSON text with keys sorted by UTF-8 byte order (= Unicode code point order, the order of
    /// Python's `json.dumps(sort_keys=True)`), so the bytes are stable for hashing and fingerprints.
    /// This sits on every response and audit record, so it appends straight into one byte array with no
    /// temporary arrays or strings per value (see docs/rounding-audit-chain.md for the canonical form).
    public func serialized() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(128)
        append(to: &output)
        return output
    }

    func append(to output: inout [UInt8]) {
        switch self {
        case .null: JSONValue.appendStatic("null", to: &output)
        case .bool(let value): JSONValue.appendStatic(value ? "true" : "false", to: &output)
        case .int(let value): JSONValue.appendInteger(value, to: &output)
        case .double(let value):
            if value.isFinite { output.append(contentsOf: "\(value)".utf8) } else { JSONValue.appendStatic("null", to: &output) }
        case .string(let value): JSONValue.appendQuoted(value, to: &output)
        case .array(let values):
            output.append(UInt8(ascii: "["))
            var first = true
            for value in values {
                if !first { output.append(UInt8(ascii: ",")) }
                first = false
                value.append(to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            JSONValue.appendObject(object, to: &output)
        }
    }

    /// Sorts the members once by UTF-8 bytes: no Unicode-aware String comparison and no re-hashing of
    /// each key to look its value up again. What gets sorted is a stack buffer of (8-byte key prefix
    /// packed big-endian, dictionary index) pairs: plain integers, so moves cost no retain/release and
    /// most comparisons are one integer compare; prefix ties compare the full key bytes.
    /// Distinct keys never have equal bytes, so the order is total and the output deterministic.
    private static func appendObject(_ object: [String: JSONValue], to output: inout [UInt8]) {
        output.append(UInt8(ascii: "{"))
        if object.count == 1, let (key, value) = object.first {
            appendMember(key, value, to: &output)
        } else if !object.isEmpty {
            typealias Entry = (prefix: UInt64, index: Dictionary<String, JSONValue>.Index)
            withUnsafeTemporaryAllocation(of: Entry.self, capacity: object.count) { buffer in
                var order = buffer
                var filled = 0
                var index = object.startIndex
                while index != object.endIndex {
                    order.initializeElement(at: filled, to: (sortPrefix(object[index].key), index))
                    filled += 1
                    object.formIndex(after: &index)
                }
                order.sort { lhs, rhs in
                    lhs.prefix != rhs.prefix ? lhs.prefix < rhs.prefix
                        : object[lhs.index].key.utf8.lexicographicallyPrecedes(object[rhs.index].key.utf8)
                }
                for position in 0..<filled {
                    if position > 0 { output.append(UInt8(ascii: ",")) }
                    let member = object[order[position].index]
                    appendMember(member.key, member.value, to: &output)
                }
                _ = order.deinitialize()
            }
        }
        output.append(UInt8(ascii: "}"))
    }

    /// The first 8 UTF-8 bytes, big-endian, zero-padded: ordering these integers orders the keys by
    /// bytes except for ties (shared 8-byte prefix, or trailing NULs), which compare in full.
    @inline(__always)
    private static func sortPrefix(_ key: String) -> UInt64 {
        var prefix: UInt64 = 0
        var shift: UInt64 = 56
        for byte in key.utf8 {
            prefix |= UInt64(byte) << shift
            if shift == 0 { break }
            shift -= 8
        }
        return prefix
    }

    private static func appendMember(_ key: String, _ value: JSONValue, to output: inout [UInt8]) {
        appendQuoted(key, to: &output)
        output.append(UInt8(ascii: ":"))
        value.append(to: &output)
    }

    /// Appends literal ASCII without building an intermediate array.
    @inline(__always)
    static func appendStatic(_ text: StaticString, to output: inout [UInt8]) {
        text.withUTF8Buffer { output.append(contentsOf: $0) }
    }

    /// Decimal digits written back to front into a stack buffer; `magnitude` keeps Int64.min exact.
    static func appendInteger(_ value: Int64, to output: inout [UInt8]) {
        /// 19 digits for |Int64.min| plus a sign.
        let integerBytesMax = 20
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: integerBytesMax) { buffer in
            var remaining = value.magnitude
            var start = integerBytesMax
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10)
                remaining /= 10
            } while remaining > 0
            if value < 0 {
                start -= 1
                buffer[start] = UInt8(ascii: "-")
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start..<integerBytesMax]))
        }
    }

    /// RFC 8259 string escaping: `\"`, `\\`, `\n`, `\r`, `\t`, other controls as lower-case `\u00xx`,
    /// everything else (including non-ASCII) as raw UTF-8. Runs needing no escape are copied in bulk.
    public static func appendQuoted(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        let copied: Void? = text.utf8.withContiguousStorageIfAvailable { appendEscaped($0, to: &output) }
        if copied == nil {
            var contiguous = text
            contiguous.withUTF8 { appendEscaped($0, to: &output) }
        }
        output.append(UInt8(ascii: "\""))
    }

    private static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
        var runStart = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            if runStart < index { output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index])) }
            appendEscape(for: byte, to: &output)
            runStart = index + 1
        }
        if runStart < bytes.count { output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...])) }
    }

    private static func appendEscape(for byte: UInt8, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""): output.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): output.append(UInt8(ascii: "\\"))
        case 0x0A: output.append(UInt8(ascii: "n"))
        case 0x0D: output.append(UInt8(ascii: "r"))
        case 0x09: output.append(UInt8(ascii: "t"))
        default:
            appendStatic("u00", to: &output)
            output.append(lowerHexDigit(byte >> 4))
            output.append(lowerHexDigit(byte & 0xF))
        }
    }

    @inline(__always)
    private static func lowerHexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "a") &+ (nibble &- 10)
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
}
