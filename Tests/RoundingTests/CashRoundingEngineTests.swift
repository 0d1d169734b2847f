import CashRoundingContract
import Foundation
import Kernel
import Testing
@testable import Rounding

/// Request-level vectors 59–69 and the rounding parts of acceptance cases A3–A14.
@Suite struct CashRoundingEngineTests {
    let engine: any CashRounding = CashRoundingEngine()
    /// 2026-04-14, the date of the docs' example transaction.
    let date = Date(timeIntervalSince1970: 1_776_124_800)
    let phoenix = CashRoundingLocation(zipCode: "85001")

    func request(_ ledger: Int64, _ method: TenderType, _ location: CashRoundingLocation,
                 tenders: [TenderAmount] = [], mode: CashRoundingMode? = nil, jurisdiction: String? = nil,
                 merchantMode: CashRoundingMode? = nil) -> CashRoundingRequest {
        CashRoundingRequest(ledgerTotalMinorUnits: ledger, paymentMethod: method, tenders: tenders, location: location,
                            modeOverride: mode, jurisdictionOverride: jurisdiction, merchantSelectedMode: merchantMode)
    }

    /// A3 / vector 69: subtotal 523 + tax 200, cash, ZIP 85001 → 725, +2, swedish, US-AZ, PASS.
    @Test func quickstartExample() throws {
        let result = try engine.round(request(523 + 200, .cash, phoenix), on: date)
        #expect(result.ledgerTotalMinorUnits == 723)
        #expect(result.cashTotalMinorUnits == 725)
        #expect(result.deltaMinorUnits == 2)
        #expect(result.mode == .swedishRounding)
        #expect(result.jurisdictionID == "US-AZ")
        #expect(result.legislation == "AZ HB 2938")
        #expect(result.roundingApplied)
        #expect(result.complianceStatus == .pass)
        #expect(result.ebtComplianceFlag == nil)
    }

    /// A4: state AZ instead of the ZIP gives the same calculation.
    @Test func stateInsteadOfZip() throws {
        let byState = try engine.round(request(723, .cash, CashRoundingLocation(state: "AZ")), on: date)
        let byZip = try engine.round(request(723, .cash, phoenix), on: date)
        #expect(byState == byZip)
    }

    /// Vectors 59–61, A5, A7, A8: non-cash tenders are never rounded; EBT carries the flag.
    @Test(arguments: [TenderType.card, .ebt, .mobile])
    func nonCashIsNeverRounded(method: TenderType) throws {
        let result = try engine.round(request(723, method, phoenix), on: date)
        #expect(result.cashTotalMinorUnits == 723 && result.deltaMinorUnits == 0)
        #expect(result.mode == .none && !result.roundingApplied)
        #expect((result.ebtComplianceFlag != nil) == (method == .ebt))
        #expect(result.jurisdictionID == "US-AZ")
    }

