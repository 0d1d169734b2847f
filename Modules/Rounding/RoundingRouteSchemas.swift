import CashRoundingContract
import Kernel

/// The `/api/v1` cash-rounding contract of every route in `RoundingRoutes` (spec §1), for the generated
/// OpenAPI document. Enum values come from the enums the handlers validate with, and limits from their
/// named constants, so the document follows the code. Credentials, rate-limit headers and Idempotency-Key
/// are added by the routes' middleware.
enum RoundingRouteSchemas {
    typealias Schema = JSONSchema

    // MARK: Status

    static let health = RouteSchema(
        "Platform status and database connectivity", operationId: "getHealth", tags: ["Status"],
        responses: [.ok(.ref("Health")), ResponseSchema(status: 503, description: "The database is unreachable",
                                                        body: .ref("Health"))])
    static let version = RouteSchema(
        "API and engine versions and the endpoint list", operationId: "getVersion", tags: ["Status"],
        responses: [.ok(.openObject([
            .required("api_version", .string()), .required("engine_version", .string()),
            .required("base_path", .string()), .required("endpoints", .array(of: .string())),
        ]))])

    // MARK: Transactions

    static let sale = RouteSchema(
        "Round a cash sale and append it to the audit chain", operationId: "processTransaction", tags: ["Transaction"],
        body: .json(.ref("TransactionRequest"), example: [
            "merchant_id": "MERCHANT-001", "subtotal_cents": 523, "tax_total_cents": 200, "payment_method": "cash",
            "zip_code": "85001",
        ]),
        responses: [.ok(success("transaction", .ref("Transaction")))])
    static let void = RouteSchema(
        "Void a sale within 24 hours (a reversal record)", operationId: "voidTransaction", tags: ["Transaction"],
        body: .json(.object([
            .required("original_transaction_id", identifier), .required("void_reason", enumeration(VoidReason.allCases)),
            .required("voided_by", identifier),
        ])),
        responses: [.ok(success("void", .ref("ChainRecord"))), .error(404, "Transaction not found"),
                    .error(409, "The sale is already voided or has refunds")])
    static let refund = RouteSchema(
        "Refund part or all of a sale (normalization failures are flagged, not blocked)", operationId: "refundTransaction",
        tags: ["Transaction"],
        body: .json(.object([
            .required("original_transaction_id", identifier), .required("refund_amount", cents(minimum: 1)),
            .required("void_reason", enumeration(RefundReason.allCases)), .required("voided_by", identifier),
        ])),
        responses: [.ok(success("refund", .ref("ChainRecord"))), .error(404, "Transaction not found"),
                    .error(409, "The sale is voided")])
    static let override = RouteSchema(
        "Override a sale's cash total (a new linked record)", operationId: "overrideTransaction", tags: ["Transaction"],
        body: .json(.object([
            .required("transaction_id", identifier), .required("employee_id", identifier), .required("employee_name", text),
            .required("reason", enumeration(OverrideReason.allCases)), .required("new_cash_total_cents", cents()),
        ])),
        responses: [.ok(success("override", .ref("ChainRecord"))), .error(404, "Transaction not found"),
                    .error(409, "The sale is voided")])
    static let receipt = RouteSchema(
        "A sale's receipt: merchant (with the rounding disclosure), audit or POS", operationId: "getReceipt",
        tags: ["Transaction"], path: [.path("id", identifier, "The sale's id, e.g. TXN-2026-04-14-A82C2EAA")],
        query: [.query("format", enumeration(ReceiptFormat.allCases), "merchant (default), audit or pos")],
        responses: [.ok(.openObject([])), .error(404, "Transaction not found")])

    // MARK: Jurisdictions

    static let zip = RouteSchema(
        "The rounding rule in force for a ZIP code", operationId: "resolveZip", tags: ["Jurisdictions"],
        path: [.path("zip_code", Schema.string(pattern: "^[0-9]{5}$"), "A 5-digit ZIP code")],
        responses: [.ok(.ref("JurisdictionRule")), .error(404, "ZIP code not found")])
    static let jurisdictions = RouteSchema(
        "Every enacted, pending and proposed rule", operationId: "listJurisdictions", tags: ["Jurisdictions"],
        responses: [.ok(.array(of: .ref("JurisdictionRule")))])

