import AcquirerContract
import Foundation
import IdempotencyContract
import Kernel

/// Confirm, capture and cancel of a `/functions/v1` payment session (spec §11). The card goes through the
/// same acquirer seam as terminal sales (test mode: the simulator and its test cards). Each step locks the
/// session row, so two confirmations of one session serialize and the second finds it no longer open.
/// A decline is committed (a `failed` payment, `payment.failed`) and answered 402 `card_error` in the same
/// transaction as its Idempotency-Key, so a retry with the key replays the decline.
struct PaymentConfirmation: Sendable {
    let services: ModuleServices
    let acquirers: ModeAcquirers
    /// An authorization older than this is expired: capture is refused at once (by the clock), even before the sweep
    /// cancels it (`PaymentSessionExpiry`), so no capture ever lands on a lapsed authorization.
    let authorizationWindowSeconds: Int

    struct ConfirmBody: Decodable, Sendable {
        let payment_method: PaymentMethodCheck.PaymentMethodBody?
    }

    struct CaptureBody: Decodable, Sendable {
        let amount_to_capture: Int64?
    }

    /// The locked session row a step works on.
    struct LockedSession: Sendable {
        let id: String
        let status: String
        let amount: Int64
        let currency: String
        let captureMethod: String
        let paymentMethodTypes: [String]
        /// Past it the session is expired and not payable, even before the sweep marks it (`PaymentSessionExpiry`).
        let expiresAt: Date?
    }

    func confirm(_ id: String, request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let body = try request.decodeJSON(ConfirmBody.self)
        let now = services.clock.now()
        // The processor first, as before any lookup: a live confirmation with none wired is a retryable 503.
        let acquirer = acquirers.cardAcquirer(for: tenant.mode)
        switch PaymentMethodCheck.requestedType(body.payment_method) {
        case "card" where acquirer == nil: throw TransactionErrors.acquirerNotConfigured
        case "bank_account" where tenant.mode == .live: throw SimulatedBankDebits.notConfigured
        default: break
        }
        let services = services
        let renderer = context.errorRenderer
        let requestId = request.requestId
        let response = try await KeyedWrite.transaction(key: context.idempotency, database: services.database) { tx in
            let session = try await Self.lock(id, tenant: tenant, in: tx)
            guard session.status == PaymentSessionStatus.requiresPaymentMethod else {
                throw PaymentErrors.unexpectedState(session.status, expected: "requires_payment_method")
            }
            if let expiry = session.expiresAt, expiry <= now {
                throw PaymentErrors.unexpectedState("expired", expected: "a session that has not expired")
            }
            let method = try PaymentMethodCheck.check(body.payment_method, allowedTypes: session.paymentMethodTypes,
                                                      captureMethod: session.captureMethod, now: now)
            var payment = PaymentRecord(id: "pay_" + ULID.generate(unixMillis: services.clock.unixMillis()), session: session,
                                        method: method, now: now)
            let events = try await Self.pay(&payment, with: method, session: session, acquirer: acquirer)
            try await PaymentStore.insert(payment, tenant: tenant, sessionStatus: payment.sessionStatus, in: tx)
            try await services.eventLog.append(events.map { payment.event($0, tenant: tenant, at: now) }, in: tx)
            if let decline = payment.decline {
                return renderer.render(decline.error, requestId: requestId)
            }
            return .json(try await PaymentStore.sessionJSON(id, in: tx))
        }
        services.eventLog.appendCommitted()
        guard let response else { throw AtlasError.internalError() }
        return response
    }

    /// Manual capture: the whole authorization, or `amount_to_capture` of it (the rest is released).
    func capture(_ id: String, request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let body = request.body.isEmpty ? CaptureBody(amount_to_capture: nil) : try request.decodeJSON(CaptureBody.self)
        guard let acquirer = acquirers.cardAcquirer(for: tenant.mode) else { throw TransactionErrors.acquirerNotConfigured }
        let services = services
        let authorizationWindowSeconds = authorizationWindowSeconds
        let now = services.clock.now()
        let response = try await KeyedWrite.transaction(key: context.idempotency, database: services.database) { tx in
            let session = try await Self.lock(id, tenant: tenant, in: tx)
            guard session.status == PaymentSessionStatus.processing,
                  var payment = try await PaymentStore.authorizedPayment(sessionId: id, in: tx) else {
                throw PaymentErrors.unexpectedState(session.status, expected: "processing (authorized, manual capture)")
            }
            if payment.createdAt.addingTimeInterval(Double(authorizationWindowSeconds)) <= now {
                throw PaymentErrors.unexpectedState("expired (the authorization lapsed)",
                                                    expected: "an authorization within its window")
            }
            let amount = body.amount_to_capture ?? payment.amount
            guard amount > 0, amount <= payment.amount else {
                throw AtlasError.invalidField("amount_to_capture", "amount_to_capture must be 1 to the authorized amount",
                                              constraint: "range", value: .int(amount))
            }
            try await Self.capture(&payment, amount: amount, acquirer: acquirer)
            guard payment.status == .succeeded else { throw PaymentErrors.captureFailed }
            payment.updatedAt = now
            try await PaymentStore.update(payment, sessionStatus: payment.sessionStatus, in: tx)
            try await services.eventLog.append([payment.event(.captured, tenant: tenant, at: now)], in: tx)
            return .json(try await PaymentStore.sessionJSON(id, in: tx))
        }
        services.eventLog.appendCommitted()
        guard let response else { throw AtlasError.internalError() }
        return response
    }

