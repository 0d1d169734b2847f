import Foundation
import Kernel

/// Expires `/functions/v1` sessions nobody paid (spec §11, AP-WH `session.expired`): a payment session whose
/// `expires_at` passed while it still `requires_payment_method` becomes `canceled` with `cancellation_reason:
/// "expired"`, and `session.expired` is appended in the same database transaction. A checkout session's payment
/// session carries the checkout's `expires_at`, so both expire at once, with ONE event whose object is the checkout
/// session (`status: "expired"`); a standalone payment session's event carries the payment session.
///
/// Exactly once across instances: each batch locks its rows `FOR UPDATE SKIP LOCKED` and only rows still
/// `requires_payment_method` qualify, so two sweepers never take the same session, and a confirmation racing the
/// sweep serializes on the row lock (it then finds the session canceled, 409; or the sweep finds it paid and skips it).
///
/// A session that is `processing` (authorized, manual capture) is not held forever either: once its authorization is
/// `authorizationWindowSeconds` old (7 days, as card networks keep an uncaptured authorization), the same sweep cancels
/// it exactly once: the payment `canceled`, the session `canceled` with `cancellation_reason: "expired"` and
/// `session.expired` in the same database transaction (the issuer lets the hold lapse; nothing is sent to the acquirer).
/// A capture racing it serializes on the session row lock: the capture wins (the sweep then skips a `succeeded`
/// session) or finds the session canceled (409); past the window the capture is refused by the clock anyway.
struct PaymentSessionExpiry: Sendable {
    struct Limits: Sendable, Hashable {
        /// Sessions expired per database transaction (their rows stay locked until it commits).
        var batchMax = 100
        /// Batches one sweep runs back to back while they come back full; the rest waits for the next sweep.
        var batchesPerSweepMax = 20
        /// Between two sweeps.
        var sweepIntervalSeconds: Double = 5
        /// How long an uncaptured authorization stands (from the payment's `created_at`, its authorization).
        var authorizationWindowSeconds = PreAuthExpiryLimits.windowSecondsDefault
    }

    static let eventType = "session.expired"

    let services: ModuleServices
    /// The checkout page base URL (a checkout session's `url` in the event).
    let checkoutPageBaseURL: String
    var limits = Limits()

    /// Expires one batch of due sessions; returns how many expired.
    func expireBatch() async throws -> Int {
        let batchMax = Int64(limits.batchMax)
        return try await expire { now in
            """
            WITH due AS (
                SELECT id FROM transactions_payment_sessions
                WHERE status = 'requires_payment_method' AND expires_at IS NOT NULL AND expires_at <= \(now)
                ORDER BY expires_at LIMIT \(batchMax) FOR UPDATE SKIP LOCKED),
            expired AS (
                UPDATE transactions_payment_sessions s
                SET status = 'canceled', cancellation_reason = 'expired', updated_at = \(now)
                FROM due WHERE s.id = due.id
                RETURNING s.id, s.merchant_id, s.mode)
            SELECT e.id, e.merchant_id, e.mode, c.id AS checkout_id
            FROM expired e LEFT JOIN transactions_checkout_sessions c ON c.payment_session_id = e.id
            ORDER BY e.id
            """
        }
    }

    /// Cancels one batch of authorizations older than `authorizationWindowSeconds` whose session still waits for its
    /// capture (`processing`); returns how many were canceled. Rows are locked `FOR UPDATE SKIP LOCKED` (two sweepers
    /// take disjoint sessions; a capture holding the lock is skipped and re-checked next sweep).
    func expireAuthorizationsBatch() async throws -> Int {
        let window = Double(limits.authorizationWindowSeconds)
        let batchMax = Int64(limits.batchMax)
        return try await expire { now in
            let cutoff = now.addingTimeInterval(-window)
            return """
                WITH due AS (
                    SELECT s.id, p.id AS payment_id FROM transactions_payment_sessions s
                    JOIN transactions_payments p ON p.session_id = s.id AND p.status = 'authorized'
                    WHERE s.status = 'processing' AND p.created_at <= \(cutoff)
                    ORDER BY p.created_at LIMIT \(batchMax) FOR UPDATE OF s SKIP LOCKED),
                canceled_payments AS (
                    UPDATE transactions_payments p SET status = 'canceled', updated_at = \(now)
                    FROM due WHERE p.id = due.payment_id
                    RETURNING p.id),
                expired AS (
                    UPDATE transactions_payment_sessions s
                    SET status = 'canceled', cancellation_reason = 'expired', updated_at = \(now)
                    FROM due WHERE s.id = due.id
                    RETURNING s.id, s.merchant_id, s.mode)
                SELECT e.id, e.merchant_id, e.mode, c.id AS checkout_id
                FROM expired e LEFT JOIN transactions_checkout_sessions c ON c.payment_session_id = e.id
                ORDER BY e.id
                """
        }
    }

    /// One transaction: `statement` (built for this sweep's `now`) expires a batch and returns the expired sessions'
    /// `id`, `merchant_id`, `mode` and `checkout_id`; their `session.expired` events are appended before it commits.
    private func expire(_ statement: @Sendable (Date) -> SQL) async throws -> Int {
        let now = services.clock.now()
        let services = services
        let pageBaseURL = checkoutPageBaseURL
        let expired = try await services.database.transaction { tx -> Int in
            let rows = try await tx.query(statement(now))
            let events = try await Self.events(rows, now: now, pageBaseURL: pageBaseURL, in: tx)
            if !events.isEmpty { try await services.eventLog.append(events, in: tx) }
            return events.count
        }
        if expired > 0 { services.eventLog.appendCommitted() }
        return expired
    }

    /// One `session.expired` per expired session (`id`, `merchant_id`, `mode`, `checkout_id` rows), read inside the
    /// expiring transaction: a checkout session's event carries the checkout, a standalone one's the payment session.
    private static func events(_ rows: [Row], now: Date, pageBaseURL: String, in tx: any SQLExecutor) async throws -> [DomainEvent] {
        var events: [DomainEvent] = []
        for row in rows {
            let mode = Mode(rawValue: try row.decode("mode")) ?? .test
            let tenant = TenantContext(merchantId: try row.decode("merchant_id"), mode: mode)
            let id: String = try row.decode("id")
            let checkoutId: String? = try row.decode("checkout_id", as: String?.self)
            let object: JSONValue
            if let checkoutId {
                object = try await CheckoutSessions.json(checkoutId, tenant: tenant, pageBaseURL: pageBaseURL, now: now, in: tx)
            } else {
                object = try await PaymentStore.sessionJSON(id, in: tx)
            }
            events.append(DomainEvent(type: Self.eventType, tenant: tenant, resourceId: checkoutId ?? id, occurredAt: now,
                                      payload: ["object": object]))
        }
        return events
    }

    /// One sweep: full batches back to back, at most `batchesPerSweepMax` of each kind (unpaid sessions, lapsed
    /// authorizations); returns how many sessions expired.
    func sweep() async throws -> Int {
        let unpaid = try await ExpirySweep.batches(max: limits.batchesPerSweepMax, batchMax: limits.batchMax) {
            try await expireBatch()
        }
        let lapsed = try await ExpirySweep.batches(max: limits.batchesPerSweepMax, batchMax: limits.batchMax) {
            try await expireAuthorizationsBatch()
        }
        return unpaid + lapsed
    }

    /// "transactions.session-expiry": runs beside the server until cancelled.
    func sweepLoop() async {
        await ExpirySweep.loop(everySeconds: limits.sweepIntervalSeconds, logger: services.logger,
                               failureMessage: "payment session expiry sweep failed") { _ = try await sweep() }
    }
}