    /// A6: EBT with a rounding mode other than none is a validation error; `none` is fine.
    @Test func ebtWithRoundingModeIsRejected() throws {
        #expect(throws: CashRoundingError.ebtRoundingModeNotAllowed) {
            try engine.round(request(723, .ebt, CashRoundingLocation(state: "AZ"), mode: .swedishRounding), on: date)
        }
        let result = try engine.round(request(723, .ebt, CashRoundingLocation(state: "AZ"), mode: CashRoundingMode.none),
                                      on: date)
        #expect(result.deltaMinorUnits == 0 && result.ebtComplianceFlag == CashRoundingEngine.ebtComplianceFlag)
    }

    /// Vector 62: cash in a state without law → unchanged, mode none.
    @Test func stateWithoutLaw() throws {
        let result = try engine.round(request(723, .cash, CashRoundingLocation(state: "TX")), on: date)
        #expect(result.cashTotalMinorUnits == 723 && result.mode == .none && !result.roundingApplied)
        #expect(result.jurisdictionID == "US-TX" && result.complianceStatus == .pass)
    }

    /// A11, A12: explicit override modes (with and without `jurisdiction`).
    @Test func overrideModes() throws {
        let up = try engine.round(request(723, .cash, phoenix, mode: .mandatoryRoundUp, jurisdiction: "US-AZ"), on: date)
        #expect(up.cashTotalMinorUnits == 725 && up.deltaMinorUnits == 2 && up.mode == .mandatoryRoundUp)
        #expect(up.jurisdictionID == "US-AZ")
        let down = try engine.round(request(723, .cash, phoenix, mode: .mandatoryRoundDown), on: date)
        #expect(down.cashTotalMinorUnits == 720 && down.deltaMinorUnits == -3 && down.mode == .mandatoryRoundDown)
        #expect(throws: CashRoundingError.modeNotAllowedInRequest(.nearestDime)) {
            try engine.round(request(723, .cash, phoenix, mode: .nearestDime), on: date)
        }
        #expect(throws: CashRoundingError.invalidJurisdiction("Arizona")) {
            try engine.round(request(723, .cash, phoenix, mode: .swedishRounding, jurisdiction: "Arizona"), on: date)
        }
    }

    /// A13: Indiana uses the merchant's configured method; default symmetrical; a method the law
    /// does not offer falls back to the default with WARN.
    @Test func indianaMerchantChoice() throws {
        let indiana = CashRoundingLocation(state: "IN")
        let defaulted = try engine.round(request(723, .cash, indiana), on: date)
        #expect(defaulted.jurisdictionID == "US-IN" && defaulted.mode == .symmetricalRounding)
        let chosen = try engine.round(request(723, .cash, indiana, merchantMode: .mandatoryRoundDown), on: date)
        #expect(chosen.mode == .mandatoryRoundDown && chosen.cashTotalMinorUnits == 720)
        let optedOut = try engine.round(request(723, .cash, indiana, merchantMode: CashRoundingMode.none), on: date)
        #expect(optedOut.mode == .none && optedOut.cashTotalMinorUnits == 723)
        let refused = try engine.round(request(723, .cash, indiana, merchantMode: .mandatoryRoundUp), on: date)
        #expect(refused.mode == .symmetricalRounding && refused.complianceStatus == .warn)
        // Elsewhere the merchant setting does not override the statute.
        let arizona = try engine.round(request(723, .cash, phoenix, merchantMode: .mandatoryRoundDown), on: date)
        #expect(arizona.mode == .swedishRounding)
    }

    /// Vector 63 / A14 and vector 64: only the cash tender is rounded.
    @Test func splitTender() throws {
        let even = try engine.round(request(1080, .cash, phoenix, tenders: [
            TenderAmount(type: .cash, amountMinorUnits: 600), TenderAmount(type: .ebt, amountMinorUnits: 480),
        ]), on: date)
        #expect(even.deltaMinorUnits == 0 && even.cashPortionRoundedMinorUnits == 600 && even.cashTotalMinorUnits == 1080)
        #expect(even.ebtComplianceFlag != nil)
        let odd = try engine.round(request(1083, .cash, phoenix, tenders: [
            TenderAmount(type: .cash, amountMinorUnits: 603), TenderAmount(type: .ebt, amountMinorUnits: 480),
        ]), on: date)
        #expect(odd.deltaMinorUnits == 2 && odd.cashPortionLedgerMinorUnits == 603)
        #expect(odd.cashPortionRoundedMinorUnits == 605 && odd.cashTotalMinorUnits == 1085)
        #expect(odd.ledgerTotalMinorUnits == 1083 && odd.roundingApplied)
        let noCash = try engine.round(request(1083, .card, phoenix, tenders: [
            TenderAmount(type: .card, amountMinorUnits: 603), TenderAmount(type: .ebt, amountMinorUnits: 480),
        ]), on: date)
        #expect(noCash.deltaMinorUnits == 0 && noCash.mode == .none && !noCash.roundingApplied)
        #expect(throws: CashRoundingError.tendersDoNotMatchTotal(tendersMinorUnits: 1000, ledgerMinorUnits: 1083)) {
            try engine.round(request(1083, .cash, phoenix, tenders: [
                TenderAmount(type: .cash, amountMinorUnits: 600), TenderAmount(type: .ebt, amountMinorUnits: 400),
            ]), on: date)
        }
    }

    /// Vectors 65–66: a void mirrors the original (negated amounts, delta reversed), both via
    /// `reversal()` and by rounding the negative ledger total directly.
    @Test func voidsMirrorTheOriginal() throws {
        let sale = try engine.round(request(723, .cash, phoenix), on: date)
        let void = sale.reversal()
        #expect(void.ledgerTotalMinorUnits == -723 && void.cashTotalMinorUnits == -725 && void.deltaMinorUnits == -2)
        #expect(try engine.round(request(-723, .cash, phoenix), on: date) == void)
        let down = try engine.round(request(-722, .cash, phoenix), on: date)
        #expect(down.cashTotalMinorUnits == -720 && down.deltaMinorUnits == 2)
    }

    @Test func refundNormalizationCheck() {
        #expect(RefundNormalization.passes(originalDeltaMinorUnits: 2, refundDeltaMinorUnits: -2))
        #expect(RefundNormalization.passes(originalDeltaMinorUnits: 2, refundDeltaMinorUnits: 0))
        #expect(!RefundNormalization.passes(originalDeltaMinorUnits: 2, refundDeltaMinorUnits: 2))
        #expect(!RefundNormalization.passes(originalDeltaMinorUnits: -1, refundDeltaMinorUnits: 2))
        #expect(!RefundNormalization.passes(originalDeltaMinorUnits: 0, refundDeltaMinorUnits: -1))
    }

    @Test func unknownZipIsWarnWithFederalFallback() throws {
        let result = try engine.round(request(723, .cash, CashRoundingLocation(zipCode: "00000")), on: date)
        #expect(result.cashTotalMinorUnits == 723 && result.mode == .none && result.jurisdictionID == "US")
        #expect(result.complianceStatus == .warn)
        #expect(result.complianceNotes == ["unverified jurisdiction fallback: unknown ZIP code"])
    }

    @Test func beforeTheEffectiveDateNothingIsRounded() throws {
        let before = Date(timeIntervalSince1970: 1_735_689_599)  // 2024-12-31T23:59:59Z
        let result = try engine.round(request(723, .cash, phoenix), on: before)
        #expect(result.mode == .none && result.cashTotalMinorUnits == 723)
    }

    @Test func invalidInputs() {
        #expect(throws: CashRoundingError.unsupportedCurrency("JPY")) {
            try engine.round(CashRoundingRequest(ledgerTotalMinorUnits: 723, currency: Currency(code: "JPY")!,
                                                 paymentMethod: .cash, location: phoenix), on: date)
        }
        #expect(throws: CashRoundingError.amountOutOfRange) {
            try engine.round(request(.max, .cash, phoenix), on: date)
        }
        let fallback = engine.roundCash(amountMinorUnits: .min, currency: .usd, location: phoenix, on: date)
        #expect(fallback.complianceStatus == .fail && fallback.deltaMinorUnits == 0)
    }

    @Test func convenienceCashCall() {
        let result = engine.roundCash(amountMinorUnits: 1999, currency: .usd, location: phoenix, on: date)
        #expect(result.cashTotalMinorUnits == 2000 && result.deltaMinorUnits == 1)
    }

    /// 1–2¢ cash totals become 0 under the nickel rules (documented; §2.2).
    @Test func tinyTotalsRoundToZero() throws {
        #expect(try engine.round(request(2, .cash, phoenix), on: date).cashTotalMinorUnits == 0)
        #expect(try engine.round(request(1, .cash, phoenix), on: date).deltaMinorUnits == -1)
    }
}
