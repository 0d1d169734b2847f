import Foundation
import Kernel

/// Reads the open period's running totals, and recomputes them from scratch for the admin check.
struct TotalsStore: Sendable {
    let database: any Database

    /// The running totals of `currency` (all zeros when the currency has no activity yet).
    func totals(_ currency: String, tenant: TenantContext, executor: (any SQLExecutor)? = nil) async throws -> TransactionTotals {
        let row = try await (executor ?? database).queryFirst("""
            SELECT sale_count, sale_amount, refund_count, refund_amount, void_count, void_amount, pre_auth_count,
                pre_auth_amount FROM reconciliation_totals
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND currency = \(currency)
            """)
        guard let row else { return TransactionTotals(currency: currency) }
        return try TransactionTotals(row: row, currency: currency)
    }

    /// The currency a request without one means: the tenant's most recently active currency, else `fallback`.
    func defaultCurrency(tenant: TenantContext, fallback: String) async throws -> String {
        let row = try await database.queryFirst("""
            SELECT currency FROM reconciliation_totals WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            ORDER BY last_activity_at DESC, currency LIMIT 1
            """)
        return try row?.decode("currency") ?? fallback
    }

    /// One (tenant, currency) whose running totals differ from the sums over its open items.
    struct Mismatch: Sendable, Hashable, CustomStringConvertible {
        let merchantId: String
        let mode: String
        let currency: String
        let kept: TransactionTotals
        let recomputed: TransactionTotals

        var description: String {
            "\(merchantId) \(mode) \(currency): kept \(kept.json.serializedText), recomputed \(recomputed.json.serializedText)"
        }
    }

    /// Every (tenant, currency) where the kept totals differ from a recomputation over the open items;
    /// empty when the invariant holds. `merchantId` narrows the check to one merchant.
    func mismatches(merchantId: String? = nil) async throws -> [Mismatch] {
        let rows = try await database.query("""
            WITH recomputed AS (
                SELECT merchant_id, mode, currency, \(literal: TransactionTotals.sumsSQL)
                FROM reconciliation_items WHERE settlement_id IS NULL\(and: "merchant_id = ?", merchantId)
                GROUP BY merchant_id, mode, currency
            ), kept AS (
                SELECT * FROM reconciliation_totals WHERE true\(and: "merchant_id = ?", merchantId)
            )
            SELECT COALESCE(k.merchant_id, r.merchant_id) AS merchant_id, COALESCE(k.mode, r.mode) AS mode,
                COALESCE(k.currency, r.currency) AS currency,
                COALESCE(k.sale_count, 0) AS sale_count, COALESCE(k.sale_amount, 0) AS sale_amount,
                COALESCE(k.refund_count, 0) AS refund_count, COALESCE(k.refund_amount, 0) AS refund_amount,
                COALESCE(k.void_count, 0) AS void_count, COALESCE(k.void_amount, 0) AS void_amount,
                COALESCE(k.pre_auth_count, 0) AS pre_auth_count, COALESCE(k.pre_auth_amount, 0) AS pre_auth_amount,
                COALESCE(r.sale_count, 0) AS r_sale_count, COALESCE(r.sale_amount, 0) AS r_sale_amount,
                COALESCE(r.refund_count, 0) AS r_refund_count, COALESCE(r.refund_amount, 0) AS r_refund_amount,
                COALESCE(r.void_count, 0) AS r_void_count, COALESCE(r.void_amount, 0) AS r_void_amount,
                COALESCE(r.pre_auth_count, 0) AS r_pre_auth_count, COALESCE(r.pre_auth_amount, 0) AS r_pre_auth_amount
            FROM kept k FULL JOIN recomputed r
                ON k.merchant_id = r.merchant_id AND k.mode = r.mode AND k.currency = r.currency
            WHERE (COALESCE(k.sale_count, 0), COALESCE(k.sale_amount, 0), COALESCE(k.refund_count, 0),
                   COALESCE(k.refund_amount, 0), COALESCE(k.void_count, 0), COALESCE(k.void_amount, 0),
                   COALESCE(k.pre_auth_count, 0), COALESCE(k.pre_auth_amount, 0))
               IS DISTINCT FROM
                  (COALESCE(r.sale_count, 0), COALESCE(r.sale_amount, 0), COALESCE(r.refund_count, 0),
                   COALESCE(r.refund_amount, 0), COALESCE(r.void_count, 0), COALESCE(r.void_amount, 0),
                   COALESCE(r.pre_auth_count, 0), COALESCE(r.pre_auth_amount, 0))
            ORDER BY 1, 2, 3
            """)
        return try rows.map { row in
            let currency: String = try row.decode("currency")
            var recomputed = TransactionTotals(currency: currency)
            recomputed.saleCount = try row.decode("r_sale_count")
            recomputed.saleAmount = try row.decode("r_sale_amount")
            recomputed.refundCount = try row.decode("r_refund_count")
            recomputed.refundAmount = try row.decode("r_refund_amount")
            recomputed.voidCount = try row.decode("r_void_count")
            recomputed.voidAmount = try row.decode("r_void_amount")
            recomputed.preAuthCount = try row.decode("r_pre_auth_count")
            recomputed.preAuthAmount = try row.decode("r_pre_auth_amount")
            return Mismatch(merchantId: try row.decode("merchant_id"), mode: try row.decode("mode"), currency: currency,
                            kept: try TransactionTotals(row: row, currency: currency), recomputed: recomputed)
        }
    }
}

extension JSONValue {
    var serializedText: String { String(decoding: serialized(), as: UTF8.self) }
}