    // MARK: Tips

    static func tip(cash: Bool) -> RouteSchema {
        RouteSchema(
            cash ? "Record a cash tip (FLSA ceiling rounding)" : "Record a credit-card tip (FLSA ceiling rounding)",
            operationId: cash ? "recordCashTip" : "recordCreditCardTip", tags: ["Tips"],
            body: .json(.object([
                .required("transaction_id", identifier), .required("employee_id", identifier),
                .required("employee_name", text), .required("tip_amount", dollars),
            ]), example: ["transaction_id": "TXN-2026-04-14-A82C2EAA", "employee_id": "EMP-001",
                          "employee_name": "Jane", "tip_amount": .double(3.5)]),
            responses: [.ok(success("tip", .ref("ChainRecord"))), .error(404, "Transaction not found")])
    }
    static let tipAdjust = RouteSchema(
        "Adjust a tip's amount", operationId: "adjustTip", tags: ["Tips"],
        body: .json(.object([
            .required("tip_id", identifier), .required("tip_amount", dollars), .required("employee_id", identifier),
            .required("reason", text),
        ])),
        responses: [.ok(success("adjustment", .ref("ChainRecord"))), .error(404, "Tip not found"),
                    .error(409, "The tip was already paid out")])
    static let poolCreate = RouteSchema(
        "Pool tips for distribution", operationId: "createTipPool", tags: ["Tips"],
        body: .json(.object([
            .required("pool_name", text),
            .required("tip_ids", .array(of: identifier, itemsMax: TipHandlers.poolTipsMax)),
            .required("distribution_method", enumeration(PoolDistributionMethod.allCases)),
            .required("participants", .array(of: .object([
                .required("employeeId", identifier), .required("employeeName", text),
                .optional("weight", .integer(minimum: 1, maximum: TipHandlers.weightMax).described("weighted pools")),
                .optional("hours", dollars.described("hours_based pools: hours worked")),
            ]), itemsMax: TipHandlers.poolParticipantsMax)),
        ])),
        responses: [.ok(.openObject([.required("success", .boolean), .required("pool_id", .string()),
                                     .required("pool", .ref("ChainRecord"))])),
                    .error(404, "A tip was not found"), .error(409, "A tip already belongs to a pool")])
    static let poolDistribute = RouteSchema(
        "Pay out a pool to its participants", operationId: "distributeTipPool", tags: ["Tips"],
        body: .json(.object([.required("pool_id", identifier)])),
        responses: [.ok(.openObject([
            .required("success", .boolean), .required("pool_id", .string()), .required("payout_id", .string()),
            .required("total_cents", .integer()), .required("payouts", .array(of: .openObject([]))),
            .required("chainPosition", position), .required("auditHash", hash),
        ])), .error(404, "Pool not found"), .error(409, "The pool is already distributed")])

    // MARK: Compliance

