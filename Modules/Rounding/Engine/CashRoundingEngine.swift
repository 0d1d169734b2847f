public import CashRoundingContract
public import Foundation
import Kernel

/// Rounding's implementation of the `CashRounding` contract (CashRoundingContract): resolves the jurisdiction,
/// picks the method and applies the cash-only, split-tender and EBT rules. Pure (no I/O besides
/// the lazily parsed, embedded ZIP table), so it is safe to share and call from any thread.
public struct CashRoundingEngine: CashRounding {
    public let resolver: JurisdictionResolver

    /// `ebt_compliance_flag` text, as documented.
    public static let ebtComplianceFlag = "7 CFR 278.2 compliance flag for EBT transactions"

    public init(resolver: JurisdictionResolver = JurisdictionResolver()) {
        self.resolver = resolver
    }

    /// Rule dates are compared against the UTC calendar day of `date` (see docs/rounding.md).
    public func round(_ request: CashRoundingRequest, on date: Date) throws(CashRoundingError) -> CashRoundingResult {
        try round(request, onDay: CivilDate(date))
    }

    public func round(_ request: CashRoundingRequest, onDay day: CivilDate) throws(CashRoundingError)
        -> CashRoundingResult {
        try validate(request)
        let resolution = try resolve(request, on: day)
        var notes = resolution.notes
        var mode = request.modeOverride ?? resolution.rule.mode
        if request.modeOverride == nil {
            let choice = resolution.rule.mode(forMerchantSelection: request.merchantSelectedMode)
            mode = choice.mode
            if !choice.accepted { notes.append("merchant rounding method not allowed here; statutory default used") }
        }
        let cashPortion = cashPortionMinorUnits(of: request)
        let roundsCash = cashPortion != nil && mode != .none
        let appliedMode: CashRoundingMode = roundsCash ? mode : .none
        let cashLedger = cashPortion ?? 0
        let cashRounded = appliedMode.round(cashLedger)
        let delta = cashRounded - cashLedger
        let hasEBT = request.paymentMethod == .ebt || request.tenders.contains { $0.type == .ebt }
        return CashRoundingResult(
            ledgerTotalMinorUnits: request.ledgerTotalMinorUnits,
            cashTotalMinorUnits: request.ledgerTotalMinorUnits + delta, deltaMinorUnits: delta,
            cashPortionLedgerMinorUnits: cashLedger, cashPortionRoundedMinorUnits: cashRounded, mode: appliedMode,
            jurisdictionID: resolution.jurisdictionID, legislation: resolution.rule.legislation,
            roundingApplied: roundsCash, ebtComplianceFlag: hasEBT ? CashRoundingEngine.ebtComplianceFlag : nil,
            complianceStatus: notes.isEmpty ? .pass : .warn, complianceNotes: notes)
    }

    /// The cash part of the payment, or nil when nothing is paid in cash (card/EBT/mobile).
    private func cashPortionMinorUnits(of request: CashRoundingRequest) -> Int64? {
        guard request.isSplitTender else {
            return request.paymentMethod == .cash ? request.ledgerTotalMinorUnits : nil
        }
        let cashTenders = request.tenders.filter { $0.type == .cash }
        guard !cashTenders.isEmpty else { return nil }
        return cashTenders.reduce(0) { $0 + $1.amountMinorUnits }
    }

    private func resolve(_ request: CashRoundingRequest, on day: CivilDate) throws(CashRoundingError)
        -> JurisdictionResolution {
        if let jurisdictionID = request.jurisdictionOverride, !jurisdictionID.isEmpty {
            return try resolver.resolve(jurisdictionID: jurisdictionID, on: day)
        }
        return resolver.resolve(request.location, on: day)
    }

    private func validate(_ request: CashRoundingRequest) throws(CashRoundingError) {
        guard request.currency.minorUnitExponent == 2 else { throw .unsupportedCurrency(request.currency.code) }
        let limit = CashRoundingLimits.amountMagnitudeMaxMinorUnits
        guard request.ledgerTotalMinorUnits.magnitude <= limit.magnitude,
              request.tenders.allSatisfy({ $0.amountMinorUnits.magnitude <= limit.magnitude }) else {
            throw .amountOutOfRange
        }
        if let override = request.modeOverride {
            guard CashRoundingMode.requestModes.contains(override) else { throw .modeNotAllowedInRequest(override) }
            if request.paymentMethod == .ebt && override != .none { throw .ebtRoundingModeNotAllowed }
        }
        if request.isSplitTender {
            // Bounded by the tender count: each |amount| ≤ 1e15, so the sum cannot overflow for
            // fewer than ~9,000 tenders; larger arrays are rejected by the HTTP body limit first.
            let sum = request.tenders.reduce(Int64(0)) { $0 &+ $1.amountMinorUnits }
            guard sum == request.ledgerTotalMinorUnits else {
                throw .tendersDoNotMatchTotal(tendersMinorUnits: sum, ledgerMinorUnits: request.ledgerTotalMinorUnits)
            }
        }
    }
}

/// The refund normalization check (RFND): a refund's rounding delta must reverse the original's
/// direction (or be zero). A failure is flagged and logged by the caller, never blocking.
public enum RefundNormalization {
    /// True when `refundDeltaMinorUnits` is zero or has the opposite sign of the original delta,
    /// and is no larger in magnitude than the original delta.
    public static func passes(originalDeltaMinorUnits: Int64, refundDeltaMinorUnits: Int64) -> Bool {
        if refundDeltaMinorUnits == 0 { return true }
        guard originalDeltaMinorUnits != 0 else { return false }
        let opposite = (originalDeltaMinorUnits > 0) != (refundDeltaMinorUnits > 0)
        return opposite && refundDeltaMinorUnits.magnitude <= originalDeltaMinorUnits.magnitude
    }
}
