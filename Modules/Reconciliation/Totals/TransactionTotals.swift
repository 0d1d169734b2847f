import Kernel

/// The documented TransactionTotals (commerce-api §3.4): counts and amounts (minor units) of one currency.
/// SALE and PRE_AUTH_COMPLETE count as sales (a completion is the captured sale of a pre-authorization);
/// a PRE_AUTH is counted but never settled. Amounts are the transactions' `amount` (tips and cashback
/// are not in the documented totals).
struct TransactionTotals: Sendable, Hashable {
    var currency: String
    var saleCount: Int64 = 0
    var saleAmount: Int64 = 0
    var refundCount: Int64 = 0
    var refundAmount: Int64 = 0
    var voidCount: Int64 = 0
    var voidAmount: Int64 = 0
    var preAuthCount: Int64 = 0
    var preAuthAmount: Int64 = 0

    init(currency: String) {
        self.currency = currency
    }

    /// Reads the eight `*_count`/`*_amount` columns every totals-shaped query selects.
    init(row: Row, currency: String) throws(DatabaseError) {
        self.currency = currency
        saleCount = try row.decode("sale_count")
        saleAmount = try row.decode("sale_amount")
        refundCount = try row.decode("refund_count")
        refundAmount = try row.decode("refund_amount")
        voidCount = try row.decode("void_count")
        voidAmount = try row.decode("void_amount")
        preAuthCount = try row.decode("pre_auth_count")
        preAuthAmount = try row.decode("pre_auth_amount")
        precondition([saleCount, saleAmount, refundCount, refundAmount, voidCount, voidAmount, preAuthCount,
                      preAuthAmount].allSatisfy { $0 >= 0 }, "totals are never negative")
    }

    /// What the acquirer pays out: sales − refunds − voids (commerce-api §8).
    var netAmount: Int64 { saleAmount - refundAmount - voidAmount }

    var isEmpty: Bool { saleCount == 0 && refundCount == 0 && voidCount == 0 && preAuthCount == 0 }

    var json: JSONValue {
        ["saleCount": .int(saleCount), "saleAmount": .int(saleAmount), "refundCount": .int(refundCount),
         "refundAmount": .int(refundAmount), "voidCount": .int(voidCount), "voidAmount": .int(voidAmount),
         "preAuthCount": .int(preAuthCount), "preAuthAmount": .int(preAuthAmount), "currency": .string(currency)]
    }

    /// The aggregate select list over a relation with `type` and `amount` columns (items, claimed items).
    static let sumsSQL: StaticString = """
        count(*) FILTER (WHERE type IN ('SALE', 'PRE_AUTH_COMPLETE')) AS sale_count,
        COALESCE(sum(amount) FILTER (WHERE type IN ('SALE', 'PRE_AUTH_COMPLETE')), 0)::bigint AS sale_amount,
        count(*) FILTER (WHERE type = 'REFUND') AS refund_count,
        COALESCE(sum(amount) FILTER (WHERE type = 'REFUND'), 0)::bigint AS refund_amount,
        count(*) FILTER (WHERE type = 'VOID') AS void_count,
        COALESCE(sum(amount) FILTER (WHERE type = 'VOID'), 0)::bigint AS void_amount,
        count(*) FILTER (WHERE type = 'PRE_AUTH') AS pre_auth_count,
        COALESCE(sum(amount) FILTER (WHERE type = 'PRE_AUTH'), 0)::bigint AS pre_auth_amount
        """
}
