import Foundation
import Kernel

/// Which API an endpoint belongs to. It decides which event types the endpoint may receive, the body, the
/// signature headers and the retry schedule (docs/webhooks.md, "Flavours"). Standard Webhooks v1 headers go
/// with every flavour.
///
/// WHY disjoint catalogues: one event log serves three APIs whose conventions must not mix (commerce-api.md
/// §11: "Do not mix the two conventions"), so an accounting event never reaches a Commerce endpoint, and so on.
enum WebhookFlavour: String, Sendable, CaseIterable, Hashable {
    /// Commerce `/v1` (§7): `Atlas-*` headers, `t=…,v1=…` signature, 7 attempts.
    case commerce
    /// Accounting `/api/v1` (spec B rule 29): `X-Atlas-Signature`, hex HMAC of the raw body; 7 attempts.
    case accounting
    /// Payments `/functions/v1` (§11): `x-atlas-signature`, hex HMAC of the body, 5 attempts.
    case payments

    /// What the Accounting module appends (grep `DomainEvent(` in Modules/Accounting): spec B rule 29 plus
    /// `period.reopened`.
    static let accountingEventTypes: Set<String> = [
        "invoice.created", "invoice.sent", "invoice.paid", "bill.approved", "payment.received", "period.closed",
        "period.reopened",
    ]
    /// Commerce §11's payment events.
    static let paymentsEventTypes: Set<String> = [
        "payment.authorized", "payment.captured", "payment.failed", "payment.refunded", "session.expired", "session.canceled",
    ]

    /// The flavours the Commerce `/v1/webhook-endpoints` API manages (payments endpoints have no API of their own).
    static let commerceAPI: [WebhookFlavour] = [.commerce, .payments]

    /// True when an event of `type` may be delivered to an endpoint of this flavour.
    func accepts(_ type: String) -> Bool {
        switch self {
        case .accounting: Self.accountingEventTypes.contains(type)
        case .payments: Self.paymentsEventTypes.contains(type) || type == "webhook.test"
        case .commerce: !Self.accountingEventTypes.contains(type) && !Self.paymentsEventTypes.contains(type)
        }
    }

    /// `string_to_array(…, ',')` input for SQL.
    static func list(_ flavours: [WebhookFlavour]) -> String { flavours.map(\.rawValue).joined(separator: ",") }
    static func list(_ types: Set<String>) -> String { types.sorted().joined(separator: ",") }
}

/// The retry schedules of the flavours, by flavour.
struct FlavourSchedules: Sendable, Hashable {
    var commerce = RetrySchedule()
    var accounting = RetrySchedule()
    /// §11: attempt 1 at once, then 5 min, 30 min, 2 h, 24 h.
    var payments = RetrySchedule(attemptsMax: 5, fixedDelaysSeconds: [300, 1_800, 7_200, 86_400])

    subscript(_ flavour: WebhookFlavour) -> RetrySchedule {
        switch flavour {
        case .commerce: commerce
        case .accounting: accounting
        case .payments: payments
        }
    }
}

/// The signed request of one attempt: its body and headers, by flavour. Pure, so tests check every header.
struct DeliveryRequestBuilder: Sendable {
    let signer: WebhookSigner

    func body(_ delivery: ClaimedDelivery) -> [UInt8] {
        var object: [String: JSONValue] = [
            "id": .string(delivery.eventId), "type": .string(delivery.eventType),
            "created": .int(Int64(delivery.occurredAt.timeIntervalSince1970)), "livemode": .bool(delivery.mode.isLive),
            "data": delivery.payload,
        ]
        // §11's payload has no sequence; the other flavours carry it so receivers can order.
        if delivery.flavour != .payments { object["sequence"] = .int(delivery.sequence) }
        return JSONValue.object(object).serialized()
    }

    func headers(_ delivery: ClaimedDelivery, body: [UInt8], timestamp: Int64) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        switch delivery.flavour {
        case .commerce:
            headers.add("Atlas-Event-Id", delivery.eventId)
            headers.add("Atlas-Event-Type", delivery.eventType)
            headers.add("Atlas-Delivery", String(delivery.attempt))
            headers.add("Atlas-Signature", signer.atlasSignature(secrets: delivery.secrets, timestamp: timestamp, body: body))
            headers.add("Atlas-Webhook-Id", delivery.endpointId)
        case .accounting:
            headers.add("X-Atlas-Event-Id", delivery.eventId)
            headers.add("X-Atlas-Event-Type", delivery.eventType)
            headers.add("X-Atlas-Delivery", String(delivery.attempt))
            headers.add("X-Atlas-Signature", signer.bodySignature(secrets: delivery.secrets, body: body))
        case .payments:
            headers.add("x-atlas-signature", signer.bodySignature(secrets: delivery.secrets, body: body))
        }
        headers.add("webhook-id", delivery.eventId)
        headers.add("webhook-timestamp", String(timestamp))
        headers.add("webhook-signature", signer.standardSignature(secrets: delivery.secrets, messageId: delivery.eventId,
                                                                  timestamp: timestamp, body: body))
        return headers
    }
}
