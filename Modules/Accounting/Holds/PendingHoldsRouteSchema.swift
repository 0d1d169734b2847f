import Kernel

extension AccountingRouteSchemas {
    /// `GET /reports/pending-holds` (`PendingHoldsReport`).
    static let pendingHolds = RouteSchema(
        "Card pre-authorizations held but not resolved on a day, per account and page by page", operationId: "getPendingHolds",
        description: "A hold is pending on as_of_date when it was authorized on or before it and not completed, voided or "
            + "expired by then. accounts[] shows each account's debits_pending and credits_pending (holds in the base currency).",
        tags: ["Reports"],
        query: [companyQuery, .query("as_of_date", date, "Default: today (UTC)"),
                .query("sort_order", .enumeration(["asc", "desc"]), "By authorization day (default asc)")] + pageQuery,
        responses: [.ok(.openObject([
            .required("company_id", uuid), .required("as_of_date", date), .required("currency", currency),
            .required("total_pending", money),
            .required("accounts", .array(of: .openObject([
                .required("account_id", uuid), .required("account_number", .string()), .required("account_name", .string()),
                .required("debits_pending", money), .required("credits_pending", money),
            ]))),
            .required("items", .array(of: .openObject([
                .required("transaction_id", .string()), .required("amount", money), .required("currency", currency),
                .required("debit_account_id", uuid), .required("credit_account_id", uuid), .required("authorized_on", date),
                .required("status", .enumeration(["pending", "posted", "voided", "expired"])
                    .described("Now: pending, or how it was resolved after as_of_date")),
                .required("resolved_on", date.nullable()),
            ]))),
            .required("total", .integer(minimum: 0)), .required("page", .integer(minimum: 1)),
            .required("page_size", .integer(minimum: 1)), .required("has_next", .boolean), .required("has_more", .boolean),
        ])), .error(404, "Company not found")])
}
