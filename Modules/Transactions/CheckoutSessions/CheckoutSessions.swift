import Foundation
import IdempotencyContract
import Kernel

/// `/functions/v1/checkout-sessions` (spec §11, AP-CHK): a hosted checkout for line items, paid through a
/// payment session of its own (created with it, `payment_session` in the answer). Its `status` and
/// `payment_status` are read from that payment session, so they can never disagree with it.
/// Decisions (docs/transactions.md): a line item's `price` is its unit amount in minor units (there is no
/// price catalogue), `currency` is required, `mode:"subscription"` and `discounts` are refused by name.
struct CheckoutSessions: Sendable {
    static let lineItemsMax = 100
    static let quantityMax: Int64 = 9_999
    static let expirySecondsMin: Int64 = 30 * 60
    static let expirySecondsMax: Int64 = 24 * 3_600
    static let modes = ["payment", "subscription"]

    let services: ModuleServices
    /// Where the hosted page lives; the session id is appended (`TransactionsSettings.checkoutPageBaseURL`).
    let pageBaseURL: String

    struct LineItemBody: Decodable, Sendable {
        let price: JSONValue?
        let quantity: Int64?
        let description: String?
    }

    struct Discount: Decodable, Sendable { let coupon: String? }
    struct SubscriptionData: Decodable, Sendable { let trial_period_days: Int? }

    struct CreateBody: Decodable, Sendable {
        let mode: String?
        let line_items: [LineItemBody]?
        let currency: String?
        let success_url: String?
        let cancel_url: String?
        let customer: String?
        let customer_email: String?
        let allow_promotion_codes: Bool?
        let discounts: [Discount]?
        let subscription_data: SubscriptionData?
        let expires_at: Int64?
        let metadata: JSONValue?
    }

    func create(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let body = try request.decodeJSON(CreateBody.self)
        let now = services.clock.now()
        try Self.checkMode(body)
        let items = try CheckoutLineItems.check(body.line_items)
        let amountTotal = try CheckoutLineItems.total(items)
        guard let currencyCode = body.currency else { throw AtlasError.missingField("currency") }
        guard let currency = Currency(code: currencyCode) else { throw TransactionErrors.invalidCurrency(currencyCode) }
        let expiresAt = try Self.expiry(body.expires_at, now: now)
        try PaymentSessions.checkText(body.customer, "customer", max: PaymentSessions.externalIdLengthMax)
        try PaymentSessions.checkText(body.customer_email, "customer_email", max: PaymentSessions.emailLengthMax)
        try PaymentSessions.checkText(body.success_url, "success_url", max: PaymentSessions.urlLengthMax)
        try PaymentSessions.checkText(body.cancel_url, "cancel_url", max: PaymentSessions.urlLengthMax)
        try SaleValidation.checkMetadata(body.metadata)
        let id = "chk_" + ULID.generate(unixMillis: services.clock.unixMillis())
        var session = PaymentSessions.NewSession(
            id: "sess_" + ULID.generate(unixMillis: services.clock.unixMillis()), tenant: tenant, amount: amountTotal,
            currency: currency.code, captureMethod: "automatic", paymentMethodTypes: ["card"], customerEmail: body.customer_email,
            successURL: body.success_url, cancelURL: body.cancel_url, metadata: body.metadata,
            clientSecretHash: services.crypto.sha256(services.crypto.randomBytes(count: 16)), now: now)
        // The payment session expires with its checkout: the sweep expires both at once (`PaymentSessionExpiry`).
        session.expiresAt = expiresAt
        let insert: SQL = """
            INSERT INTO transactions_checkout_sessions (id, merchant_id, mode, payment_session_id, line_items, amount_total,
                currency, customer, customer_email, allow_promotion_codes, expires_at, created_at)
            VALUES (\(id), \(tenant.merchantId), \(tenant.mode), \(session.id), \(CheckoutLineItems.json(items)),
                \(amountTotal), \(currency.code), \(body.customer), \(body.customer_email), \(body.allow_promotion_codes ?? false),
                \(expiresAt), \(now))
            """
        let sessionInsert = session.insertStatement
        let view = self
        let response = try await KeyedWrite.transaction(key: context.idempotency, database: services.database) { tx in
            try await tx.execute(sessionInsert)
            try await tx.execute(insert)
            return .json(try await view.json(id, tenant: tenant, in: tx))
        }
        guard let response else { throw AtlasError.internalError() }
        return response
    }

