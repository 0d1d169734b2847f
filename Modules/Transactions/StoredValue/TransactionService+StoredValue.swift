import Foundation
import IdempotencyContract
import Kernel
import StoredValueContract

/// Stored-value cards: `POST /v1/stored-value/load`, and the card hash under which a balance is kept (a
/// card number is never stored).
extension TransactionService {
    func storedValueHash(_ number: String, tenant: TenantContext) -> [UInt8] {
        StoredValuePAN.hash(number, tenant: tenant, crypto: services.crypto)
    }

    struct LoadBody: Decodable {
        let cardNumber: String
        let amount: Int64
        let currency: String
    }

    /// `POST /v1/stored-value/load`: adds value to a stored-value card (creating it on first load).
    func load(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let body = try request.decodeJSON(LoadBody.self)
        guard PAN.isValid(body.cardNumber) else {
            throw AtlasError(kind: .invalidField, status: 400, code: "INVALID_CARD_NUMBER",
                             message: "cardNumber must be 12 to 19 digits and pass the Luhn check",
                             details: ErrorDetails(field: "cardNumber", constraint: "luhn"))
        }
        guard body.amount > 0 else {
            throw TransactionErrors.invalidAmount("The 'amount' field must be a positive integer", constraint: "minimum",
                                                  value: body.amount)
        }
        guard Currency(code: body.currency) != nil else { throw TransactionErrors.invalidCurrency(body.currency) }
        let merchant = try await settings.settings(for: tenant)
        guard body.amount <= merchant.amountCeilingMinorUnits else {
            throw TransactionErrors.invalidAmount("amount exceeds the merchant ceiling", constraint: "maximum", value: body.amount)
        }
        let hash = storedValueHash(body.cardNumber, tenant: tenant)
        let masked = PAN.masked(body.cardNumber)
        let now = services.clock.now()
        let store = store
        let services = services
        let response = try await KeyedWrite.transaction(key: context.idempotency, database: services.database) { tx in
            let balance = try await store.creditStoredValue(cardHash: hash, maskedPan: masked, amount: body.amount,
                                                            currency: body.currency, reference: "stored-value-load",
                                                            tenant: tenant, now: now, executor: tx)
            return Response.json(["object": "stored_value_card", "maskedPan": .string(masked),
                                  "balance": .int(balance), "currency": .string(body.currency),
                                  "loadedAmount": .int(body.amount), "livemode": .bool(tenant.mode.isLive)])
        }
        guard let response else { preconditionFailure("a load always answers") }
        return response
    }
}
