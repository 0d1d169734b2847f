public import CashRoundingContract
public import Foundation
public import Kernel

/// What the rules need to know about the transaction a REFUND, VOID or PRE_AUTH_COMPLETE points at.
/// Read under `SELECT … FOR UPDATE`, so the check and the write see the same row.
public struct OriginalSnapshot: Sendable, Hashable {
    public var id: String
    public var type: TransactionType
    public var status: TransactionStatus
    public var amount: Int64
    public var tipAmount: Int64
    public var currency: String
    public var tender: TenderType
    /// Sum of APPROVED refunds so far.
    public var refundedAmount: Int64
    /// For a PRE_AUTH: the completion's transaction id once completed.
    public var completionTransactionId: String?
    /// Set by reconciliation when the transaction's settlement period closed.
    public var settlementId: String?
    /// The merchant-local calendar day the original was created on ("2026-04-08").
    public var businessDate: String
    /// An open PRE_AUTH (APPROVED, not completed) whose window ran out by the service's clock, though the expiry
    /// sweep has not marked it EXPIRED yet: refused like an expired one (`PreAuthExpiryLimits.isPastWindow`).
    public var windowExpired: Bool = false

    public init(id: String, type: TransactionType, status: TransactionStatus, amount: Int64, tipAmount: Int64,
                currency: String, tender: TenderType, refundedAmount: Int64, completionTransactionId: String?,
                settlementId: String?, businessDate: String) {
        self.id = id
        self.type = type
        self.status = status
        self.amount = amount
        self.tipAmount = tipAmount
        self.currency = currency
        self.tender = tender
        self.refundedAmount = refundedAmount
        self.completionTransactionId = completionTransactionId
        self.settlementId = settlementId
        self.businessDate = businessDate
    }

    /// What a refund may return in total: the captured goods amount plus tip (cashback was handed
    /// out as cash and is not refundable to the card).
    public var refundableAmount: Int64 { amount + tipAmount }
}

/// The effect an approved follow-up transaction has on its original.
public enum OriginalEffect: Sendable, Hashable {
    /// Refunds so far become `refundedTotal`.
    case refund(refundedTotal: Int64)
    /// The original becomes VOIDED.
    case void
    /// The PRE_AUTH is marked completed.
    case complete
}

/// The state machine for follow-up transactions, as pure functions (no database, no clock):
///
/// - VOID: original APPROVED (not already VOIDED), not settled, created on the current business day,
///   no approved refunds against it, a PRE_AUTH not yet completed; amount 0 (= whole) or exactly the original's.
/// - REFUND: original an APPROVED SALE or PRE_AUTH_COMPLETE; partial and repeated refunds allowed while
///   refunded + amount ≤ amount + tip of the original.
/// - PRE_AUTH_COMPLETE: original an APPROVED PRE_AUTH, completed at most once, amount ≤ authorized amount.
/// - A PRE_AUTH past its window (EXPIRED, or run out by the clock before the sweep marked it) is neither completed
///   nor voided: 409 PRE_AUTH_EXPIRED.
/// - Every follow-up uses the original's currency and tender.
///
/// Violations that depend on the original's stored state are 409; a request that is wrong on its own is 400.
public enum TransactionRules {
    public static func check(type: TransactionType, amount: Int64, currency: String, original: OriginalSnapshot,
                             currentBusinessDate: String) throws(AtlasError) -> (amount: Int64, effect: OriginalEffect) {
        guard currency == original.currency else {
            throw AtlasError(kind: .invalidCurrency, status: 400, code: "CURRENCY_MISMATCH",
                             message: "currency must equal the original transaction's currency (\(original.currency))",
                             details: ErrorDetails(field: "currency", value: .string(currency), constraint: "equalsOriginal"))
        }
        switch type {
        case .void: return try checkVoid(amount: amount, original: original, currentBusinessDate: currentBusinessDate)
        case .refund: return try checkRefund(amount: amount, original: original)
        case .preAuthComplete: return try checkCompletion(amount: amount, original: original)
        default:
            throw AtlasError.invalidField("type", "\(type.rawValue) does not take an original transaction", constraint: "enum")
        }
    }

    static func checkVoid(amount: Int64, original: OriginalSnapshot, currentBusinessDate: String) throws(AtlasError)
        -> (amount: Int64, effect: OriginalEffect) {
        guard original.status != .voided else {
            throw TransactionErrors.stateConflict("ALREADY_VOIDED", "The original transaction is already voided")
        }
        try checkNotExpired(original)
        guard original.status == .approved else {
            throw TransactionErrors.stateConflict("ORIGINAL_NOT_APPROVED", "Only APPROVED transactions can be voided")
        }
        guard [.sale, .preAuth, .preAuthComplete, .refund].contains(original.type) else {
            throw TransactionErrors.stateConflict("NOT_VOIDABLE", "\(original.type.rawValue) transactions cannot be voided")
        }
        guard original.settlementId == nil else {
            throw TransactionErrors.stateConflict("TRANSACTION_SETTLED", "The original transaction is already settled; refund it instead")
        }
        guard original.businessDate == currentBusinessDate else {
            throw TransactionErrors.stateConflict("VOID_WINDOW_CLOSED", "Voids are only possible on the business day of the original; refund it instead")
        }
        guard original.refundedAmount == 0 else {
            throw TransactionErrors.stateConflict("TRANSACTION_HAS_REFUNDS", "The original has refunds; void or keep them instead")
        }
        guard original.completionTransactionId == nil else {
            throw TransactionErrors.stateConflict("PRE_AUTH_ALREADY_COMPLETED", "The pre-authorization was completed; void the completion")
        }
        let whole = original.amount + original.tipAmount
        guard amount == 0 || amount == original.amount || amount == whole else {
            throw TransactionErrors.invalidAmount("A VOID's amount must be 0 or the original's amount", constraint: "equalsOriginal",
                                                  value: amount)
        }
        return (original.amount, .void)
    }