    func get(_ id: String, tenant: TenantContext) async throws -> Response {
        .json(try await json(id, tenant: tenant, in: services.database))
    }

    private func json(_ id: String, tenant: TenantContext, in executor: any SQLExecutor) async throws -> JSONValue {
        try await Self.json(id, tenant: tenant, pageBaseURL: pageBaseURL, now: services.clock.now(), in: executor)
    }

    /// The checkout session as AP-CHK shows it; also the object of its `session.expired` event.
    static func json(_ id: String, tenant: TenantContext, pageBaseURL: String, now: Date,
                     in executor: any SQLExecutor) async throws -> JSONValue {
        guard let row = try await executor.queryFirst("""
            SELECT c.*, s.status AS payment_session_status, s.success_url, s.cancel_url, s.metadata
            FROM transactions_checkout_sessions c JOIN transactions_payment_sessions s ON s.id = c.payment_session_id
            WHERE c.id = \(id) AND c.merchant_id = \(tenant.merchantId) AND c.mode = \(tenant.mode)
            """) else { throw AtlasError.notFound("No such checkout session") }
        let paymentStatus: String = try row.decode("payment_session_status")
        let paid = paymentStatus == PaymentSessionStatus.succeeded
        let expiresAt: Date = try row.decode("expires_at")
        let canceled = paymentStatus == PaymentSessionStatus.canceled
        let status = paid ? "complete" : (canceled || expiresAt <= now) ? "expired" : "open"
        let items = PaymentSessions.jsonColumn(row, "line_items")
        func text(_ column: String) -> JSONValue { row.text(column).map { .string($0) } ?? .null }
        return [
            "id": .string(id), "object": "checkout.session", "url": .string(pageBaseURL + id), "mode": "payment",
            "status": .string(status), "payment_status": paid ? "paid" : "unpaid",
            "amount_total": .int(try row.decode("amount_total")), "currency": text("currency"),
            "line_items": ["object": "list", "data": items == .null ? .array([]) : items, "has_more": false],
            "customer": text("customer"), "customer_email": text("customer_email"),
            "success_url": text("success_url"), "cancel_url": text("cancel_url"),
            "allow_promotion_codes": .bool(try row.decode("allow_promotion_codes")),
            "expires_at": .int(Int64(expiresAt.timeIntervalSince1970)), "payment_session": text("payment_session_id"),
            "metadata": PaymentSessions.jsonColumn(row, "metadata"),
            "livemode": .bool(tenant.mode == .live),
            "created": .int(Int64((try row.decode("created_at", as: Date.self)).timeIntervalSince1970)),
        ]
    }

    /// `subscription` needs a billing engine Atlas does not have: refused by name rather than half-done.
    private static func checkMode(_ body: CreateBody) throws(AtlasError) {
        let mode = body.mode ?? "payment"
        guard modes.contains(mode) else {
            throw .invalidField("mode", "mode must be payment or subscription", constraint: "enum")
        }
        guard mode == "payment", body.subscription_data == nil else {
            throw .invalidField("mode", "Subscription checkouts are not supported; use mode payment", constraint: "unsupported")
        }
        guard body.discounts?.isEmpty ?? true else {
            throw AtlasError(kind: .invalidField, status: 400, code: "COUPON_NOT_FOUND", message: "No such coupon",
                             details: ErrorDetails(field: "discounts", constraint: "exists"))
        }
    }

    /// 30 minutes to 24 hours ahead, 24 hours when absent.
    static func expiry(_ unixSeconds: Int64?, now: Date) throws(AtlasError) -> Date {
        let nowSeconds = Int64(now.timeIntervalSince1970)
        guard let unixSeconds else { return Date(timeIntervalSince1970: TimeInterval(nowSeconds + expirySecondsMax)) }
        guard unixSeconds >= nowSeconds + expirySecondsMin, unixSeconds <= nowSeconds + expirySecondsMax else {
            throw .invalidField("expires_at", "expires_at must be 30 minutes to 24 hours from now", constraint: "range",
                                value: .int(unixSeconds))
        }
        return Date(timeIntervalSince1970: TimeInterval(unixSeconds))
    }
}
