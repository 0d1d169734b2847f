import Foundation

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
            appendQuoted(element, to: &bytes)
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
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        for (index, element) in elements.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            appendElement(element, to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// One element of `values`: integers and timestamps as their digits, written in place; the rest quoted and
    /// escaped as `text` does.
    static func appendElement(_ value: SQLValue, to bytes: inout [UInt8]) {
        switch value {
        case .null:
            bytes.append(contentsOf: "NULL".utf8)
        case .int(let number):
            appendQuotedDigits(number, to: &bytes)
        case .timestamp(let date):
            appendQuotedDigits(Timestamp.microsecondsSinceEpoch(date), to: &bytes)
        case .text(let text), .json(let text):
            appendQuoted(text, to: &bytes)
        case .bool(let flag):
            appendQuoted(flag ? "t" : "f", to: &bytes)
        case .double(let number):
            appendQuoted(number.isNaN ? "NaN" : number.isInfinite ? (number < 0 ? "-Infinity" : "Infinity") : "\(number)",
                         to: &bytes)
        case .bytes(let raw):
            appendQuoted("\\x" + Encoding.hex(raw), to: &bytes)
        }
    }

    private static func appendQuoted(_ text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        appendEscaped(text, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// `"-123"`: the digits of `number` between quotes, without a String in between.
    private static func appendQuotedDigits(_ number: Int64, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        if number < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = number.magnitude
        let firstDigit = bytes.count
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        bytes[firstDigit...].reverse()
        bytes.append(UInt8(ascii: "\""))
    }

    /// `{1,-2,NULL}` for a `bigint[]` or `integer[]` parameter.
    public static func integers(_ elements: [Int64?]) -> String {
        "{" + elements.map { $0.map(String.init) ?? "NULL" }.joined(separator: ",") + "}"
    }
}

/// Several columns' array literals (`SQLArrayLiteral.values` each), built row by row: every value is written straight
/// into its column's bytes. WHY: a sale batch binds 31 columns of up to 64 rows; gathering each column as an array of
/// values, then as an array of strings, allocated and copied every value three times (about 2% of the server's CPU
/// in the sale bench).
public struct SQLArrayColumns {
    private var columns: [[UInt8]]

    /// `bytesPerRowExpected`: a hint for each column's first allocation.
    public init(count: Int, rowsExpected: Int, bytesPerRowExpected: Int = 24) {
        var empty: [UInt8] = []
        empty.reserveCapacity(2 + rowsExpected * bytesPerRowExpected)
        empty.append(UInt8(ascii: "{"))
        columns = Array(repeating: empty, count: count)
    }

    /// One row: a value per column, in column order.
    public mutating func append(_ row: [SQLValue]) {
        precondition(row.count == columns.count, "one value per column")
        for index in row.indices {
            if columns[index].count > 1 { columns[index].append(UInt8(ascii: ",")) }
            SQLArrayLiteral.appendElement(row[index], to: &columns[index])
        }
    }

    /// Each column's literal, as `SQLArrayLiteral.values` would write it.
    public var literals: [String] {
        columns.map { column in
            var closed = column
            closed.append(UInt8(ascii: "}"))
            return String(decoding: closed, as: UTF8.self)
        }
    }
}
