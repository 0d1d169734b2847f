import Foundation
import Kernel

// Request bodies of the tip and tip-pool endpoints: every field optional at decode time, checked by
// `TipHandlers` in the documented order.

struct TipBody: Decodable {
    let transactionId: String?
    let employeeId: String?
    let employeeName: String?
    let tipAmount: DollarAmount?
    enum CodingKeys: String, CodingKey {
        case transactionId = "transaction_id", employeeId = "employee_id", employeeName = "employee_name"
        case tipAmount = "tip_amount"
    }
}

struct TipAdjustBody: Decodable {
    let tipId: String?
    let tipAmount: DollarAmount?
    let employeeId: String?
    let reason: String?
    enum CodingKeys: String, CodingKey { case tipId = "tip_id", tipAmount = "tip_amount", employeeId = "employee_id", reason }
}

struct PoolCreateBody: Decodable {
    let poolName: String?
    let tipIds: [String]?
    let distributionMethod: String?
    let participants: [Participant]?
    enum CodingKeys: String, CodingKey {
        case poolName = "pool_name", tipIds = "tip_ids", distributionMethod = "distribution_method", participants
    }

    /// `{employeeId, employeeName}` (camelCase, as documented) plus `weight` (weighted) or `hours` (hours_based).
    struct Participant: Decodable {
        let employeeId: String?
        let employeeName: String?
        let weight: Int64?
        let hours: DollarAmount?
    }
}

struct PoolDistributeBody: Decodable {
    let poolId: String?
    enum CodingKeys: String, CodingKey { case poolId = "pool_id" }
}

/// `distribution_method` values exactly as the spec lists them.
enum PoolDistributionMethod: String, CaseIterable {
    case equal, weighted
    case hoursBased = "hours_based"
}
