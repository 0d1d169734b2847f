import AcquirerContract
import Kernel

/// The `/v1` reconciliation contract of every route in `ReconciliationRoutes` (commerce-api §3.4), for the
/// generated Commerce OpenAPI document. Limits and enums come from the constants the handlers check with.
/// Credentials, rate-limit headers and Idempotency-Key are added by the routes' middleware.
enum ReconciliationRouteSchemas {
    typealias Schema = JSONSchema

    static let amount = Schema.integer(minimum: 0).described("Minor units of the currency")
    static let currency = Schema.string(pattern: "^[A-Z]{3}$").described("ISO 4217 code")
    static let dateTime = Schema.string(format: "date-time")
    static let settlementId = Schema.string(pattern: "^stl_[0-9A-HJKMNP-TV-Z]{26}$").example("stl_01JQDAY0004200000000000000")
    static let limits = SettlementHandlers.Limits()

    static func page(of item: String) -> Schema {
        .openObject([.required("data", .array(of: .ref(item))), .required("hasMore", .boolean),
                     .required("nextCursor", Schema.string().nullable())])
    }

    static let close = RouteSchema(
        "Close the day (settle the open period) or dry-run it", operationId: "performReconciliation",
        description: "closeDay true claims every open approved transaction into one settlement per currency and "
            + "submits it to the acquirer; false answers the open totals and changes nothing.",
        tags: ["Reconciliation"],
        body: .json(.object([
            .required("closeDay", .boolean),
            .optional("currency", currency.described("Close or show this currency only (additive)")),
        ]), example: ["closeDay": true]),
        responses: [
            .ok(.openObject([
                .required("status", .enumeration(["SUCCESS", "FAILED", "PARTIAL"])),
                .required("totals", .ref("TransactionTotals")), .required("timestamp", dateTime),
                .optional("settlements", .array(of: .ref("Settlement"))),
            ])),
            .error(409, "RECONCILIATION_IN_PROGRESS: another close is running"),
            .error(503, "ACQUIRER_NOT_CONFIGURED: no acquirer settles this mode"),
        ])
    static let totals = RouteSchema(
        "Running totals of the open settlement period", operationId: "getTransactionTotals", tags: ["Reconciliation"],
        query: [.query("currency", currency, "Defaults to the most recently active currency")],
        responses: [.ok(.ref("TransactionTotals"))])
    static let list = RouteSchema(
        "Settlements, newest first", operationId: "listSettlements", tags: ["Reconciliation"],
        query: [
            .query("cursor", Schema.string(pattern: "^cursor_stl_"), "nextCursor of the previous page; omit on the first"),
            .query("limit", .integer(minimum: 1, maximum: Int64(limits.settlementsPageMax)),
                   "Default \(limits.settlementsPageDefault)"),
            .query("from", dateTime, "Closed on or after"), .query("to", dateTime, "Closed before"),
            .query("currency", currency),
        ],
        responses: [.ok(page(of: "Settlement"))])
    static let get = RouteSchema(
        "One settlement", operationId: "getSettlement", tags: ["Reconciliation"],
        path: [.path("id", settlementId)], responses: [.ok(.ref("Settlement")), .error(404, "Settlement not found")])
    static let transactions = RouteSchema(
        "A settlement's transactions, timestamp ascending", operationId: "listSettlementTransactions",
        tags: ["Reconciliation"], path: [.path("id", settlementId)],
        query: [
            .query("cursor", Schema.string(pattern: "^cursor_txn_"), "nextCursor of the previous page"),
            .query("limit", .integer(minimum: 1, maximum: Int64(limits.itemsPageMax)), "Default \(limits.itemsPageDefault)"),
            .query("type", .enumeration(SettlementHandlers.itemTypes.sorted())),
        ],
        responses: [.ok(page(of: "SettlementTransaction")), .error(404, "Settlement not found")])
    /// Streamed (`SettlementExportProducer`): a GET outside the idempotency store (`streamsBody`).
    static let export: RouteSchema = {
        var schema = RouteSchema(
            "Every transaction of a settlement in one response", operationId: "exportSettlement",
            description: "CSV header: " + SettlementItem.exportColumns.joined(separator: ",")
                + ". JSONL: one object per line with the same keys.",
            tags: ["Reconciliation"], path: [.path("id", settlementId)],
            query: [.query("format", .enumeration(["csv", "jsonl"]), required: true)],
            responses: [.file(SettlementExport.Format.csv.contentType, "CSV (format=csv) or JSON Lines (format=jsonl)",
                              alternatives: [SettlementExport.Format.jsonl.contentType]),
                        .error(404, "Settlement not found")])
        schema.streamsBody = true
        return schema
    }()

