import Foundation

extension TransactionRecord {
    /// The snapshot the follow-up rules check, with an open PRE_AUTH's window judged at `now` (the follow-up's own
    /// time), so a completion after the deadline is refused even before the sweep marked the row EXPIRED.
    func followUpSnapshot(_ limits: PreAuthExpiryLimits, now: Date) -> OriginalSnapshot {
        var original = snapshot
        original.windowExpired = type == .preAuth && status == .approved && completionTransactionId == nil
            && limits.isPastWindow(authorizedAt: createdAt, now: now)
        return original
    }
}
