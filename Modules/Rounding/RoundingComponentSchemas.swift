import CashRoundingContract
import Kernel

/// The field rules and named component schemas the cash-rounding route declarations share (`FieldCheck`'s
/// limits, the chain record, the sale, the jurisdiction rule, the risk profile).
extension RoundingRouteSchemas {
    /// `FieldCheck.identifier`: 1–64 printable ASCII characters without spaces.
    static let identifier = Schema.string(pattern: "^[!-~]+$", lengthMin: 1, lengthMax: FieldCheck.identifierLengthMax)
    /// `FieldCheck.text`: stored verbatim, no control characters.
    static let text = Schema.string(lengthMin: 1, lengthMax: FieldCheck.textLengthMax)
    static let dateTime = Schema.string(format: "date-time")
    static let position = Schema.integer(minimum: 1).described("Position in the merchant's audit chain, from 1")
    static let hash = Schema.string(pattern: "^[0-9a-f]{64}$").described("SHA-256 of the record, hex")
    /// A dollar amount as a number (3.50) or a decimal string ("3.50"); fractional cents round up (FLSA).
    static let dollars = Schema.oneOf([.number(minimum: 0), .string(pattern: "^[0-9]+(\\.[0-9]+)?$")])
        .described("Dollars, e.g. 3.50")
    static let merchantQuery = RouteSchema.Parameter.query(
        "merchant_id", identifier, "Another merchant the key may act for (partner and admin keys)")
    static var indianaModes: [CashRoundingMode] {
        JurisdictionRuleTable.enacted.rules.first { $0.jurisdictionID == "US-IN" }?.merchantSelectableModes ?? []
    }

    static func cents(minimum: Int64 = 0) -> Schema { .integer(minimum: minimum, maximum: FieldCheck.amountCentsMax) }

    static func enumeration<Value: RawRepresentable>(_ values: [Value]) -> Schema where Value.RawValue == String {
        .enumeration(values.map(\.rawValue))
    }

    /// `{"success": true, "<key>": …}`, the shape of every write's answer.
    static func success(_ key: String, _ value: Schema) -> Schema {
        .openObject([.required("success", .boolean), .required(key, value)])
    }

    static let components: [String: Schema] = [
        "Health": .openObject([
            .required("status", .enumeration(["ok", "degraded"])), .required("database", .enumeration(["connected", "unreachable"])),
            .required("api_version", .string()), .required("engine_version", .string()),
            .required("compliance_certifications", .array(of: .string())),
        ]),
        "TransactionRequest": .object([
            .required("merchant_id", identifier), .required("subtotal_cents", cents()), .required("tax_total_cents", cents()),
            .required("payment_method", enumeration(TenderType.roundingPaymentMethods)),
            .optional("zip_code", .string(pattern: "^[0-9]{5}(-[0-9]{4})?$")),
            .optional("state", .string(pattern: "^[A-Za-z]{2}$")), .optional("county", text), .optional("city", text),
            .optional("cash_rounding_mode", enumeration(CashRoundingMode.requestModes).described("Testing only")),
            .optional("jurisdiction", identifier), .optional("store_id", identifier), .optional("terminal_id", identifier),
            .optional("employee_id", identifier),
            .optional("is_split_tender", .boolean.described("true when tenders are sent, and only then")),
            .optional("tenders", .array(of: .object([
                .required("type", enumeration(TenderType.roundingPaymentMethods)), .required("amount_cents", cents()),
            ]), itemsMax: FieldCheck.tendersMax)),
        ]),
        "Calculation": .openObject([
            .required("subtotal_cents", .integer()), .required("tax_total_cents", .integer()),
            .required("ledger_total_cents", .integer()), .required("cash_total_cents", .integer()),
            .required("rounding_delta_cents", .integer()), .required("payment_method", .string()),
            .required("cash_rounding_mode", .string()), .required("jurisdiction", .string()),
            .required("rounding_applied", .boolean), .optional("ebt_compliance_flag", .string()),
            .optional("is_split_tender", .boolean), .optional("cash_portion_cents", .integer()),
            .optional("cash_portion_rounded_cents", .integer()),
        ]),
        "Transaction": .openObject([
            .required("id", .string().example("TXN-2026-04-14-A82C2EAA")), .required("calculation", .ref("Calculation")),
            .required("compliance", .openObject([.required("compliance_status", enumeration(ComplianceStatus.allCases))])),
            .required("fraud_score", .integer(minimum: 0)), .required("risk_level", .ref("RiskLevel")),
            .required("chainPosition", position), .required("auditHash", hash),
        ]),
        "ChainRecord": .openObject([
            .required("id", .string()), .required("chainPosition", position), .required("auditHash", hash),
            .optional("previousHash", .string()),
        ]).described("A record appended to the audit chain, as stored (without its attribution)"),
        "JurisdictionRule": .openObject([
            .optional("lookup_key", .string().described("In the list only")), .required("jurisdiction_id", .string()),
            .required("jurisdiction_level", .string()), .required("rounding_mode", .string()),
            .required("enforcement", .string()), .required("legislation", Schema.string().nullable()),
            .required("status", .string()), .required("effective_date", Schema.string(format: "date").nullable()),
            .required("notes", .string()), .required("source_url", .string()),
        ]),
        "RiskLevel": enumeration(RiskLevel.allCases),
        "RiskProfile": .openObject([
            .required("merchant_id", .string()), .required("fraud_score", .integer(minimum: 0)),
            .required("risk_level", .ref("RiskLevel")), .required("transaction_count", .integer(minimum: 0)),
            .required("rounding_analysis", .openObject([])), .required("override_patterns", .openObject([])),
            .required("void_rates", .openObject([])),
        ]),
    ]
}
