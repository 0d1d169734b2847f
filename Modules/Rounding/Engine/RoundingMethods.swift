public import CashRoundingContract
import Kernel

/// The rounding methods as pure functions over integer minor units (cents).
///
/// Every method rounds the magnitude and restores the sign, so f(−x) = −f(x): a void or refund of
/// a rounded sale (ledger −723) gives the mirrored cash amount (−725) and the mirrored delta (−2),
/// as the void/refund rules require. The functions are `@inlinable` and allocation-free, and use
/// only unsigned division by constants (compiled to multiply/shift), so callers in other modules
/// get them inlined. Inputs must lie within ±`CashRoundingLimits.amountMagnitudeMaxMinorUnits`;
/// outside that range the wrapping arithmetic never traps but the result is meaningless.
public enum CashRoundingMethods {
    /// Swedish rounding: last digit 0→0; 1,2→0; 3,4→5; 5→5; 6,7→5; 8,9→10. On whole cents this is
    /// exactly "nearest multiple of 5" (a tie cannot occur), so it shares the nickel kernel.
    @inlinable @inline(__always)
    public static func swedishRounding(_ amountMinorUnits: Int64) -> Int64 {
        nearestMultiple(amountMinorUnits, of: 5)
    }

    /// Symmetrical rounding: 0–2 down, 3–7 to the nearest nickel, 8–9 up. Per last digit:
    /// 0,1,2→0; 3,4→5; 5→5; 6,7→5; 8,9→10 — again the nearest multiple of 5.
    @inlinable @inline(__always)
    public static func symmetricalRounding(_ amountMinorUnits: Int64) -> Int64 {
        nearestMultiple(amountMinorUnits, of: 5)
    }

    /// Nearest nickel, half up (on the magnitude).
    @inlinable @inline(__always)
    public static func nearestNickel(_ amountMinorUnits: Int64) -> Int64 {
        nearestMultiple(amountMinorUnits, of: 5)
    }

    /// Always down to a multiple of 5 (towards zero: a refund mirrors the sale's rounding).
    @inlinable @inline(__always)
    public static func mandatoryRoundDown(_ amountMinorUnits: Int64) -> Int64 {
        let magnitude = amountMinorUnits.magnitude
        return withSign(of: amountMinorUnits, magnitude / 5 &* 5)
    }

    /// Always up to a multiple of 5 (away from zero: a refund mirrors the sale's rounding).
    @inlinable @inline(__always)
    public static func mandatoryRoundUp(_ amountMinorUnits: Int64) -> Int64 {
        let magnitude = amountMinorUnits.magnitude
        return withSign(of: amountMinorUnits, (magnitude &+ 4) / 5 &* 5)
    }

    /// Nearest multiple of 10, half up on the magnitude (723 → 720, 725 → 730).
    @inlinable @inline(__always)
    public static func nearestDime(_ amountMinorUnits: Int64) -> Int64 {
        nearestMultiple(amountMinorUnits, of: 10)
    }

    /// Nearest cent: amounts are already whole cents, so the identity.
    @inlinable @inline(__always)
    public static func nearestCent(_ amountMinorUnits: Int64) -> Int64 { amountMinorUnits }

    /// No rounding.
    @inlinable @inline(__always)
    public static func none(_ amountMinorUnits: Int64) -> Int64 { amountMinorUnits }

    @inlinable @inline(__always)
    static func nearestMultiple(_ amountMinorUnits: Int64, of step: UInt64) -> Int64 {
        let magnitude = amountMinorUnits.magnitude
        return withSign(of: amountMinorUnits, (magnitude &+ step / 2) / step &* step)
    }

    /// Applies the sign of `amount` to `magnitude`; branch-free (compiles to a conditional move).
    @inlinable @inline(__always)
    static func withSign(of amount: Int64, _ magnitude: UInt64) -> Int64 {
        let value = Int64(truncatingIfNeeded: magnitude)
        return amount < 0 ? 0 &- value : value
    }
}

extension CashRoundingMode {
    /// Rounds `amountMinorUnits` with this method. See `CashRoundingMethods`.
    @inlinable
    public func round(_ amountMinorUnits: Int64) -> Int64 {
        switch self {
        case .swedishRounding: CashRoundingMethods.swedishRounding(amountMinorUnits)
        case .symmetricalRounding: CashRoundingMethods.symmetricalRounding(amountMinorUnits)
        case .mandatoryRoundDown: CashRoundingMethods.mandatoryRoundDown(amountMinorUnits)
        case .mandatoryRoundUp: CashRoundingMethods.mandatoryRoundUp(amountMinorUnits)
        case .nearestNickel: CashRoundingMethods.nearestNickel(amountMinorUnits)
        case .nearestCent: CashRoundingMethods.nearestCent(amountMinorUnits)
        case .nearestDime: CashRoundingMethods.nearestDime(amountMinorUnits)
        case .none: CashRoundingMethods.none(amountMinorUnits)
        }
    }

    /// The rounding delta (rounded − input) this method produces for `amountMinorUnits`.
    @inlinable
    public func delta(_ amountMinorUnits: Int64) -> Int64 { round(amountMinorUnits) &- amountMinorUnits }

    /// The step every result is a multiple of (1 when the method does not round).
    public var stepMinorUnits: Int64 {
        switch self {
        case .swedishRounding, .symmetricalRounding, .mandatoryRoundDown, .mandatoryRoundUp, .nearestNickel: 5
        case .nearestDime: 10
        case .nearestCent, .none: 1
        }
    }

    /// The largest |delta| the method can produce on whole cents.
    public var deltaMagnitudeMaxMinorUnits: Int64 {
        switch self {
        case .swedishRounding, .symmetricalRounding, .nearestNickel: 2
        case .mandatoryRoundDown, .mandatoryRoundUp: 4
        case .nearestDime: 5
        case .nearestCent, .none: 0
        }
    }
}
