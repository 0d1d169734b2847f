public import Foundation

/// How long a card pre-authorization stays open and how the expiry sweep works through the ones that ran out
/// (docs/transactions.md "Pre-authorization expiry").
///
/// WHY 7 days: card networks let an issuer release an authorization that was not captured after about a week (Visa
/// and Mastercard: 7 days for most merchant categories; lodging and car rental get up to 30). A completion after that
/// risks a capture the issuer no longer honours, so Atlas refuses it and releases the hold in the merchant's books.
/// Deployments in those categories lengthen it (`ATLAS_PRE_AUTH_EXPIRY_SECONDS`, at most `windowSecondsMax`).
public struct PreAuthExpiryLimits: Sendable, Hashable {
    public static let windowSecondsDefault: Int = 7 * 24 * 3600
    /// The longest window any network grants (lodging, car rental): 31 days.
    public static let windowSecondsMax: Int = 31 * 24 * 3600
    /// A shorter window is a configuration mistake (a pre-authorization must outlive a checkout).
    public static let windowSecondsMin: Int = 60

    /// From the PRE_AUTH's `created_at`: at or after `created_at + windowSeconds` it can no longer be completed or
    /// voided, and the sweep marks it EXPIRED.
    public var windowSeconds: Int
    /// Between two sweeps. A pre-authorization past its window is refused at once (by the clock); the sweep only
    /// writes the EXPIRED status and its event, so this bounds how late the books release the hold.
    public var sweepIntervalSeconds: Double
    /// Rows one sweep statement expires (the next sweep, or the next round of this one, takes the rest).
    public var sweepRowsMax: Int
    /// Rounds of `sweepRowsMax` one sweep runs before it sleeps, so a backlog drains without one long transaction.
    public var sweepRoundsMax: Int

    public init(windowSeconds: Int = PreAuthExpiryLimits.windowSecondsDefault, sweepIntervalSeconds: Double = 60,
                sweepRowsMax: Int = 100, sweepRoundsMax: Int = 10) {
        precondition((Self.windowSecondsMin...Self.windowSecondsMax).contains(windowSeconds), "pre-auth window out of range")
        precondition(sweepIntervalSeconds > 0 && sweepRowsMax > 0 && sweepRoundsMax > 0, "sweep limits are positive")
        self.windowSeconds = windowSeconds
        self.sweepIntervalSeconds = sweepIntervalSeconds
        self.sweepRowsMax = sweepRowsMax
        self.sweepRoundsMax = sweepRoundsMax
    }

    /// The first instant at which a pre-authorization made at `authorizedAt` is expired.
    public func deadline(authorizedAt: Date) -> Date { authorizedAt.addingTimeInterval(TimeInterval(windowSeconds)) }

    /// Whether a pre-authorization made at `authorizedAt` has run out at `now` (the deadline itself included).
    public func isPastWindow(authorizedAt: Date, now: Date) -> Bool { now >= deadline(authorizedAt: authorizedAt) }

    /// Pre-authorizations made at or before this instant have run out at `now`.
    func authorizedAtOrBefore(now: Date) -> Date { now.addingTimeInterval(-TimeInterval(windowSeconds)) }
}
