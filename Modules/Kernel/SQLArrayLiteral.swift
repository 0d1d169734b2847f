public import Foundation

/// PostgreSQL array literals for binding a whole column of values as ONE parameter (`$1::text[]`, read with
/// `unnest`). WHY: a statement whose text does not grow with its row count is parsed and planned once per
/// connection (the prepared-statement cache), and is not bounded by the protocol's 65,535 parameters.
public enum SQLArrayLiteral {
    /// `{"a","b\"c",NULL}`: every element quoted, `"` and `\` escaped, so any text round-trips; nil is SQL NULL.
    public static func text(_ elements: [String?]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(elements.reduce(2) { $0 + ($1?.utf8.count ?? 4) + 3 })
        bytes.append(UInt8(ascii: "{"))
        for (index, element) in elements.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            guard let element else {
                bytes.append(contentsOf: "NULL".utf8)
                continue
            }
            bytes.append(UInt8(ascii: "\""))
            appendEscaped(element, to: &bytes)
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `"` and `\` get a `\` before them; the runs between are copied whole.
    private static func appendEscaped(_ element: String, to bytes: inout [UInt8]) {
        var element = element
        element.withUTF8 { utf8 in
            var runStart = 0
            for index in utf8.indices where utf8[index] == UInt8(ascii: "\"") || utf8[index] == UInt8(ascii: "\\") {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                bytes.append(UInt8(ascii: "\\"))
                runStart = index
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
    }

    /// One column of bound values as an array literal: text and JSON as they are, bytes in bytea's hex form
    /// (`\x…`), booleans `t`/`f`, timestamps as whole microseconds since the epoch (`Timestamp.microsecondsSinceEpoch`:
    /// declare that column `bigint[]` and read it with `timestamptz 'epoch' + us * interval '1 microsecond'`), `.null`
    /// as NULL. Every element is quoted, so the array's element type (`text[]`, `bigint[]`, `jsonb[]`, `bytea[]`,
    /// `date[]`) parses it.
    public static func values(_ elements: [SQLValue]) -> String {
        text(elements.map(elementText))
    }

    private static func elementText(_ value: SQLValue) -> String? {
        switch value {
        case .null: nil
        case .bool(let flag): flag ? "t" : "f"
        case .int(let number): String(number)
        case .double(let number): number.isNaN ? "NaN" : number.isInfinite ? (number < 0 ? "-Infinity" : "Infinity") : "\(number)"
        case .text(let text), .json(let text): text
        case .bytes(let bytes): "\\x" + Encoding.hex(bytes)
        case .timestamp(let date): String(Timestamp.microsecondsSinceEpoch(date))
        }
    }

    /// `{1,-2,NULL}` for a `bigint[]` or `integer[]` parameter.
    public static func integers(_ elements: [Int64?]) -> String {
        "{" + elements.map { $0.map(String.init) ?? "NULL" }.joined(separator: ",") + "}"
    }
}