    /// Cancels a session that is still open, or authorized and not captured (the authorization is reversed).
    func cancel(_ id: String, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let acquirer = acquirers.cardAcquirer(for: tenant.mode)
        let services = services
        let now = services.clock.now()
        let response = try await KeyedWrite.transaction(key: context.idempotency, database: services.database) { tx in
            let session = try await Self.lock(id, tenant: tenant, in: tx)
            guard [PaymentSessionStatus.requiresPaymentMethod, PaymentSessionStatus.processing].contains(session.status) else {
                throw PaymentErrors.unexpectedState(session.status, expected: "requires_payment_method or processing")
            }
            if var payment = try await PaymentStore.authorizedPayment(sessionId: id, in: tx) {
                guard let acquirer else { throw TransactionErrors.acquirerNotConfigured }
                _ = try await acquirer.send(AcquirerRequest(
                    operation: .reverse, transactionId: payment.id, amountMinorUnits: payment.amount, currency: payment.currency,
                    cardNumber: nil, originalAuthorizationCode: payment.authorizationCode))
                payment.cancel(at: now)
                try await PaymentStore.update(payment, sessionStatus: PaymentSessionStatus.canceled, in: tx)
            } else {
                try await PaymentStore.setSessionStatus(id, PaymentSessionStatus.canceled, now: now, in: tx)
            }
            try await tx.execute("""
                UPDATE transactions_payment_sessions SET cancellation_reason = 'requested' WHERE id = \(id)
                """)
            let canceled = try await PaymentStore.sessionJSON(id, in: tx)
            try await services.eventLog.append([DomainEvent(type: "session.canceled", tenant: tenant, resourceId: id,
                                                            occurredAt: now, payload: ["object": canceled])], in: tx)
            return .json(canceled)
        }
        services.eventLog.appendCommitted()
        guard let response else { throw AtlasError.internalError() }
        return response
    }

    /// Authorizes the payment (and captures it when the session captures automatically); the events to append.
    private static func pay(_ payment: inout PaymentRecord, with method: ConfirmedPaymentMethod, session: LockedSession,
                            acquirer: (any CardAcquirer)?) async throws -> [PaymentRecord.EventType] {
        let card: PaymentCard
        switch method {
        case .card(let chosen): card = chosen
        case .bankAccount(let account):
            // Test mode only (live is refused before the lock): verified and settled at once.
            if let refusal = SimulatedBankDebits.refusal(account) {
                payment.fail(refusal)
                return [.failed]
            }
            payment.authorize(code: SimulatedBankDebits.authorizationCode(account))
            payment.capture(session.amount)
            return [.authorized, .captured]
        }
        guard let acquirer else { throw TransactionErrors.acquirerNotConfigured }
        let authorization = try await acquirer.send(AcquirerRequest(
            operation: .authorize, transactionId: payment.id, amountMinorUnits: session.amount, currency: session.currency,
            cardNumber: card.number, originalAuthorizationCode: nil))
        switch authorization {
        case .approved(let code, _):
            payment.authorize(code: code)
            guard session.captureMethod == "automatic" else { return [.authorized] }
            try await capture(&payment, amount: session.amount, acquirer: acquirer)
            return payment.status == .succeeded ? [.authorized, .captured] : [.authorized]
        case .declined(_, let declineCode):
            payment.fail(PaymentDecline(acquirerCode: declineCode))
            return [.failed]
        case .timeout, .processingError:
            payment.fail(PaymentDecline.processingError)
            return [.failed]
        }
    }

    private static func capture(_ payment: inout PaymentRecord, amount: Int64, acquirer: any CardAcquirer) async throws {
        let outcome = try await acquirer.send(AcquirerRequest(
            operation: .capture, transactionId: payment.id, amountMinorUnits: amount, currency: payment.currency,
            cardNumber: nil, originalAuthorizationCode: payment.authorizationCode))
        if case .approved = outcome { payment.capture(amount) }
    }

    private static func lock(_ id: String, tenant: TenantContext, in tx: any SQLExecutor) async throws -> LockedSession {
        guard let row = try await tx.queryFirst("""
            SELECT s.id, s.status, s.amount, s.currency, s.capture_method, s.payment_method_types, s.expires_at
            FROM transactions_payment_sessions s
            WHERE s.id = \(id) AND s.merchant_id = \(tenant.merchantId) AND s.mode = \(tenant.mode) FOR UPDATE
            """) else { throw AtlasError.notFound("No such session") }
        let types: String = try row.decode("payment_method_types")
        return LockedSession(id: id, status: try row.decode("status"), amount: try row.decode("amount"),
                             currency: try row.decode("currency"), captureMethod: try row.decode("capture_method"),
                             paymentMethodTypes: types.split(separator: ",").map(String.init),
                             expiresAt: try row.decode("expires_at", as: Date?.self))
    }
}

/// The session statuses of AP-UPD. An authorized payment waiting for a manual capture leaves its session
/// `processing` (the documented enum has no `requires_capture`).
enum PaymentSessionStatus {
    static let requiresPaymentMethod = "requires_payment_method"
    static let processing = "processing"
    static let succeeded = "succeeded"
    static let canceled = "canceled"
}

enum PaymentErrors {
    static func unexpectedState(_ status: String, expected: String) -> AtlasError {
        AtlasError.conflict(code: "SESSION_UNEXPECTED_STATE", "The session is \(status); this step needs \(expected)")
    }

    static let captureFailed = AtlasError.cardDeclined(code: "processing_error", declineCode: "processing_error",
                                                       "The capture could not be completed; retry it")
}
