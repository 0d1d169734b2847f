import Foundation
import Kernel

/// Reads settlements and their line items. Every statement is scoped by merchant_id and mode, so another
/// tenant's or the other mode's settlement is simply not found.
struct SettlementStore: Sendable {
    let database: any Database

    struct ListFilter: Sendable {
        var from: Date?
        var to: Date?
        var currency: String?
        var beforeId: String?
        var limit: Int
    }

    /// Newest first (settlement ids are ULIDs taken at the close, so id order is `closedAt` order); fetches
    /// limit + 1 to know hasMore.
    func list(_ filter: ListFilter, tenant: TenantContext) async throws -> [SettlementRecord] {
        try await database.query("""
            SELECT \(literal: SettlementRecord.columns) FROM reconciliation_settlements
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)\(and: "closed_at >= ?", filter.from)\
            \(and: "closed_at < ?", filter.to)\(and: "currency = ?", filter.currency)\(and: "id < ?", filter.beforeId)
            ORDER BY id DESC LIMIT \(filter.limit + 1)
            """).map(SettlementRecord.init(row:))
    }

    func find(_ id: String, tenant: TenantContext) async throws -> SettlementRecord? {
        try await database.queryFirst("""
            SELECT \(literal: SettlementRecord.columns) FROM reconciliation_settlements
            WHERE id = \(id) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            """).map(SettlementRecord.init(row:))
    }

    struct ItemFilter: Sendable {
        var type: String?
        var afterId: String?
        var limit: Int
    }

    /// The settlement's line items in timestamp order (transaction ids are ULIDs taken at creation, so id
    /// order is timestamp order); PRE_AUTHs are counted in a period but never settled, so never listed.
    func items(of settlementId: String, _ filter: ItemFilter, tenant: TenantContext) async throws -> [SettlementItem] {
        try await database.query("""
            SELECT \(literal: SettlementItem.columns) FROM reconciliation_items
            WHERE settlement_id = \(settlementId) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
              AND type <> 'PRE_AUTH'\(and: "type = ?", filter.type)\(and: "transaction_id > ?", filter.afterId)
            ORDER BY transaction_id LIMIT \(filter.limit + 1)
            """).map(SettlementItem.init(row:))
    }

    /// One page of the CSV export, written by PostgreSQL: the lines (each ending in a newline) of at most `limit`
    /// items after `afterId`, in transaction id order, with their count and the last id. The text is what
    /// `SettlementExport` writes for the same items (RFC 4180 quoting, the columns of `exportColumns`, UTC
    /// timestamps to the second); building it in SQL spares the server a row decode and a format per line,
    /// which held the export to a few MB/s.
    func csvPage(of settlementId: String, afterId: String?, limit: Int, tenant: TenantContext) async throws -> CSVPage {
        let row = try await database.queryFirst("""
            WITH page AS (
                SELECT transaction_id, type, status, amount, currency, card_scheme, masked_pan, authorization_code,
                    occurred_at
                FROM reconciliation_items
                WHERE settlement_id = \(settlementId) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
                  AND type <> 'PRE_AUTH'\(and: "transaction_id > ?", afterId)
                ORDER BY transaction_id LIMIT \(limit)
            )
            SELECT count(*) AS line_count, max(transaction_id) AS last_id,
                coalesce(string_agg(\(literal: Self.csvLineSQL) || E'\\n', '' ORDER BY transaction_id), '') AS lines
            FROM page
            """)
        guard let row else { throw DatabaseError(kind: .decoding, message: "an export page returns one row") }
        return CSVPage(lines: try row.decode("lines"), lineCount: try row.decode("line_count"), lastId: try row.decode("last_id"))
    }

    struct CSVPage: Sendable {
        let lines: String
        let lineCount: Int
        let lastId: String?
    }

    /// One item of `page` as a CSV line without its newline (see `csvPage`).
    static let csvLineSQL: StaticString = """
        CASE WHEN transaction_id ~ '[",\\r\\n]' THEN '"' || replace(transaction_id, '"', '""') || '"' ELSE transaction_id END
        || ',' || CASE WHEN type ~ '[",\\r\\n]' THEN '"' || replace(type, '"', '""') || '"' ELSE type END
        || ',' || CASE WHEN status ~ '[",\\r\\n]' THEN '"' || replace(status, '"', '""') || '"' ELSE status END
        || ',' || amount::text
        || ',' || CASE WHEN currency ~ '[",\\r\\n]' THEN '"' || replace(currency, '"', '""') || '"' ELSE currency END
        || ',' || CASE WHEN coalesce(card_scheme, '') ~ '[",\\r\\n]' THEN '"' || replace(coalesce(card_scheme, ''), '"', '""') || '"' ELSE coalesce(card_scheme, '') END
        || ',' || CASE WHEN coalesce(masked_pan, '') ~ '[",\\r\\n]' THEN '"' || replace(coalesce(masked_pan, ''), '"', '""') || '"' ELSE coalesce(masked_pan, '') END
        || ',' || CASE WHEN coalesce(authorization_code, '') ~ '[",\\r\\n]' THEN '"' || replace(coalesce(authorization_code, ''), '"', '""') || '"' ELSE coalesce(authorization_code, '') END
        || ',' || to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        """
}
