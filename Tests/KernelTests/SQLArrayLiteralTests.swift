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
}
