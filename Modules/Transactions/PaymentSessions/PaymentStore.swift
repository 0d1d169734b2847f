import Foundation
import Kernel

/// SQL of `/functions/v1` payments. Every statement runs inside the caller's transaction, after the caller
/// locked the session row (merchant and mode were checked by that lock).
enum PaymentStore {
    static func insert(_ payment: PaymentRecord, tenant: TenantContext, sessionStatus: String,
                       in tx: any SQLExecutor) async throws {
        var card: (brand: String?, last4: String?) = (nil, nil)
        var bank: (routing: String?, last4: String?) = (nil, nil)
        switch payment.method {
        case .card(let brand, let last4): card = (brand, last4)
        case .bankAccount(let routing, let last4): bank = (routing, last4)
        }
        try await tx.execute("""
            INSERT INTO transactions_payments (id, merchant_id, mode, session_id, status, amount, amount_captured, currency,
                payment_method_type, card_brand, card_last4, bank_routing_number, bank_last4, authorization_code, failure_code,
                decline_code, created_at, updated_at)
            VALUES (\(payment.id), \(tenant.merchantId), \(tenant.mode), \(payment.sessionId), \(payment.status.rawValue),
                \(payment.amount), \(payment.amountCaptured), \(payment.currency), \(payment.method.type), \(card.brand),
                \(card.last4), \(bank.routing), \(bank.last4), \(payment.authorizationCode), \(payment.decline?.code),
                \(payment.decline?.declineCode), \(payment.createdAt), \(payment.updatedAt))
            """)
        try await setSessionStatus(payment.sessionId, sessionStatus, now: payment.updatedAt, in: tx)
    }

    static func update(_ payment: PaymentRecord, sessionStatus: String, in tx: any SQLExecutor) async throws {
        try await tx.execute("""
            UPDATE transactions_payments SET status = \(payment.status.rawValue), amount_captured = \(payment.amountCaptured),
                updated_at = \(payment.updatedAt)
            WHERE id = \(payment.id)
            """)
        try await setSessionStatus(payment.sessionId, sessionStatus, now: payment.updatedAt, in: tx)
    }

    static func setSessionStatus(_ id: String, _ status: String, now: Date, in tx: any SQLExecutor) async throws {
        try await tx.execute("""
            UPDATE transactions_payment_sessions SET status = \(status), updated_at = \(now) WHERE id = \(id)
            """)
    }

    /// The session's payment waiting for a capture, if any (at most one: a session is authorized once).
    static func authorizedPayment(sessionId: String, in executor: any SQLExecutor) async throws -> PaymentRecord? {
        try await executor.queryFirst("""
            SELECT * FROM transactions_payments WHERE session_id = \(sessionId) AND status = 'authorized'
            """).map(PaymentRecord.init(row:))
    }

    /// The session as AP-UPD shows it, with its latest payment attempt (`latest_payment`, null before any).
    static func sessionJSON(_ id: String, in executor: any SQLExecutor) async throws -> JSONValue {
        guard let row = try await executor.queryFirst("SELECT * FROM transactions_payment_sessions WHERE id = \(id)") else {
            throw AtlasError.notFound("No such session")
        }
        let latest = try await executor.queryFirst("""
            SELECT * FROM transactions_payments WHERE session_id = \(id) ORDER BY created_at DESC, id DESC LIMIT 1
            """).map(PaymentRecord.init(row:))
        guard case .object(var session) = try PaymentSessions.json(row) else { return .null }
        session["latest_payment"] = latest?.json ?? .null
        session["amount_received"] = .int(latest?.amountCaptured ?? 0)
        return .object(session)
    }
}
