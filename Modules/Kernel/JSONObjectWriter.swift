/// One JSON object written member by member into the bytes `JSONValue.serialized()` gives for the same object.
///
/// WHY: a card sale's response (also its stored idempotent response and its event's payload) was built as a
/// `[String: JSONValue]` of thirty members, then sorted and printed: about 5% of the server's CPU per sale. The caller
/// names the members in the byte order of their keys, the order `serialized()` sorts them into (checked in debug
/// builds, and by each caller's test against `serialized()`).
public struct JSONObjectWriter {
    private var bytes: [UInt8] = []
    private var previousKey: StaticString?

    public init(capacityBytes: Int = 640) {
        bytes.reserveCapacity(capacityBytes)
        bytes.append(UInt8(ascii: "{"))
    }

    public mutating func member(_ key: StaticString, _ value: JSONValue) {
        appendKey(key)
        value.append(to: &bytes)
    }

    /// A string, or `null` for nil.
    public mutating func member(_ key: StaticString, string value: String?) {
        appendKey(key)
        if let value { JSONValue.appendQuoted(value, to: &bytes) } else { JSONValue.appendStatic("null", to: &bytes) }
    }

    public mutating func member(_ key: StaticString, integer value: Int64) {
        appendKey(key)
        JSONValue.appendInteger(value, to: &bytes)
    }

    public mutating func member(_ key: StaticString, bool value: Bool) {
        appendKey(key)
        JSONValue.appendStatic(value ? "true" : "false", to: &bytes)
    }

    /// The object's bytes, closed.
    public consuming func finished() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    /// Keys are plain ASCII names (nothing to escape), each after the one before in byte order.
    private mutating func appendKey(_ key: StaticString) {
        assert(Self.isPlainName(key), "a key the writer does not escape")
        assert(previousKey.map { Self.precedes($0, key) } ?? true, "keys out of byte order: \(key) after \(previousKey!)")
        previousKey = key
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    private static func precedes(_ lhs: StaticString, _ rhs: StaticString) -> Bool {
        lhs.withUTF8Buffer { left in rhs.withUTF8Buffer { right in left.lexicographicallyPrecedes(right) } }
    }

    private static func isPlainName(_ key: StaticString) -> Bool {
        key.withUTF8Buffer { name in name.allSatisfy { $0 >= 0x20 && $0 < 0x80 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") } }
    }
}