    static let retry = RouteSchema(
        "Submit a FAILED settlement to the acquirer again", operationId: "retrySettlement",
        description: "Under the merchant's close lock: one more attempt (settlement.retried), then the acquirer's "
            + "answer (settlement.updated). The answer is the settlement with its new status, FAILED again included.",
        tags: ["Reconciliation"], path: [.path("id", settlementId)],
        responses: [
            .ok(.ref("Settlement")), .error(404, "Settlement not found"),
            .error(409, "SETTLEMENT_NOT_RETRYABLE: the settlement is not FAILED; RECONCILIATION_IN_PROGRESS: a close or "
                + "retry is running"),
            .error(503, "ACQUIRER_NOT_CONFIGURED: no acquirer settles this mode; ACQUIRER_UNAVAILABLE: the acquirer "
                + "could not be reached (the next close or retry sends it again)"),
        ])

    static let matching = RouteSchema(
        "Our transactions of a settlement matched against the acquirer's settlement file", operationId: "matchSettlement",
        tags: ["Reconciliation"], path: [.path("id", settlementId)],
        responses: [
            .ok(.openObject([
                .required("matched", .integer(minimum: 0)),
                .required("missingOnOurSide", Schema.array(of: .string()).described("In the acquirer's file only")),
                .required("missingOnTheirSide", Schema.array(of: .string()).described("Among ours only")),
                .required("amountMismatches", .array(of: .object([
                    .required("transactionId", .string()), .required("ours", amount), .required("theirs", amount),
                ]))),
            ])),
            .error(404, "Settlement not found"), .error(502, "ACQUIRER_FILE_INVALID: the acquirer's file is malformed"),
            .error(503, "ACQUIRER_NOT_CONFIGURED: no acquirer reports this mode"),
        ])

    static let components: [String: Schema] = [
        "TransactionTotals": .openObject([
            .required("saleCount", .integer(minimum: 0)), .required("saleAmount", amount),
            .required("refundCount", .integer(minimum: 0)), .required("refundAmount", amount),
            .required("voidCount", .integer(minimum: 0)), .required("voidAmount", amount),
            .required("preAuthCount", .integer(minimum: 0)), .required("preAuthAmount", amount),
            .required("currency", currency),
        ]),
        "Settlement": .openObject([
            .required("id", settlementId), .required("closedAt", dateTime),
            .required("status", .enumeration(SettlementStatus.allCases.map(\.rawValue))),
            .required("currency", currency),
            .required("netAmount", Schema.integer().described("sales − refunds − voids, minor units")),
            .optional("acquirerBatchRef", Schema.string().nullable()), .optional("fundingDate", dateTime.nullable()),
            .required("merchantId", .string()), .required("terminalId", .string()),
            .optional("totals", .ref("TransactionTotals")), .optional("livemode", .boolean),
        ]),
        "SettlementTransaction": .openObject([
            .required("transactionId", .string()), .required("status", .enumeration(["APPROVED", "VOIDED"])),
            .required("type", .enumeration(SettlementHandlers.itemTypes.sorted())), .required("amount", amount),
            .required("currency", currency), .required("timestamp", dateTime),
            .optional("terminalId", Schema.string().nullable()), .optional("cardScheme", Schema.string().nullable()),
            .optional("maskedPan", Schema.string().nullable()), .optional("authorizationCode", Schema.string().nullable()),
            .optional("originalTransactionId", Schema.string().nullable()),
        ]),
    ]
}
