import CashRoundingContract
import Kernel

/// The head of one merchant's chain (per mode), read under its row lock.
struct ChainHead: Sendable {
    var position: Int64
    var hash: String
    var counters: FraudCounters
    var indianaMode: CashRoundingMode?
}

/// A record about to be appended: the event fields (hashed) plus the typed copies for indexes.
struct RecordDraft: Sendable {
    var recordId: String
    var eventType: String
    var linkedId: String?
    var employeeId: String?
    var reasonCode: String?
    var paymentMethod: String?
    var complianceStatus: String?
    var ledgerTotalCents: Int64?
    var cashTotalCents: Int64?
    var roundingDeltaCents: Int64?
    /// Event-specific fields; the chain adds the common ones (see `AuditChain.recordObject`).
    var fields: [String: JSONValue]
}

/// A record as stored.
struct ChainRecord: Sendable {
    let position: Int64
    let recordId: String
    let auditHash: String
    let previousHash: String
    let record: JSONValue
}
