import Kernel

/// How a refund's cash amount splits into ledger and rounding, and the normalization check (RFND).
///
/// The cash handed back is `refund_amount`. Until the refunds reach the settled cash total, the ledger
/// part equals the cash (no rounding moves); the refund that completes it takes the remaining ledger,
/// so its delta reverses the sale's rounding. Check: `RefundNormalization.passes` on this refund's delta
/// and, for the completing refund, all refund deltas together equal −(sale delta). Refunds may reach
/// max(settled cash, ledger) in total; more is a validation error.
struct RefundCalculation: Sendable {
    let refundCents: Int64
    let ledgerCents: Int64
    /// cash − ledger of the refund record (negative amounts): ledgerCents − refundCents.
    let deltaCents: Int64
    let originalDeltaCents: Int64
    let completesRefund: Bool
    let normalizationPassed: Bool

    init(state: SaleState, refundCents: Int64) throws(AtlasError) {
        let settled = state.effectiveCashTotalCents
        let refundable = max(settled, state.ledgerTotalCents) - state.refundedCashCents
        guard refundCents <= refundable else {
            throw AtlasError.invalidField("refund_amount", "refund_amount exceeds the refundable amount of \(max(refundable, 0)) cents",
                                          constraint: "range")
        }
        let remainingLedger = state.ledgerTotalCents - state.refundedLedgerCents
        completesRefund = state.refundedCashCents + refundCents >= settled
        ledgerCents = completesRefund ? remainingLedger : min(refundCents, remainingLedger)
        self.refundCents = refundCents
        deltaCents = ledgerCents - refundCents
        originalDeltaCents = settled - state.ledgerTotalCents
        var passed = RefundNormalization.passes(originalDeltaMinorUnits: originalDeltaCents, refundDeltaMinorUnits: deltaCents)
        if completesRefund && state.refundDeltaSumCents + deltaCents != -originalDeltaCents { passed = false }
        normalizationPassed = passed
    }
}
