import Foundation
import Kernel
import Testing

/// `SQLArrayLiteral`: one array parameter per column; every text element quoted, NULL only for nil.
@Suite struct SQLArrayLiteralTests {
    @Test func textElementsAreQuotedAndEscapedAndNilIsNull() {
        #expect(SQLArrayLiteral.text([]) == "{}")
        #expect(SQLArrayLiteral.text(["a", nil, ""]) == #"{"a",NULL,""}"#)
        // The word NULL, braces, commas and spaces stay text; quotes and backslashes are escaped.
        #expect(SQLArrayLiteral.text(["NULL", "{x,y}", " a b "]) == #"{"NULL","{x,y}"," a b "}"#)
        #expect(SQLArrayLiteral.text([#"say "hi""#, #"C:\dir"#]) == #"{"say \"hi\"","C:\\dir"}"#)
        #expect(SQLArrayLiteral.text(["Zoë ☕︎ 日本"]) == "{\"Zoë ☕︎ 日本\"}")
    }

    @Test func integersAreBareAndNilIsNull() {
        #expect(SQLArrayLiteral.integers([]) == "{}")
        #expect(SQLArrayLiteral.integers([1, nil, -9_223_372_036_854_775_808, 0]) == "{1,NULL,-9223372036854775808,0}")
    }

    /// `values`: one column of any bound values; bytes in bytea's hex form, timestamps as whole microseconds.
    @Test func boundValuesBecomeQuotedElements() {
        #expect(SQLArrayLiteral.values([]) == "{}")
        #expect(SQLArrayLiteral.values([.null, .bool(true), .bool(false), .int(-7)]) == #"{NULL,"t","f","-7"}"#)
        #expect(SQLArrayLiteral.values([.text(#"a"b\"#), .json(#"{"k":"v"}"#)]) == #"{"a\"b\\","{\"k\":\"v\"}"}"#)
        #expect(SQLArrayLiteral.values([.bytes([0x00, 0x5c, 0xff]), .bytes([])]) == #"{"\\x005cff","\\x"}"#)
        #expect(SQLArrayLiteral.values([.timestamp(Date(timeIntervalSince1970: -1.000_000_4))]) == #"{"-1000000"}"#)
        #expect(SQLArrayLiteral.values([.timestamp(Date(timeIntervalSince1970: 1_700_000_000.123_456))]) == #"{"1700000000123456"}"#)
        #expect(SQLArrayLiteral.values([.double(.nan), .double(-.infinity), .double(1.5)]) == #"{"NaN","-Infinity","1.5"}"#)
    }

    /// `SQLArrayColumns`: built row by row, each column is the literal `values` writes for it.
    @Test func columnsBuiltRowByRowEqualEachColumnsValues() {
        let samples: [SQLValue] = [.null, .bool(true), .int(0), .int(-7), .int(Int64.min), .int(Int64.max),
                                   .text(#"a"b\"#), .text(""), .text("Zoë"), .json(#"{"k":"v"}"#), .bytes([0x00, 0x5c]),
                                   .timestamp(Date(timeIntervalSince1970: -1.000_000_4)),
                                   .timestamp(Date(timeIntervalSince1970: 1_700_000_000.123_456)), .double(-.infinity)]
        var generator = SystemRandomNumberGenerator()
        for rowCount in [0, 1, 2, 64] {
            let rows = (0..<rowCount).map { _ in (0..<5).map { _ in samples.randomElement(using: &generator)! } }
            var columns = SQLArrayColumns(count: 5, rowsExpected: rowCount)
            for row in rows { columns.append(row) }
            #expect(columns.literals == (0..<5).map { column in SQLArrayLiteral.values(rows.map { $0[column] }) })
            let all = rows.flatMap { $0 }
            #expect(SQLArrayLiteral.values(all) == SQLArrayLiteral.text(all.map(Self.referenceText)))
        }
    }

    /// The element text `values` was first written with (one String per element), kept as the reference.
    private static func referenceText(_ value: SQLValue) -> String? {
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

    /// `SQLByteSlices`: the elements back to back in one blob, 1-based starts and lengths; nil is NULL in both.
    @Test func byteSlicesKeepEveryElementsBounds() {
        let slices = SQLByteSlices([[1, 2], nil, [], [0x22, 0x5c, 0]])
        #expect(slices.blob == [1, 2, 0x22, 0x5c, 0])
        #expect(slices.starts == "{1,NULL,3,3}")
        #expect(slices.lengths == "{2,NULL,0,3}")
        #expect(SQLByteSlices([]).blob.isEmpty && SQLByteSlices([]).starts == "{}")
    }
}
