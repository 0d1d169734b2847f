import CashRoundingContract
import Foundation
import Kernel
import Testing
@testable import Rounding

/// The spec's "Rounding test vectors", rows 1–58 and 70: (method, input ¢, expected ¢, adjustment).
let specVectors: [(row: Int, mode: CashRoundingMode, input: Int64, expected: Int64, adjustment: Int64)] = [
    (1, .swedishRounding, 0, 0, 0), (2, .swedishRounding, 1, 0, -1), (3, .swedishRounding, 2, 0, -2),
    (4, .swedishRounding, 3, 5, 2), (5, .swedishRounding, 4, 5, 1), (6, .swedishRounding, 5, 5, 0),
    (7, .swedishRounding, 8, 10, 2), (8, .swedishRounding, 9, 10, 1), (9, .swedishRounding, 720, 720, 0),
    (10, .swedishRounding, 721, 720, -1), (11, .swedishRounding, 722, 720, -2), (12, .swedishRounding, 723, 725, 2),
    (13, .swedishRounding, 724, 725, 1), (14, .swedishRounding, 725, 725, 0), (15, .swedishRounding, 726, 725, -1),
    (16, .swedishRounding, 727, 725, -2), (17, .swedishRounding, 728, 730, 2), (18, .swedishRounding, 729, 730, 1),
    (19, .swedishRounding, 1999, 2000, 1), (20, .swedishRounding, 99999, 100_000, 1),
    (21, .symmetricalRounding, 1, 0, -1), (22, .symmetricalRounding, 2, 0, -2), (23, .symmetricalRounding, 3, 5, 2),
    (24, .symmetricalRounding, 7, 5, -2), (25, .symmetricalRounding, 1000, 1000, 0),
    (26, .symmetricalRounding, 1001, 1000, -1), (27, .symmetricalRounding, 1002, 1000, -2),
    (28, .symmetricalRounding, 1003, 1005, 2), (29, .symmetricalRounding, 1004, 1005, 1),
    (30, .symmetricalRounding, 1005, 1005, 0), (31, .symmetricalRounding, 1006, 1005, -1),
    (32, .symmetricalRounding, 1007, 1005, -2), (33, .symmetricalRounding, 1008, 1010, 2),
    (34, .symmetricalRounding, 1009, 1010, 1),
    (35, .mandatoryRoundDown, 1, 0, -1), (36, .mandatoryRoundDown, 4, 0, -4), (37, .mandatoryRoundDown, 5, 5, 0),
    (38, .mandatoryRoundDown, 720, 720, 0), (39, .mandatoryRoundDown, 721, 720, -1),
    (40, .mandatoryRoundDown, 724, 720, -4), (41, .mandatoryRoundDown, 725, 725, 0),
    (42, .mandatoryRoundDown, 729, 725, -4),
    (43, .mandatoryRoundUp, 1, 5, 4), (44, .mandatoryRoundUp, 2, 5, 3), (45, .mandatoryRoundUp, 5, 5, 0),
    (46, .mandatoryRoundUp, 720, 720, 0), (47, .mandatoryRoundUp, 721, 725, 4), (48, .mandatoryRoundUp, 724, 725, 1),
    (49, .mandatoryRoundUp, 725, 725, 0), (50, .mandatoryRoundUp, 726, 730, 4),
    (51, .nearestNickel, 1, 0, -1), (52, .nearestNickel, 3, 5, 2), (53, .nearestNickel, 722, 720, -2),
    (54, .nearestNickel, 723, 725, 2), (55, .nearestNickel, 727, 725, -2), (56, .nearestNickel, 728, 730, 2),
    (57, .none, 1, 1, 0), (58, .none, 723, 723, 0),
    (70, .nearestDime, 723, 720, -3),
]

@Suite struct RoundingVectorTests {
    @Test(arguments: specVectors.indices)
    func specVector(index: Int) {
        let vector = specVectors[index]
        #expect(vector.mode.round(vector.input) == vector.expected, "row \(vector.row)")
        #expect(vector.mode.delta(vector.input) == vector.adjustment, "row \(vector.row)")
        #expect(vector.expected - vector.input == vector.adjustment, "row \(vector.row) table consistency")
    }

    /// Rows 1–56 use swedish/symmetrical/nickel rules; the spec notes the three agree on every row.
    @Test func nickelFamilyAgreesOnEveryNickelRow() {
        let family: [CashRoundingMode] = [.swedishRounding, .symmetricalRounding, .nearestNickel]
        for vector in specVectors where family.contains(vector.mode) {
            for mode in family { #expect(mode.round(vector.input) == vector.expected, "row \(vector.row) \(mode)") }
        }
    }

    @Test func namedFunctionsMatchTheModeDispatch() {
        #expect(CashRoundingMethods.swedishRounding(723) == 725)
        #expect(CashRoundingMethods.symmetricalRounding(1007) == 1005)
        #expect(CashRoundingMethods.mandatoryRoundDown(729) == 725)
        #expect(CashRoundingMethods.mandatoryRoundUp(721) == 725)
        #expect(CashRoundingMethods.nearestNickel(728) == 730)
        #expect(CashRoundingMethods.nearestDime(725) == 730)
        #expect(CashRoundingMethods.nearestDime(724) == 720)
        #expect(CashRoundingMethods.nearestCent(723) == 723)
        #expect(CashRoundingMethods.none(723) == 723)
    }

    @Test func rawValuesAreTheSpecStrings() {
        #expect(CashRoundingMode.allCases.map(\.rawValue) == [
            "swedish_rounding", "symmetrical_rounding", "mandatory_round_down", "mandatory_round_up",
            "nearest_nickel", "nearest_cent", "nearest_dime", "none",
        ])
        #expect(CashRoundingMode.requestModes.count == 6)
        #expect(!CashRoundingMode.requestModes.contains(.nearestDime))
        #expect(TenderType.roundingPaymentMethods.map(\.rawValue) == ["cash", "card", "ebt", "mobile"])
        #expect(ComplianceStatus.allCases.map(\.rawValue) == ["PASS", "WARN", "FAIL"])
        #expect(RoundingEnforcement.allCases.map(\.rawValue) == ["mandatory", "permissive", "voluntary", "none"])
        #expect(LegislationStatus.noLegislation.rawValue == "no_legislation")
    }

    @Test func extremesDoNotTrap() {
        let limit = CashRoundingLimits.amountMagnitudeMaxMinorUnits
        for mode in CashRoundingMode.allCases {
            for amount in [limit, -limit, limit - 1, -(limit - 1), limit - 3, -(limit - 3)] {
                let rounded = mode.round(amount)
                #expect((rounded - amount).magnitude <= UInt64(mode.deltaMagnitudeMaxMinorUnits))
                #expect(rounded % mode.stepMinorUnits == 0)
            }
        }
    }
}