    static func checkRefund(amount: Int64, original: OriginalSnapshot) throws(AtlasError) -> (amount: Int64, effect: OriginalEffect) {
        guard original.type == .sale || original.type == .preAuthComplete else {
            throw TransactionErrors.stateConflict("NOT_REFUNDABLE", "Only SALE and PRE_AUTH_COMPLETE transactions can be refunded")
        }
        guard original.status != .voided else {
            throw TransactionErrors.stateConflict("ALREADY_VOIDED", "The original transaction was voided")
        }
        guard original.status == .approved else {
            throw TransactionErrors.stateConflict("ORIGINAL_NOT_APPROVED", "Only APPROVED transactions can be refunded")
        }
        let (total, overflow) = original.refundedAmount.addingReportingOverflow(amount)
        guard !overflow, total <= original.refundableAmount else {
            throw AtlasError(kind: .conflict, status: 409, code: "REFUND_EXCEEDS_CAPTURED",
                             message: "Refunds would exceed the captured amount (\(original.refundableAmount), already refunded \(original.refundedAmount))",
                             details: ErrorDetails(field: "amount", value: .int(amount), constraint: "maximum"))
        }
        return (amount, .refund(refundedTotal: total))
    }

    static func checkCompletion(amount: Int64, original: OriginalSnapshot) throws(AtlasError) -> (amount: Int64, effect: OriginalEffect) {
        guard original.type == .preAuth else {
            throw TransactionErrors.stateConflict("NOT_A_PRE_AUTH", "PRE_AUTH_COMPLETE needs an original PRE_AUTH")
        }
        guard original.status != .voided else {
            throw TransactionErrors.stateConflict("ALREADY_VOIDED", "The pre-authorization was voided")
        }
        try checkNotExpired(original)
        guard original.status == .approved else {
            throw TransactionErrors.stateConflict("ORIGINAL_NOT_APPROVED", "Only APPROVED pre-authorizations can be completed")
        }
        guard original.completionTransactionId == nil else {
            throw TransactionErrors.stateConflict("PRE_AUTH_ALREADY_COMPLETED", "The pre-authorization was already completed")
        }
        guard amount <= original.amount else {
            throw AtlasError(kind: .conflict, status: 409, code: "COMPLETION_EXCEEDS_AUTHORIZED",
                             message: "Completion amount exceeds the authorized amount (\(original.amount))",
                             details: ErrorDetails(field: "amount", value: .int(amount), constraint: "maximum"))
        }
        return (amount, .complete)
    }

    /// A pre-authorization past its window (marked EXPIRED, or run out by the clock) is neither completed nor voided.
    static func checkNotExpired(_ original: OriginalSnapshot) throws(AtlasError) {
        guard original.status != .expired, !original.windowExpired else { throw TransactionErrors.preAuthExpired }
    }

    /// The merchant-local calendar day of `date` as "yyyy-MM-dd" (the void window).
    ///
    /// Computed on every sale, so it avoids building a `Calendar` and a `String(format:)`: the zone's
    /// offset at that instant plus proleptic Gregorian day arithmetic. Foundation's Gregorian calendar
    /// switches to Julian before 1582-10-15 and formats years outside 1...9999 its own way, so instants
    /// outside 1600...9999 keep the Calendar path and the output stays identical everywhere.
    public static func businessDate(_ date: Date, timeZone: TimeZone) -> String {
        let localSeconds = (date.timeIntervalSince1970 + Double(timeZone.secondsFromGMT(for: date)))
        let days = (localSeconds / 86_400).rounded(.down)
        guard days >= BusinessDay.fastPathDaysMin, days <= BusinessDay.fastPathDaysMax else {
            return calendarBusinessDate(date, timeZone: timeZone)
        }
        return GregorianDays.dateText(GregorianDays.civil(daysSinceEpoch: Int64(days)))
    }

    private static func calendarBusinessDate(_ date: Date, timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }
}

/// Bounds of `businessDate`'s fast path.
private enum BusinessDay {
    /// 1600-01-01 and 9999-12-31 as days since 1970-01-01: the range where the fast path is exact.
    static let fastPathDaysMin: Double = -135_140
    static let fastPathDaysMax: Double = 2_932_896
}
