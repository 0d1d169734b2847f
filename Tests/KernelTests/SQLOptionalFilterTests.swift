import Foundation
import Kernel
import Testing

/// `\(and: "column op ?", value)`: only the filters present are in the statement text.
@Suite struct SQLOptionalFilterTests {
    static func listing(before: String?, event: String?, since: Date?) -> SQL {
        """
        SELECT * FROM log WHERE merchant_id = \("m1")\(and: "id < ?", before)\(and: "event = ?", event)\
        \(and: "occurred_at >= ?", since) ORDER BY id DESC LIMIT \(10)
        """
    }

    @Test func absentFiltersLeaveNoTraceAndPresentOnesAreBoundInOrder() {
        let none = Self.listing(before: nil, event: nil, since: nil)
        #expect(none.text == "SELECT * FROM log WHERE merchant_id = $1 ORDER BY id DESC LIMIT $2")
        #expect(none.binds == [.text("m1"), .int(10)])

        let some = Self.listing(before: "x9", event: nil, since: Date(timeIntervalSince1970: 0))
        #expect(some.text == "SELECT * FROM log WHERE merchant_id = $1 AND id < $2 AND occurred_at >= $3 ORDER BY id DESC LIMIT $4")
        #expect(some.binds == [.text("m1"), .text("x9"), .timestamp(Date(timeIntervalSince1970: 0)), .int(10)])
    }

    @Test func theValueIsBoundWhereTheQuestionMarkStands() {
        let types: String? = "SALE,REFUND"
        let sql: SQL = "SELECT 1 WHERE true\(and: "event_type = ANY (string_to_array(?, ','))", types)"
        #expect(sql.text == "SELECT 1 WHERE true AND event_type = ANY (string_to_array($1, ','))")
        #expect(sql.binds == [.text("SALE,REFUND")])
    }

    @Test func aLiteralFragmentIsSplicedAsSourceText() {
        let columns: StaticString = "id, created_at::text AS created_at"
        let sql: SQL = "SELECT \(literal: columns) FROM t WHERE id = \("a")"
        #expect(sql.text == "SELECT id, created_at::text AS created_at FROM t WHERE id = $1")
        #expect(sql.binds == [.text("a")])
    }
}