    static let export = RouteSchema(
        "Compliance export as CSV (standard: 53 columns, full, summary)", operationId: "exportCompliance",
        tags: ["Compliance"],
        body: .json(.object([
            .optional("export_mode", enumeration(ExportMode.allCases)), .optional("start_date", dateTime),
            .optional("end_date", dateTime), .optional("payment_method", enumeration(TenderType.roundingPaymentMethods)),
            .optional("compliance_status", enumeration(ComplianceStatus.allCases)), .optional("merchant_id", identifier),
        ])),
        responses: [ResponseSchema(status: 200, description: "The CSV rows", contentType: "text/csv", body: .string(),
                                   headers: [.header("X-Export-Truncated", .enumeration(["true"]),
                                                     "Present when more than \(ComplianceExport.rowsMax) rows matched")])])
    static let auditLogs = RouteSchema(
        "Audit-chain entries, newest first", operationId: "listAuditLogs", tags: ["Compliance"],
        query: [
            .query("limit", .integer(minimum: 1, maximum: Int64(ComplianceHandlers.auditLogLimitMax)),
                   "Entries to return (default \(ComplianceHandlers.auditLogLimitDefault))"),
            .query("event_type", .enumeration(ComplianceHandlers.eventTypeFilters.keys.sorted())),
            .query("user_id", identifier), .query("start_date", dateTime), .query("end_date", dateTime), merchantQuery,
        ],
        responses: [.ok(.openObject([
            .required("merchant_id", .string()), .required("count", .integer(minimum: 0)), .required("limit", .integer()),
            .required("entries", .array(of: .openObject([
                .required("id", .string()), .required("chainPosition", position), .required("event_type", .string()),
                .required("auditHash", hash), .required("previousHash", .string()),
            ]))),
        ]))])
    static let verifyChain = RouteSchema(
        "Verify the merchant's audit hash chain", operationId: "verifyHashChain", tags: ["Compliance"],
        query: [merchantQuery],
        responses: [.ok(.openObject([
            .required("merchant_id", .string()), .required("mode", .string()), .required("total_count", .integer(minimum: 0)),
            .required("verified_count", .integer(minimum: 0)), .required("break_count", .integer(minimum: 0)),
            .required("valid", .boolean), .required("breaks", .array(of: .openObject([]))),
            .required("verified_at", dateTime),
        ]))])
    static let setIndianaMethod = RouteSchema(
        "Set a merchant's Indiana SB 243 rounding method", operationId: "setIndianaMethod", tags: ["Compliance"],
        path: [.path("merchant_id", identifier)],
        body: .json(.object([.required("rounding_mode", enumeration(indianaModes))])),
        responses: [.ok(.openObject([
            .required("success", .boolean), .required("merchant_id", .string()),
            .required("indiana_rounding_mode", enumeration(indianaModes)), .required("record_id", .string()),
            .required("chainPosition", position), .required("auditHash", hash),
        ]))])
    static let voidAnalytics = RouteSchema(
        "Void and refund totals and the normalization check results", operationId: "getVoidAnalytics",
        tags: ["Compliance"], query: [merchantQuery],
        responses: [.ok(.openObject([
            .required("merchant_id", .string()), .required("total_voids", .integer(minimum: 0)),
            .required("void_rate_percent", .integer(minimum: 0)), .required("total_refunds", .integer(minimum: 0)),
        ]))])
    static let voidAbuse = RouteSchema(
        "High void rates, normalization failures and shift-change voids", operationId: "getVoidAbuse",
        tags: ["Compliance"], query: [merchantQuery],
        responses: [.ok(.openObject([
            .required("high_void_rate_merchants", .array(of: .openObject([]))),
            .required("normalization_failures", .array(of: .openObject([]))),
            .required("shift_change_voids", .array(of: .openObject([]))), .required("thresholds", .openObject([])),
        ]))])
    static let overridesReport = RouteSchema(
        "Every override with attribution, reason and delta", operationId: "getOverridesReport", tags: ["Compliance"],
        query: [merchantQuery],
        responses: [.ok(.openObject([
            .required("merchant_id", .string()), .required("total_overrides", .integer(minimum: 0)),
            .required("reason_codes", .map(of: .integer(minimum: 0))), .required("total_absolute_delta_cents", .integer()),
            .required("overrides", .array(of: .openObject([]))),
        ]))])

    // MARK: Fraud

    static let riskProfile = RouteSchema(
        "A merchant's fraud score and its factors", operationId: "getRiskProfile", tags: ["Fraud"],
        path: [.path("merchant_id", identifier)], responses: [.ok(.ref("RiskProfile"))])
    static let fraudOverview = RouteSchema(
        "Every merchant ranked by fraud score", operationId: "getFraudOverview", tags: ["Fraud"],
        responses: [.ok(.openObject([
            .required("merchant_count", .integer(minimum: 0)), .required("risk_level_counts", .map(of: .integer(minimum: 0))),
            .required("merchants", .array(of: .ref("RiskProfile"))),
        ]))])
}
