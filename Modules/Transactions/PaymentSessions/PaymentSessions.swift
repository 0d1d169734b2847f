import Foundation
import IdempotencyContract
import Kernel

/// `/functions/v1` payment sessions (spec §11, AP-SESS/AP-UPD): create, retrieve, update.
/// snake_case fields as that API documents them; errors use the payments surface renderer.
struct PaymentSessions: Sendable {
    static let paymentMethodTypes: Set<String> = ["card", "apple_pay", "google_pay", "bank_account", "paypal"]
    static let captureMethods: Set<String> = ["automatic", "manual"]
    static let textLengthMax = 500
    static let emailLengthMax = 254
    static let urlLengthMax = 2_048
    static let externalIdLengthMax = 255
    static let callbackURLsMax = 10
    static let callbackNameLengthMax = 40

    let services: ModuleServices

    struct Customer: Decodable, Sendable {
        let email: String?
        let name: String?
    }

    struct CreateBody: Decodable, Sendable {
        let amount: Int64?
        let currency: String?
        let external_id: String?
        let capture_method: String?
        let customer: Customer?
        let success_url: String?
        let cancel_url: String?
        let payment_method_types: [String]?
        let metadata: JSONValue?
        let merchant_reference: String?
        let callback_urls: [String: String]?
        let description: String?
        /// Unix seconds, 30 minutes to 24 hours ahead; absent: the session never expires (AP-SESS documents none).
        let expires_at: Int64?
    }

    func create(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let body = try request.decodeJSON(CreateBody.self)
        guard let amount = body.amount else { throw AtlasError.missingField("amount") }
        guard let currencyCode = body.currency else { throw AtlasError.missingField("currency") }
        let currency = try checkAmountAndCurrency(amount, currencyCode, tenant: tenant)
        let capture = body.capture_method ?? "automatic"
        guard Self.captureMethods.contains(capture) else {
            throw AtlasError.invalidField("capture_method", "capture_method must be automatic or manual", constraint: "enum")
        }
        let methods = body.payment_method_types ?? ["card"]
        guard !methods.isEmpty, methods.allSatisfy(Self.paymentMethodTypes.contains) else {
            throw AtlasError.invalidField("payment_method_types", "payment_method_types must be from card, apple_pay, google_pay, bank_account, paypal",
                                          constraint: "enum")
        }
        try Self.checkText(body.external_id, "external_id", max: Self.externalIdLengthMax)
        try Self.checkText(body.customer?.email, "customer.email", max: Self.emailLengthMax)
        try Self.checkText(body.customer?.name, "customer.name", max: Self.textLengthMax)
        try Self.checkText(body.success_url, "success_url", max: Self.urlLengthMax)
        try Self.checkText(body.cancel_url, "cancel_url", max: Self.urlLengthMax)
        try Self.checkText(body.merchant_reference, "merchant_reference", max: Self.textLengthMax)
        try Self.checkText(body.description, "description", max: Self.textLengthMax)
        try checkCallbacks(body.callback_urls)
        try SaleValidation.checkMetadata(body.metadata)
        var expiresAt: Date?
        if let unixSeconds = body.expires_at { expiresAt = try CheckoutSessions.expiry(unixSeconds, now: services.clock.now()) }
        if let externalId = body.external_id, let existing = try await find(externalId: externalId, tenant: tenant) {
            return .json(existing)
        }
        let secret = "cs_" + Encoding.hex(services.crypto.randomBytes(count: 16))
        var session = NewSession(
            id: "sess_" + ULID.generate(unixMillis: services.clock.unixMillis()), tenant: tenant, amount: amount,
            currency: currency.code, captureMethod: capture, paymentMethodTypes: methods, customerEmail: body.customer?.email,
            successURL: body.success_url, cancelURL: body.cancel_url, metadata: body.metadata,
            clientSecretHash: services.crypto.sha256(Array(secret.utf8)), now: services.clock.now())
        session.externalId = body.external_id
        session.description = body.description
        session.customerName = body.customer?.name
        session.merchantReference = body.merchant_reference
        session.callbackURLs = body.callback_urls
        session.expiresAt = expiresAt
        let insert = session.insertStatement
        let id = session.id
        let services = services
        let response = try await KeyedWrite.transaction(key: context.idempotency, database: services.database) { tx in
            guard try await tx.execute(insert) == 1 else { return nil }
            var json = try await PaymentStore.sessionJSON(id, in: tx)
            if case .object(var object) = json {
                object["client_secret"] = .string(secret)
                json = .object(object)
            }
            return Response.json(json)
        }
        if let response { return response }
        // Lost a race on the same external_id: answer with the winner's session.
        if let externalId = body.external_id, let existing = try await find(externalId: externalId, tenant: tenant) {
            return .json(existing)
        }
        throw AtlasError.internalError()
    }

