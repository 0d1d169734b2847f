import Foundation
import Kernel

/// The seven documented `type` values of `POST /v1/transaction/sale` (spec §3.1).
public enum TransactionType: String, Sendable, Hashable, CaseIterable, Codable {
    case sale = "SALE"
    case preAuth = "PRE_AUTH"
    case preAuthComplete = "PRE_AUTH_COMPLETE"
    case refund = "REFUND"
    case void = "VOID"
    case cardRead = "CARD_READ"
    case balanceInquiry = "BALANCE_INQUIRY"

    /// REFUND, VOID and PRE_AUTH_COMPLETE act on an earlier transaction.
    public var needsOriginal: Bool { self == .refund || self == .void || self == .preAuthComplete }
    /// CARD_READ and BALANCE_INQUIRY move no money: amount must be 0.
    public var isZeroAmount: Bool { self == .cardRead || self == .balanceInquiry }
}

/// Final and in-flight states. Only final states are stored in `transactions`; IN_PROGRESS lives in
/// the terminal lock table while the acquirer call runs, AWAITING_COMPLETION in the granular pending table
/// while the POS gets the issuer's answer (`GranularState`).
public enum TransactionStatus: String, Sendable, Hashable, CaseIterable, Codable {
    case inProgress = "IN_PROGRESS"
    case awaitingCompletion = "AWAITING_COMPLETION"
    case approved = "APPROVED"
    case declined = "DECLINED"
    case aborted = "ABORTED"
    case error = "ERROR"
    /// An APPROVED transaction that a later VOID cancelled.
    case voided = "VOIDED"
    /// An APPROVED PRE_AUTH neither completed nor voided within the pre-authorization window
    /// (`PreAuthExpiryLimits`): the expiry sweep set it, with a `transaction.expired` event.
    case expired = "EXPIRED"

    /// The states a `transactions` row can hold (the list filter's values).
    public var isFinal: Bool { self != .inProgress && self != .awaitingCompletion }
}

public enum EntryMode: String, Sendable, Hashable, CaseIterable {
    case contactless = "CONTACTLESS"
    case contact = "CONTACT"
    case auto = "AUTO"
}

/// Documented request limits (docs/transactions.md).
public enum SaleLimits {
    public static let referenceIdLengthMax = 64
    public static let terminalIdLengthMax = 64
    public static let metadataKeysMax = 50
    public static let metadataKeyLengthMax = 40
    public static let metadataValueLengthMax = 500
    public static let metadataBytesMax = 8_192
    /// Default per-transaction ceiling (amount + tip + cashback) when the merchant configured none.
    public static let defaultAmountCeilingMinorUnits: Int64 = 10_000_000
}
