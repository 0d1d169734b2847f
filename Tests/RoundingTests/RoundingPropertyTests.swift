import CashRoundingContract
import Kernel
import Testing
@testable import Rounding

/// A deterministic generator (SplitMix64) so a failing property reproduces exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The rule text of §2.1 as a last-digit lookup table, independent of the engine's arithmetic.
/// Entry d = adjustment for a non-negative amount whose last digit is d.
let swedishDigitAdjustment: [Int64] = [0, -1, -2, +2, +1, 0, -1, -2, +2, +1]
/// Symmetrical: 0–2 down, 3–7 to the nearest nickel, 8–9 up.
let symmetricalDigitAdjustment: [Int64] = [0, -1, -2, +2, +1, 0, -1, -2, +2, +1]

@Suite struct RoundingPropertyTests {
    /// Values checked per method: a dense band around zero plus random amounts up to $10 billion.
    static let denseRange: ClosedRange<Int64> = -150_000...150_000
    static let randomCount = 100_000

    static func sampleAmounts() -> [Int64] {
        var generator = SplitMix64(state: 0xA71A5)
        var amounts = Array(denseRange)
        amounts.reserveCapacity(amounts.count + randomCount)
        for _ in 0..<randomCount { amounts.append(Int64.random(in: -1_000_000_000_000...1_000_000_000_000, using: &generator)) }
        return amounts
    }

    /// ~400k values × 8 methods ≈ 3.2 million roundings, each checked for step, bound, idempotence
    /// and sign symmetry. Failures are counted so the loop stays cheap in debug builds.
    @Test(arguments: CashRoundingMode.allCases)
    func invariantsHold(mode: CashRoundingMode) {
        let step = mode.stepMinorUnits
        let bound = mode.deltaMagnitudeMaxMinorUnits
        var failures: [Int64] = []
        for amount in RoundingPropertyTests.sampleAmounts() {
            let rounded = mode.round(amount)
            let delta = rounded - amount
            let ok = rounded % step == 0
                && abs(delta) <= bound
                && mode.round(rounded) == rounded
                && mode.round(-amount) == -rounded
                && (amount % step != 0 || rounded == amount)
            if !ok && failures.count < 5 { failures.append(amount) }
        }
        #expect(failures.isEmpty, "\(mode.rawValue) fails for \(failures)")
    }

    @Test(arguments: CashRoundingMode.allCases)
    func directionMatchesMethod(mode: CashRoundingMode) {
        var failures: [Int64] = []
        for amount in Int64(0)...200_000 {
            let delta = mode.delta(amount)
            let ok: Bool = switch mode {
            case .mandatoryRoundDown: delta <= 0 && delta > -5
            case .mandatoryRoundUp: delta >= 0 && delta < 5
            case .none, .nearestCent: delta == 0
            case .nearestDime: (amount % 10 < 5 ? delta <= 0 : delta > 0)
            case .swedishRounding: delta == swedishDigitAdjustment[Int(amount % 10)]
            case .symmetricalRounding: delta == symmetricalDigitAdjustment[Int(amount % 10)]
            case .nearestNickel: (amount % 5 <= 2 ? delta == -(amount % 5) : delta == 5 - amount % 5)
            }
            if !ok && failures.count < 5 { failures.append(amount) }
        }
        #expect(failures.isEmpty, "\(mode.rawValue) fails for \(failures)")
    }

    /// Symmetrical rounding is revenue-neutral: over any 10 consecutive cents the deltas sum to 0.
    @Test func symmetricalIsRevenueNeutral() {
        for start in stride(from: Int64(0), to: 10_000, by: 10) {
            let total = (start..<(start + 10)).reduce(Int64(0)) { $0 + CashRoundingMode.symmetricalRounding.delta($1) }
            #expect(total == 0)
        }
    }

    /// Voids mirror the original delta for every method (rows 65–66 generalised).
    @Test(arguments: CashRoundingMode.allCases)
    func voidMirrorsOriginalDelta(mode: CashRoundingMode) {
        var failures: [Int64] = []
        for amount in Int64(0)...20_000 where mode.delta(-amount) != -mode.delta(amount) {
            if failures.count < 5 { failures.append(amount) }
        }
        #expect(failures.isEmpty)
    }
}
