import CashRoundingContract
import Kernel

/// The Commerce (`/v1`) contract of every Transactions route (the payments API's is `PaymentsRouteSchemas`), for the generated
/// OpenAPI documents. Enums and limits come from the values the handlers validate with (`TransactionType`,
/// `SaleLimits`, `TransactionPaging`, `PaymentSessions`), so the documents follow the code. Credentials,
/// rate-limit headers and Idempotency-Key are added by the routes' middleware.
enum TransactionsRouteSchemas {
    typealias Schema = JSONSchema

    // MARK: Commerce

    static let sale = RouteSchema(
        "Run a payment: SALE, PRE_AUTH, PRE_AUTH_COMPLETE, REFUND, VOID, CARD_READ or BALANCE_INQUIRY",
        operationId: "createSale",
        description: "Answers 200 with the final transaction (APPROVED, DECLINED or ERROR: a decline is not an HTTP error).",
        tags: ["Transactions"],
        body: .json(.ref("SaleRequest"), example: [
            "type": "SALE", "amount": 1250, "currency": "USD", "tender": "CARD", "card": ["number": "4242424242424242"],
        ]),
        responses: [ResponseSchema.ok(.ref("Transaction"))
                        .linking(["getTransaction", "abortTransaction"], path: "id", fromBodyMember: "transactionId"),
                    .error(404, "originalTransactionId does not exist"),
                    .error(409, "The original's state forbids it (PRE_AUTH_EXPIRED: a pre-authorization past its window), or the terminal is busy"),
                    .error(503, "Live mode without a configured card acquirer")])
    static let get = RouteSchema(
        "A transaction, final or in progress", operationId: "getTransaction", tags: ["Transactions"],
        path: [.path("id", transactionId, "A txn_ id")],
        responses: [.ok(.ref("Transaction")), .error(404, "Transaction not found")])
    static let abort = RouteSchema(
        "Abort a transaction still in progress on its terminal", operationId: "abortTransaction", tags: ["Transactions"],
        path: [.path("id", transactionId)],
        responses: [.ok(.ref("Transaction"), "The transaction reached a final state (ABORTED unless it finished first)"),
                    ResponseSchema(status: 202, description: "Abort requested; the transaction is still in progress",
                                   body: .ref("Transaction")),
                    .error(404, "Transaction not found"), .error(409, "The transaction already finished")])
    static let list = RouteSchema(
        "Transactions, newest first, one page at a time", operationId: "listTransactions", tags: ["Transactions"],
        query: [
            .query("limit", .integer(minimum: 1, maximum: Int64(TransactionPaging.limitMax)),
                   "Page size (default \(TransactionPaging.limitDefault))"),
            .query("cursor", .string(pattern: "^cursor_txn_\(ulid)$"), "nextCursor of the previous page"),
            .query("type", enumeration(TransactionType.allCases)),
            .query("status", .enumeration(TransactionStatus.allCases.filter(\.isFinal).map(\.rawValue))),
            .query("terminalId", terminalId), .query("from", dateTime), .query("to", dateTime),
        ],
        responses: [.ok(page(of: .ref("Transaction")))])
    static let load = RouteSchema(
        "Add value to a stored-value card (created on its first load)", operationId: "loadStoredValue",
        tags: ["Stored value"],
        body: .json(.object([
            .required("cardNumber", cardNumber), .required("amount", .integer(minimum: 1)), .required("currency", currency),
        ]), example: ["cardNumber": "6035710000000004", "amount": 5000, "currency": "USD"]),
        responses: [.ok(.object([
            .required("object", .enumeration(["stored_value_card"])), .required("maskedPan", .string()),
            .required("balance", .integer()), .required("currency", .string()), .required("loadedAmount", .integer(minimum: 1)),
            .required("livemode", .boolean),
        ])), .error(409, "CURRENCY_MISMATCH: the card holds a balance in another currency")])
}
