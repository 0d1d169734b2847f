import Kernel

/// `GET /v1/totals?currency=`: the open period's running totals, read from one row (never a scan).
struct TotalsHandlers: Sendable {
    let store: TotalsStore
    let settings: ReconciliationSettings

    func totals(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenant = context.tenant
        let currency: String
        if let requested = request.queryParameters["currency"] {
            currency = try ReconciliationValidation.currency(requested, field: "currency")
        } else {
            currency = try await store.defaultCurrency(tenant: tenant, fallback: settings.defaultCurrency)
        }
        return .json(try await store.totals(currency, tenant: tenant).json)
    }
}