    func get(_ id: String, tenant: TenantContext) async throws -> Response {
        guard try await services.database.queryFirst("""
            SELECT 1 FROM transactions_payment_sessions WHERE id = \(id) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            """) != nil else { throw AtlasError.notFound("No such session") }
        return .json(try await PaymentStore.sessionJSON(id, in: services.database))
    }

    struct UpdateBody: Decodable, Sendable {
        let amount: Int64?
        let currency: String?
        let description: String?
        let customer: Customer?
        let metadata: JSONValue?
    }

    /// PATCH: only while the session still `requires_payment_method`; absent fields stay unchanged.
    func update(_ id: String, request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let body = try request.decodeJSON(UpdateBody.self)
        if let amount = body.amount { _ = try checkAmountAndCurrency(amount, body.currency ?? "USD", tenant: tenant) }
        try Self.checkText(body.description, "description", max: Self.textLengthMax)
        try Self.checkText(body.customer?.email, "customer.email", max: Self.emailLengthMax)
        try Self.checkText(body.customer?.name, "customer.name", max: Self.textLengthMax)
        try SaleValidation.checkMetadata(body.metadata)
        if body.amount == nil, let code = body.currency { _ = try checkAmountAndCurrency(1, code, tenant: tenant) }
        let now = services.clock.now()
        let metadata: SQLValue = body.metadata.map { .json(String(decoding: $0.serialized(), as: UTF8.self)) } ?? .null
        return try await services.database.transaction { tx in
            guard let row = try await tx.queryFirst("""
                SELECT status, expires_at FROM transactions_payment_sessions
                WHERE id = \(id) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) FOR UPDATE
                """) else { throw AtlasError.notFound("No such session") }
            // Past its expiry a session is as good as expired, whether or not the sweep has reached it yet.
            let expiresAt = try row.decode("expires_at", as: Date?.self)
            guard try row.decode("status", as: String.self) == "requires_payment_method",
                  expiresAt.map({ $0 > now }) ?? true else {
                throw AtlasError.conflict(code: "SESSION_NOT_UPDATABLE", "Only sessions that require a payment method can be updated")
            }
            try await tx.execute("""
                UPDATE transactions_payment_sessions SET amount = COALESCE(\(body.amount), amount),
                    currency = COALESCE(\(body.currency), currency), description = COALESCE(\(body.description), description),
                    customer_email = COALESCE(\(body.customer?.email), customer_email),
                    customer_name = COALESCE(\(body.customer?.name), customer_name),
                    metadata = COALESCE(\(metadata)::jsonb, metadata), updated_at = \(now)
                WHERE id = \(id)
                """)
            return .json(try await PaymentStore.sessionJSON(id, in: tx))
        }
    }

    private func find(externalId: String, tenant: TenantContext) async throws -> JSONValue? {
        guard let row = try await services.database.queryFirst("""
            SELECT id FROM transactions_payment_sessions
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND external_id = \(externalId)
            """) else { return nil }
        return try await PaymentStore.sessionJSON(try row.decode("id"), in: services.database)
    }

    private func checkAmountAndCurrency(_ amount: Int64, _ code: String, tenant: TenantContext) throws -> Currency {
        guard amount > 0 else {
            throw TransactionErrors.invalidAmount("Amount must be a positive integer", constraint: "minimum", value: amount)
        }
        guard amount <= SaleLimits.defaultAmountCeilingMinorUnits else {
            throw TransactionErrors.invalidAmount("Amount exceeds the maximum", constraint: "maximum", value: amount)
        }
        guard let currency = Currency(code: code) else { throw TransactionErrors.invalidCurrency(code) }
        return currency
    }

    /// `callback_urls` is stored as given, so its size is bounded like every other field.
    private func checkCallbacks(_ callbacks: [String: String]?) throws(AtlasError) {
        guard let callbacks else { return }
        guard callbacks.count <= Self.callbackURLsMax else {
            throw .invalidField("callback_urls", "callback_urls may have at most \(Self.callbackURLsMax) entries",
                                constraint: "maxProperties")
        }
        for (name, url) in callbacks.sorted(by: { $0.key < $1.key }) {
            guard !name.isEmpty, name.count <= Self.callbackNameLengthMax else {
                throw .invalidField("callback_urls", "callback_urls names must be 1 to \(Self.callbackNameLengthMax) characters",
                                    constraint: "keyLength")
            }
            try Self.checkText(url, "callback_urls.\(name)", max: Self.urlLengthMax)
        }
    }

