import Foundation
import Kernel

/// What a payment was made with, as kept: never a full card or account number.
enum PaymentMethodDetails: Sendable, Hashable {
    case card(brand: String, last4: String)
    case bankAccount(routingNumber: String, last4: String)

    var type: String {
        switch self {
        case .card: "card"
        case .bankAccount: "bank_account"
        }
    }

    init(_ method: ConfirmedPaymentMethod) {
        switch method {
        case .card(let card): self = .card(brand: card.brand, last4: card.last4)
        case .bankAccount(let account): self = .bankAccount(routingNumber: account.routingNumber, last4: account.last4)
        }
    }

    /// `card` and `bank_account` of AP-WH's payment object (the other one null).
    var json: (card: JSONValue, bankAccount: JSONValue) {
        switch self {
        case .card(let brand, let last4):
            return (card: ["brand": .string(brand), "last4": .string(last4)], bankAccount: .null)
        case .bankAccount(let routing, let last4):
            return (card: .null, bankAccount: ["routing_number": .string(routing), "last4": .string(last4)])
        }
    }
}

/// One confirmation attempt of a payment session, as a value whose transitions assert their order:
/// authorized → succeeded (captured) or canceled; a decline is `failed` from the start.
struct PaymentRecord: Sendable {
    enum Status: String, Sendable { case authorized, succeeded, failed, canceled }

    /// The payments API's events (spec §11, AP-WH) that a payment appends to the event log.
    enum EventType: String, Sendable {
        case authorized = "payment.authorized"
        case captured = "payment.captured"
        case failed = "payment.failed"
    }

    let id: String
    let sessionId: String
    let amount: Int64
    let currency: String
    let method: PaymentMethodDetails
    var status: Status = .failed
    var amountCaptured: Int64 = 0
    var authorizationCode: String?
    var decline: PaymentDecline?
    let createdAt: Date
    var updatedAt: Date

    init(id: String, session: PaymentConfirmation.LockedSession, method: ConfirmedPaymentMethod, now: Date) {
        self.id = id
        sessionId = session.id
        amount = session.amount
        currency = session.currency
        self.method = PaymentMethodDetails(method)
        createdAt = now
        updatedAt = now
    }

    init(row: Row) throws {
        id = try row.decode("id")
        sessionId = try row.decode("session_id")
        amount = try row.decode("amount")
        currency = try row.decode("currency")
        if row.text("payment_method_type") == "bank_account" {
            method = .bankAccount(routingNumber: row.text("bank_routing_number") ?? "", last4: row.text("bank_last4") ?? "")
        } else {
            method = .card(brand: row.text("card_brand") ?? "", last4: row.text("card_last4") ?? "")
        }
        status = Status(rawValue: try row.decode("status")) ?? .failed
        amountCaptured = try row.decode("amount_captured")
        authorizationCode = row.text("authorization_code")
        decline = row.text("failure_code").map {
            PaymentDecline(code: $0, declineCode: row.text("decline_code"), message: "")
        }
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
    }

    mutating func authorize(code: String) {
        precondition(decline == nil && authorizationCode == nil, "a payment is authorized once")
        authorizationCode = code
        status = .authorized
    }

    mutating func capture(_ captured: Int64) {
        precondition(status == .authorized, "only an authorized payment is captured")
        precondition(captured > 0 && captured <= amount, "a capture is 1 to the authorized amount")
        amountCaptured = captured
        status = .succeeded
    }

    /// Releases an authorization that was never captured.
    mutating func cancel(at date: Date) {
        precondition(status == .authorized, "only an uncaptured authorization is canceled")
        status = .canceled
        updatedAt = date
    }

    mutating func fail(_ reason: PaymentDecline) {
        precondition(authorizationCode == nil, "an authorized payment is not declined afterwards")
        decline = reason
        status = .failed
    }

    /// The session's status once this payment is written: a decline leaves it open for another card.
    var sessionStatus: String {
        switch status {
        case .authorized: PaymentSessionStatus.processing
        case .succeeded: PaymentSessionStatus.succeeded
        case .failed: PaymentSessionStatus.requiresPaymentMethod
        case .canceled: PaymentSessionStatus.canceled
        }
    }

    /// AP-WH's `data.object`.
    var json: JSONValue {
        let details = method.json
        return [
            "id": .string(id), "object": "payment", "session_id": .string(sessionId), "amount": .int(amount),
            "amount_captured": .int(amountCaptured), "currency": .string(currency), "status": .string(status.rawValue),
            "payment_method_type": .string(method.type), "card": details.card, "bank_account": details.bankAccount,
            "failure_code": decline.map { .string($0.code) } ?? .null,
            "decline_code": decline?.declineCode.map { .string($0) } ?? .null,
            "created": .int(Int64(createdAt.timeIntervalSince1970)),
        ]
    }

    func event(_ type: EventType, tenant: TenantContext, at date: Date) -> DomainEvent {
        DomainEvent(type: type.rawValue, tenant: tenant, resourceId: id, occurredAt: date, payload: ["object": json])
    }
}

/// Why a card was refused, in the payments API's terms (AP-ERR: `code` and `decline_code`).
struct PaymentDecline: Sendable {
    let code: String
    let declineCode: String?
    let message: String

    /// From the acquirer's decline code (`SimulatedAcquirer` and ISO 8583 hosts use the same names).
    init(acquirerCode: String) {
        switch acquirerCode {
        case "INSUFFICIENT_FUNDS": self.init(code: "card_declined", declineCode: "insufficient_funds",
                                             message: "Your card has insufficient funds")
        case "EXPIRED_CARD": self.init(code: "expired_card", declineCode: "expired_card", message: "Your card has expired")
        case "INCORRECT_CVC": self.init(code: "incorrect_cvc", declineCode: "incorrect_cvc",
                                        message: "Your card's security code is incorrect")
        case "LOST_CARD": self.init(code: "card_declined", declineCode: "lost_card", message: "Your card was declined")
        case "STOLEN_CARD": self.init(code: "card_declined", declineCode: "stolen_card", message: "Your card was declined")
        case "AUTHENTICATION_FAILED": self.init(code: "card_declined", declineCode: "authentication_failed",
                                                message: "The card's 3-D Secure authentication failed")
        default: self.init(code: "card_declined", declineCode: "generic_decline", message: "Your card was declined")
        }
    }

    init(code: String, declineCode: String?, message: String) {
        self.code = code
        self.declineCode = declineCode
        self.message = message
    }

    /// No answer from the acquirer, or an error on its side.
    static let processingError = PaymentDecline(code: "processing_error", declineCode: "processing_error",
                                                message: "An error occurred while processing your card; try again")

    var error: AtlasError { .cardDeclined(code: code, declineCode: declineCode, message) }
}
