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
    }

    func create(_ request: Request, context: RequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
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
        try checkText(body.external_id, "external_id", max: Self.externalIdLengthMax)
        try checkText(body.customer?.email, "customer.email", max: Self.emailLengthMax)
        try checkText(body.customer?.name, "customer.name", max: Self.textLengthMax)
        try checkText(body.success_url, "success_url", max: Self.urlLengthMax)
        try checkText(body.cancel_url, "cancel_url", max: Self.urlLengthMax)
        try checkText(body.merchant_reference, "merchant_reference", max: Self.textLengthMax)
        try checkText(body.description, "description", max: Self.textLengthMax)
        try checkCallbacks(body.callback_urls)
        try SaleValidation.checkMetadata(body.metadata)
        if let externalId = body.external_id, let existing = try await find(externalId: externalId, tenant: tenant) {
            return .json(existing)
        }
        let id = "sess_" + ULID.generate(unixMillis: services.clock.unixMillis())
        let secret = "cs_" + Encoding.hex(services.crypto.randomBytes(count: 16))
        let now = services.clock.now()
        let callbacks: SQLValue = body.callback_urls.map {
            .json(String(decoding: JSONValue.object($0.mapValues { .string($0) }).serialized(), as: UTF8.self))
        } ?? .null
        let metadata: SQLValue = body.metadata.map { .json(String(decoding: $0.serialized(), as: UTF8.self)) } ?? .null
        let insert: SQL = """
            INSERT INTO transactions_payment_sessions (id, merchant_id, mode, status, amount, currency, capture_method,
                payment_method_types, external_id, description, customer_email, customer_name, success_url, cancel_url,
                merchant_reference, callback_urls, metadata, client_secret_hash, created_at, updated_at)
            VALUES (\(id), \(tenant.merchantId), \(tenant.mode), 'requires_payment_method', \(amount), \(currency.code),
                \(capture), \(methods.joined(separator: ",")), \(body.external_id), \(body.description),
                \(body.customer?.email), \(body.customer?.name), \(body.success_url), \(body.cancel_url),
                \(body.merchant_reference), \(callbacks), \(metadata), \(services.crypto.sha256(Array(secret.utf8))), \(now), \(now))
            ON CONFLICT DO NOTHING
            """
        let services = services
        let response = try await KeyedWrite.transaction(key: context.idempotency, database: services.database) { tx in
            guard try await tx.execute(insert) == 1 else { return nil }
            guard let row = try await tx.queryFirst("SELECT * FROM transactions_payment_sessions WHERE id = \(id)") else { return nil }
            var json = try Self.json(row)
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
        guard let row = try await services.database.queryFirst("""
            SELECT * FROM transactions_payment_sessions WHERE id = \(id) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
            """) else { throw AtlasError.notFound("No such session") }
        return .json(try Self.json(row))
    }

    struct UpdateBody: Decodable, Sendable {
        let amount: Int64?
        let currency: String?
        let description: String?
        let customer: Customer?
        let metadata: JSONValue?
    }

    /// PATCH: only while the session still `requires_payment_method`; absent fields stay unchanged.
    func update(_ id: String, request: Request, context: RequestContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let body = try request.decodeJSON(UpdateBody.self)
        if let amount = body.amount { _ = try checkAmountAndCurrency(amount, body.currency ?? "USD", tenant: tenant) }
        try checkText(body.description, "description", max: Self.textLengthMax)
        try checkText(body.customer?.email, "customer.email", max: Self.emailLengthMax)
        try checkText(body.customer?.name, "customer.name", max: Self.textLengthMax)
        try SaleValidation.checkMetadata(body.metadata)
        if body.amount == nil, let code = body.currency { _ = try checkAmountAndCurrency(1, code, tenant: tenant) }
        let metadata: SQLValue = body.metadata.map { .json(String(decoding: $0.serialized(), as: UTF8.self)) } ?? .null
        return try await services.database.transaction { tx in
            guard let row = try await tx.queryFirst("""
                SELECT status FROM transactions_payment_sessions
                WHERE id = \(id) AND merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) FOR UPDATE
                """) else { throw AtlasError.notFound("No such session") }
            guard try row.decode("status", as: String.self) == "requires_payment_method" else {
                throw AtlasError.conflict(code: "SESSION_NOT_UPDATABLE", "Only sessions that require a payment method can be updated")
            }
            try await tx.execute("""
                UPDATE transactions_payment_sessions SET amount = COALESCE(\(body.amount), amount),
                    currency = COALESCE(\(body.currency), currency), description = COALESCE(\(body.description), description),
                    customer_email = COALESCE(\(body.customer?.email), customer_email),
                    customer_name = COALESCE(\(body.customer?.name), customer_name),
                    metadata = COALESCE(\(metadata)::jsonb, metadata), updated_at = \(services.clock.now())
                WHERE id = \(id)
                """)
            guard let updated = try await tx.queryFirst("SELECT * FROM transactions_payment_sessions WHERE id = \(id)") else {
                throw AtlasError.notFound("No such session")
            }
            return .json(try Self.json(updated))
        }
    }

    private func find(externalId: String, tenant: TenantContext) async throws -> JSONValue? {
        guard let row = try await services.database.queryFirst("""
            SELECT * FROM transactions_payment_sessions
            WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode) AND external_id = \(externalId)
            """) else { return nil }
        return try Self.json(row)
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
            try checkText(url, "callback_urls.\(name)", max: Self.urlLengthMax)
        }
    }

    private func checkText(_ value: String?, _ field: String, max: Int) throws(AtlasError) {
        guard let value else { return }
        guard value.count <= max else {
            throw .invalidField(field, "\(field) must be at most \(max) characters", constraint: "maxLength")
        }
    }

    static func json(_ row: Row) throws -> JSONValue {
        func text(_ column: String) -> JSONValue { row.text(column).map { .string($0) } ?? .null }
        func object(_ column: String) -> JSONValue {
            row.text(column).flatMap { try? JSONCoding.decoder().decode(JSONValue.self, from: Data($0.utf8)) } ?? .null
        }
        let methods: String = try row.decode("payment_method_types")
        let mode: String = try row.decode("mode")
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
        ]
    }
}
