public import Foundation
public import Kernel

/// One line of a settlement batch as the acquirer sees it: a transaction of the closed period.
public struct SettlementLine: Sendable, Hashable {
    public let transactionId: String
    /// SALE, PRE_AUTH_COMPLETE, REFUND or VOID.
    public let type: String
    public let amountMinorUnits: Int64
    public let authorizationCode: String?

    public init(transactionId: String, type: String, amountMinorUnits: Int64, authorizationCode: String?) {
        precondition(amountMinorUnits >= 0, "a settlement line's amount is never negative; its type gives the sign")
        self.transactionId = transactionId
        self.type = type
        self.amountMinorUnits = amountMinorUnits
        self.authorizationCode = authorizationCode
    }
}

/// A closed period submitted for settlement. `(settlementId, attempt)` is the idempotency reference:
/// submitting the same pair again must answer the same outcome without settling twice. `attempt` grows only
/// when an operator retries a FAILED settlement: the acquirer then judges the batch anew.
public struct SettlementSubmission: Sendable, Hashable {
    public let settlementId: String
    /// 1 for the close's submission; 2, 3, … for each retry of a FAILED settlement.
    public let attempt: Int
    public let tenant: TenantContext
    public let currency: String
    public let closedAt: Date
    /// sales + completions − refunds − voids, in minor units of `currency`.
    public let netAmountMinorUnits: Int64
    public let lines: [SettlementLine]

    public init(settlementId: String, tenant: TenantContext, currency: String, closedAt: Date, netAmountMinorUnits: Int64,
                lines: [SettlementLine], attempt: Int = 1) {
        precondition(attempt >= 1, "attempts count from 1")
        self.settlementId = settlementId
        self.attempt = attempt
        self.tenant = tenant
        self.currency = currency
        self.closedAt = closedAt
        self.netAmountMinorUnits = netAmountMinorUnits
        self.lines = lines
    }
}

/// The documented settlement statuses (commerce-api §3.4).
public enum SettlementStatus: String, Sendable, Hashable, CaseIterable {
    /// Accepted by the acquirer, funding not yet confirmed.
    case pending = "PENDING"
    case settled = "SETTLED"
    /// Rejected as a whole: nothing will be funded.
    case failed = "FAILED"
    /// Accepted except `rejectedTransactionIds`.
    case partial = "PARTIAL"
}

/// The acquirer's answer to a submission.
public struct SettlementOutcome: Sendable, Hashable {
    public let status: SettlementStatus
    public let acquirerBatchRef: String?
    public let fundingDate: Date?
    /// The lines the acquirer refused (PARTIAL: some; FAILED: all, or empty meaning all).
    public let rejectedTransactionIds: [String]

    public init(status: SettlementStatus, acquirerBatchRef: String?, fundingDate: Date?, rejectedTransactionIds: [String] = []) {
        self.status = status
        self.acquirerBatchRef = acquirerBatchRef
        self.fundingDate = fundingDate
        self.rejectedTransactionIds = rejectedTransactionIds
    }
}

/// The settlement half of the acquirer seam: the same acquirer that authorizes a mode's sales settles
/// its closed periods (Reconciliation calls it; Transactions provides it, see `AcquirerDirectory`).
public protocol SettlementAcquirer: Sendable {
    func settle(_ submission: SettlementSubmission) async throws -> SettlementOutcome
}

/// The acquirer's own record of a settled batch: its settlement file, CSV with the header
/// `transactionId,type,amount` (amount in minor units), for matching against ours.
public protocol SettlementFileSource: Sendable {
    func settlementFile(_ submission: SettlementSubmission) async throws -> String
}

/// Which acquirer serves a mode: test mode always the deterministic simulator, live mode the configured
/// acquirer (nil when none is). Provided by the module that owns the acquirer wiring (Transactions).
public protocol AcquirerDirectory: Sendable {
    func cardAcquirer(for mode: Mode) -> (any CardAcquirer)?
    func settlementAcquirer(for mode: Mode) -> (any SettlementAcquirer)?
    func settlementFiles(for mode: Mode) -> (any SettlementFileSource)?
}

extension ModuleServices {
    /// The acquirers of each mode; nil when no wired module provides them.
    public var acquirers: (any AcquirerDirectory)? { contracts.resolve((any AcquirerDirectory).self) }
}