    static func checkText(_ value: String?, _ field: String, max: Int) throws(AtlasError) {
        guard let value else { return }
        guard value.count <= max else {
            throw .invalidField(field, "\(field) must be at most \(max) characters", constraint: "maxLength")
        }
    }

    /// A jsonb column as its value; null when the column is null.
    static func jsonColumn(_ row: Row, _ column: String) -> JSONValue {
        row.text(column).flatMap { try? JSONCoding.decoder().decode(JSONValue.self, from: Data($0.utf8)) } ?? .null
    }

    static func json(_ row: Row) throws -> JSONValue {
        func text(_ column: String) -> JSONValue { row.text(column).map { .string($0) } ?? .null }
        func object(_ column: String) -> JSONValue { jsonColumn(row, column) }
        let methods: String = try row.decode("payment_method_types")
        let mode: String = try row.decode("mode")
        let expiresAt = try row.decode("expires_at", as: Date?.self).map { JSONValue.int(Int64($0.timeIntervalSince1970)) } ?? .null
        return [
            "id": text("id"), "object": "payment_session", "status": text("status"), "amount": .int(try row.decode("amount")),
            "currency": text("currency"), "capture_method": text("capture_method"),
            "payment_method_types": .array(methods.split(separator: ",").map { .string(String($0)) }),
            "external_id": text("external_id"), "description": text("description"),
            "customer_email": text("customer_email"), "customer_name": text("customer_name"),
            "success_url": text("success_url"), "cancel_url": text("cancel_url"),
            "merchant_reference": text("merchant_reference"), "callback_urls": object("callback_urls"),
            "metadata": object("metadata"), "livemode": .bool(mode == "live"),
            "created_at": .string(Timestamp.iso8601(try row.decode("created_at"))),
            "expires_at": expiresAt,
            "cancellation_reason": text("cancellation_reason"),
        ]
    }
}

extension PaymentSessions {
    /// A session about to be written, by `create` or by a checkout session that is paid through one.
    struct NewSession: Sendable {
        let id: String
        let tenant: TenantContext
        let amount: Int64
        let currency: String
        let captureMethod: String
        let paymentMethodTypes: [String]
        let customerEmail: String?
        let successURL: String?
        let cancelURL: String?
        let metadata: JSONValue?
        let clientSecretHash: [UInt8]
        let now: Date
        var externalId: String?
        var description: String?
        var customerName: String?
        var merchantReference: String?
        var callbackURLs: [String: String]?
        /// When an unpaid session expires (`PaymentSessionExpiry`); nil: never.
        var expiresAt: Date?

        init(id: String, tenant: TenantContext, amount: Int64, currency: String, captureMethod: String,
             paymentMethodTypes: [String], customerEmail: String?, successURL: String?, cancelURL: String?,
             metadata: JSONValue?, clientSecretHash: [UInt8], now: Date) {
            precondition(amount > 0, "a session is for a positive amount")
            self.id = id
            self.tenant = tenant
            self.amount = amount
            self.currency = currency
            self.captureMethod = captureMethod
            self.paymentMethodTypes = paymentMethodTypes
            self.customerEmail = customerEmail
            self.successURL = successURL
            self.cancelURL = cancelURL
            self.metadata = metadata
            self.clientSecretHash = clientSecretHash
            self.now = now
        }

        /// `ON CONFLICT DO NOTHING`: a concurrent create with the same external_id affects no row.
        var insertStatement: SQL {
            let callbacks: SQLValue = callbackURLs.map {
                .json(String(decoding: JSONValue.object($0.mapValues { .string($0) }).serialized(), as: UTF8.self))
            } ?? .null
            let metadataValue: SQLValue = metadata.map { .json(String(decoding: $0.serialized(), as: UTF8.self)) } ?? .null
            return """
                INSERT INTO transactions_payment_sessions (id, merchant_id, mode, status, amount, currency, capture_method,
                    payment_method_types, external_id, description, customer_email, customer_name, success_url, cancel_url,
                    merchant_reference, callback_urls, metadata, client_secret_hash, created_at, updated_at, expires_at)
                VALUES (\(id), \(tenant.merchantId), \(tenant.mode), 'requires_payment_method', \(amount), \(currency),
                    \(captureMethod), \(paymentMethodTypes.joined(separator: ",")), \(externalId), \(description),
                    \(customerEmail), \(customerName), \(successURL), \(cancelURL), \(merchantReference), \(callbacks),
                    \(metadataValue), \(clientSecretHash), \(now), \(now), \(expiresAt))
                ON CONFLICT DO NOTHING
                """
        }
    }
}
