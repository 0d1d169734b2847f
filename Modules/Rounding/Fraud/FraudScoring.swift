public import Foundation
import Kernel

/// `risk_level`: NONE 0–9, LOW 10–29, MEDIUM 30–49, HIGH 50–74, CRITICAL 75–100 (docs/rounding.md).
public enum RiskLevel: String, Sendable, Hashable, CaseIterable {
    case none = "NONE", low = "LOW", medium = "MEDIUM", high = "HIGH", critical = "CRITICAL"

    public init(score: Int) {
        switch score {
        case ..<10: self = .none
        case ..<30: self = .low
        case ..<50: self = .medium
        case ..<75: self = .high
        default: self = .critical
        }
    }

    /// Higher is riskier; for ranking.
    var rank: Int { RiskLevel.allCases.firstIndex(of: self) ?? 0 }
}

/// A merchant's running signal counters, kept on its chain-head row and updated in the same database
/// transaction as each chain append (so they can never disagree with the chain by more than a crash).
public struct FraudCounters: Sendable, Hashable {
    public var sales: Int64 = 0
    public var roundedUp: Int64 = 0
    public var roundedDown: Int64 = 0
    public var netDeltaCents: Int64 = 0
    public var overrides: Int64 = 0
    public var overrideAbsDeltaCents: Int64 = 0
    public var voids: Int64 = 0
    public var voidsNearShiftChange: Int64 = 0
    public var refunds: Int64 = 0
    public var refundNormalizationFailures: Int64 = 0

    public init() {}
}

/// The fraud score (0–100) from the documented signals. Integer arithmetic only, so a score is
/// reproducible from the counters by hand. Components and their caps:
/// rounding direction 40, overrides 25 (frequency 15 + average delta 10), voids 25 (rate 15 +
/// refund normalization failures 10), voids near shift changes 10.
public enum FraudScoring {
    /// Below this many rounded (non-zero delta) sales the direction ratio is noise: 0 points.
    static let roundingSampleMin: Int64 = 20
    /// Rates are taken over at least this many sales, so a new merchant's first void is not "100 %".
    static let rateDenominatorMin: Int64 = 20
    /// Round-up share (percent) at or below which the direction scores 0; at `roundUpPercentMax`, 40.
    static let roundUpPercentFloor: Int64 = 55
    static let roundUpPercentMax: Int64 = 90
    /// Override or void rate (percent of sales) that earns the full 15 points.
    static let ratePercentFull: Int64 = 10
    /// Average |override delta| that earns the full 10 points.
    static let overrideDeltaCentsFull: Int64 = 25
    /// Share of refunds failing normalization (percent) that earns the full 10 points.
    static let normalizationFailurePercentFull: Int64 = 50
    /// Share of voids near a shift change (percent) that earns the full 10 points, once there are 3+ voids.
    static let shiftVoidPercentFull: Int64 = 50
    static let shiftVoidSampleMin: Int64 = 3
    /// Shift changes (UTC hour) and the window around them that counts as "near".
    static let shiftChangeHoursUTC: [Int] = [6, 14, 22]
    static let shiftChangeWindowSeconds: Int64 = 15 * 60

    public struct Breakdown: Sendable, Hashable {
        public var rounding: Int
        public var overrideFrequency: Int
        public var overrideDelta: Int
        public var voidRate: Int
        public var normalizationFailures: Int
        public var shiftChangeVoids: Int

        public var total: Int {
            min(100, rounding + overrideFrequency + overrideDelta + voidRate + normalizationFailures + shiftChangeVoids)
        }
        public var riskLevel: RiskLevel { RiskLevel(score: total) }
    }

    public static func score(_ counters: FraudCounters) -> Breakdown {
        Breakdown(rounding: roundingPoints(counters), overrideFrequency: overrideFrequencyPoints(counters),
                  overrideDelta: overrideDeltaPoints(counters), voidRate: voidRatePoints(counters),
                  normalizationFailures: normalizationPoints(counters), shiftChangeVoids: shiftPoints(counters))
    }

    static func roundUpPercent(_ counters: FraudCounters) -> Int64 {
        let rounded = counters.roundedUp + counters.roundedDown
        return rounded == 0 ? 0 : counters.roundedUp * 100 / rounded
    }

    static func roundingPoints(_ counters: FraudCounters) -> Int {
        guard counters.roundedUp + counters.roundedDown >= roundingSampleMin else { return 0 }
        let excess = roundUpPercent(counters) - roundUpPercentFloor
        return Int(clamp(excess * 40 / (roundUpPercentMax - roundUpPercentFloor), 0, 40))
    }

    static func ratePercent(_ count: Int64, sales: Int64) -> Int64 { count * 100 / max(sales, rateDenominatorMin) }

    static func overrideFrequencyPoints(_ counters: FraudCounters) -> Int {
        Int(clamp(ratePercent(counters.overrides, sales: counters.sales) * 15 / ratePercentFull, 0, 15))
    }

    static func averageOverrideDeltaCents(_ counters: FraudCounters) -> Int64 {
        counters.overrides == 0 ? 0 : counters.overrideAbsDeltaCents / counters.overrides
    }

    static func overrideDeltaPoints(_ counters: FraudCounters) -> Int {
        // Capping first (the points cap at 10 anyway) keeps a huge average from overflowing `* 10`.
        Int(clamp(min(averageOverrideDeltaCents(counters), overrideDeltaCentsFull) * 10 / overrideDeltaCentsFull, 0, 10))
    }

    static func voidRatePoints(_ counters: FraudCounters) -> Int {
        Int(clamp(ratePercent(counters.voids, sales: counters.sales) * 15 / ratePercentFull, 0, 15))
    }

    static func normalizationPoints(_ counters: FraudCounters) -> Int {
        guard counters.refunds > 0 else { return 0 }
        let percent = counters.refundNormalizationFailures * 100 / counters.refunds
        return Int(clamp(percent * 10 / normalizationFailurePercentFull, 0, 10))
    }

    static func shiftPoints(_ counters: FraudCounters) -> Int {
        guard counters.voids >= shiftVoidSampleMin else { return 0 }
        let percent = counters.voidsNearShiftChange * 100 / counters.voids
        return Int(clamp(percent * 10 / shiftVoidPercentFull, 0, 10))
    }

    /// True when `date` lies within 15 minutes of 06:00, 14:00 or 22:00 UTC.
    public static func isNearShiftChange(_ date: Date) -> Bool {
        let secondOfDay = Int64(date.timeIntervalSince1970.rounded(.down)) % 86_400
        let day: Int64 = 86_400
        for hour in shiftChangeHoursUTC {
            let change = Int64(hour) * 3_600
            let distance = abs(secondOfDay - change)
            if min(distance, day - distance) <= shiftChangeWindowSeconds { return true }
        }
        return false
    }

    private static func clamp(_ value: Int64, _ low: Int64, _ high: Int64) -> Int64 { min(max(value, low), high) }
}
