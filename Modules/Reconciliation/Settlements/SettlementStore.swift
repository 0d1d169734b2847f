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
}
