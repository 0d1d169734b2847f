import AccessContract
import Foundation
import Kernel

/// `POST /api/terminal-report` (rule 28): stores the report and acts on the card it names, answering 204.
/// `tamper` blocks the card `BLOCKED_TAMPER`, `replay` `BLOCKED_FRAUD` and flags its latest events for
/// review, `write_failure` marks it for validation on its next tap; other types are logged only. A report
/// never replaces a tamper or fraud block, and a card the tenant does not have is left alone (the report
/// is still stored, without action).
struct ReportHandlers: Sendable {
    static let eventTypes = ["tamper", "replay", "invalid_transition", "session_expired", "write_failure", "terminal_error"]
    /// `details` is at most 256 bytes (A.1).
    static let detailsBytesMax = 256
    /// A replay report flags this many of the card's latest reconciled events (the card's log ring holds 7).
    static let replayReviewEventsMax = 7

    struct Body: Decodable, Validatable {
        let terminalId: UInt16
        let cardId: String?
        let eventType: String
        let details: String?
        let counter: UInt64?
        let timestamp: UInt32

        func validate() throws(AtlasError) {
            guard ReportHandlers.eventTypes.contains(eventType) else {
                throw CardErrors.malformed("eventType", "eventType must be one of \(ReportHandlers.eventTypes.joined(separator: ", "))")
            }
            if let cardId, CardId.parse(cardId) == nil { throw CardErrors.malformed("cardId", "cardId must be 12 hex digits or null") }
            guard (details ?? "").utf8.count <= ReportHandlers.detailsBytesMax else {
                throw CardErrors.malformed("details", "details must be at most \(ReportHandlers.detailsBytesMax) bytes")
            }
            if let counter, counter > ReconcileLimits.counterMax {
                throw CardErrors.malformed("counter", "counter must be at most \(ReconcileLimits.counterMax)")
            }
        }
    }

    let services: ModuleServices

    func report(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let principal = context.principal
        let body = try request.decodeJSON(Body.self)
        guard principal.terminalId == String(body.terminalId) else {
            throw CardErrors.malformed("terminalId", "terminalId is not the authenticated device's terminal")
        }
        let cardId = body.cardId.flatMap(CardId.parse)
        let now = services.clock.now()
        let action = try await services.database.transaction { tx -> String in
            let action = try await Self.act(on: cardId, eventType: body.eventType, tenant: tenant, now: now, on: tx)
            try await ReportStore().insert(tenant, ReportStore.Report(
                terminalId: Int(body.terminalId), deviceId: principal.id, cardId: cardId, eventType: body.eventType,
                details: body.details ?? "", counter: body.counter.map { Int64($0) }, timestamp: Int64(body.timestamp),
                source: "terminal", action: action), now: now, on: tx)
            return action
        }
        if action != "none" {
            services.logger.warning("terminal report acted on a card: operator alert", [
                "merchantId": .string(tenant.merchantId), "cardId": .string(cardId ?? ""), "eventType": .string(body.eventType),
                "action": .string(action), "terminalId": .int(Int64(body.terminalId))])
        }
        return Response(status: 204)
    }

    /// The card change a report type asks for; returns what was done ("none" when nothing).
    static func act(on cardId: String?, eventType: String, tenant: TenantContext, now: Date,
                    on tx: any SQLExecutor) async throws -> String {
        guard let cardId else { return "none" }
        switch eventType {
        case "tamper":
            return try await block(cardId, .blockedTamper, tenant: tenant, now: now, on: tx) ? CardStatus.blockedTamper.rawValue : "none"
        case "replay":
            let blocked = try await block(cardId, .blockedFraud, tenant: tenant, now: now, on: tx)
            try await tx.execute("""
                UPDATE reconciliation_card_events SET review_flag = true,
                    flag_reasons = concat_ws(',', flag_reasons, 'replay_reported')
                WHERE (merchant_id, mode, card_id, counter) IN (
                    SELECT merchant_id, mode, card_id, counter FROM reconciliation_card_events
                    WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND card_id = \(cardId)
                    ORDER BY counter DESC LIMIT \(replayReviewEventsMax))
                """)
            return blocked ? CardStatus.blockedFraud.rawValue : "events_flagged"
        case "write_failure":
            let marked = try await tx.execute("""
                UPDATE reconciliation_cards SET validate_on_next_tap = true
                WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND card_id = \(cardId)
                """)
            return marked == 1 ? "validate_on_next_tap" : "none"
        default:
            return "none"
        }
    }

    private static func block(_ cardId: String, _ status: CardStatus, tenant: TenantContext, now: Date,
                              on tx: any SQLExecutor) async throws -> Bool {
        try await tx.execute("""
            UPDATE reconciliation_cards SET status = \(status.rawValue), blocked_at = \(now), block_reason = \(status.rawValue),
                last_activity_at = \(now)
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND card_id = \(cardId)
              AND status NOT IN ('BLOCKED_TAMPER', 'BLOCKED_FRAUD')
            """) == 1
    }
}
