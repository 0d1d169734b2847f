import Foundation
import Kernel

/// One break found by verification.
struct ChainBreak: Sendable {
    let position: Int64
    let recordId: String?
    let previousRecordId: String?
    let reason: String

    var json: JSONValue {
        ["chain_position": .int(position), "record_id": recordId.map(JSONValue.string) ?? .null,
         "previous_record_id": previousRecordId.map(JSONValue.string) ?? .null,
         "affected_entry_ids": .array([previousRecordId, recordId].compactMap { $0 }.map(JSONValue.string)),
         "reason": .string(reason)]
    }
}

struct ChainVerification: Sendable {
    var totalCount: Int64 = 0
    var verifiedCount: Int64 = 0
    var breaks: [ChainBreak] = []
}

extension AuditChain {
    /// Rows read per query while verifying, so memory stays flat however long the chain is.
    static let verifyBatchRows = 2_000
    /// Breaks listed in one report; the count is always exact.
    static let reportedBreaksMax = 100

    /// Walks the chain from genesis without locks (a plain snapshot read per batch): recomputes every
    /// hash, checks each link, gaps in positions, the typed columns against the hashed record, and the head.
    func verify(_ database: any Database, tenant: TenantContext) async throws -> (ChainVerification, Int64) {
        var result = ChainVerification()
        var breakCount: Int64 = 0
        var expectedPosition: Int64 = 1
        var previousHash = AuditChain.genesisHash
        var previousId: String? = nil
        var after: Int64 = 0
        func report(_ item: ChainBreak) {
            breakCount += 1
            if result.breaks.count < AuditChain.reportedBreaksMax { result.breaks.append(item) }
        }
        while true {
            let rows = try await database.query("""
                SELECT * FROM rounding_records WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
                  AND chain_position > \(after) ORDER BY chain_position LIMIT \(AuditChain.verifyBatchRows)
                """)
            for row in rows {
                let position: Int64 = try row.decode("chain_position")
                let recordId = row.text("record_id")
                result.totalCount += 1
                var problems: [String] = []
                if position != expectedPosition {
                    problems.append("positions \(expectedPosition)…\(position - 1) are missing")
                }
                let storedPrevious = row.text("previous_hash") ?? ""
                if storedPrevious != previousHash { problems.append("previous_hash does not match the preceding record") }
                let json = row.text("record_json") ?? ""
                let recomputed = hashRecord(previousHash: storedPrevious, canonical: Array(json.utf8))
                let stored = row.text("audit_hash") ?? ""
                if recomputed != stored { problems.append("audit_hash does not match the record contents") }
                problems += ChainStore.columnMismatches(row, position: position)
                if problems.isEmpty {
                    result.verifiedCount += 1
                } else {
                    report(ChainBreak(position: position, recordId: recordId, previousRecordId: previousId,
                                      reason: problems.joined(separator: "; ")))
                }
                expectedPosition = position + 1
                previousHash = stored
                previousId = recordId
                after = position
            }
            if rows.count < AuditChain.verifyBatchRows { break }
        }
        if let head = try await database.queryFirst("""
            SELECT position, head_hash FROM rounding_chain_heads
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            """) {
            let headPosition: Int64 = try head.decode("position")
            if headPosition != after || (head.text("head_hash") ?? "") != previousHash {
                report(ChainBreak(position: headPosition, recordId: nil, previousRecordId: previousId,
                                  reason: "chain head (position \(headPosition)) does not match the last record (position \(after)): records removed or head altered"))
            }
        }
        return (result, breakCount)
    }
}
