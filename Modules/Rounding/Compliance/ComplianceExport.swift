import CashRoundingContract
import Foundation
import Kernel

/// `export_mode` values exactly as the spec lists them.
enum ExportMode: String, CaseIterable { case standard, full, summary }

struct ExportBody: Decodable {
    let exportMode: String?
    let startDate: String?
    let endDate: String?
    let paymentMethod: String?
    let complianceStatus: String?
    let merchantId: String?
    enum CodingKeys: String, CodingKey {
        case exportMode = "export_mode", startDate = "start_date", endDate = "end_date"
        case paymentMethod = "payment_method", complianceStatus = "compliance_status", merchantId = "merchant_id"
    }
}

/// `POST /export` (CE): CSV of the transaction-family chain records (SALE, VOID, REFUND, OVERRIDE).
/// The `standard` header is a stable, versioned contract of 53 columns (docs/rounding.md); `full` adds the
/// hashed record itself; `summary` is 12 key columns.
struct ComplianceExport: Sendable {
    /// Rows in one export; a larger result is cut and says so in `X-Export-Truncated: true`.
    static let rowsMax = 100_000
    static let batchRows = 5_000
    static let eventTypes = ["SALE", "VOID", "REFUND", "OVERRIDE"]

    /// The standard header, in order. Never reorder or rename: append new columns to `full` instead.
    static let standardColumns: [String] = [
        "record_id", "event_type", "chain_position", "audit_hash", "previous_hash", "merchant_id", "mode",
        "occurred_at", "business_date", "store_id", "terminal_id", "employee_id", "employee_name",
        "original_transaction_id", "payment_method", "is_split_tender", "tender_count", "cash_tender_cents",
        "card_tender_cents", "ebt_tender_cents", "mobile_tender_cents", "subtotal_cents", "tax_total_cents",
        "ledger_total_cents", "cash_total_cents", "rounding_delta_cents", "cash_portion_cents",
        "cash_portion_rounded_cents", "rounding_direction", "cash_rounding_mode", "rounding_applied",
        "mode_override", "jurisdiction", "legislation", "zip_code", "state", "county", "city",
        "ebt_compliance_flag", "compliance_status", "compliance_notes", "fraud_score", "risk_level", "reason_code",
        "refund_amount_cents", "normalization_check", "override_calculated_cash_total_cents",
        "override_new_cash_total_cents", "override_delta_cents", "currency", "receipt_disclosure_required",
        "created_by_role", "created_by_key_id",
    ]
    static let fullColumns = standardColumns + ["record_json"]
    static let summaryColumns = [
        "record_id", "event_type", "occurred_at", "payment_method", "ledger_total_cents", "cash_total_cents",
        "rounding_delta_cents", "cash_rounding_mode", "jurisdiction", "compliance_status", "fraud_score", "risk_level",
    ]

    let service: RoundingService

    func export(_ request: Request, _ context: RoundingContext) async throws -> Response {
        let caller = Caller(context, service: service)
        let body = try FieldCheck.decode(ExportBody.self, from: request)
        let mode: ExportMode = try FieldCheck.oneOf(body.exportMode ?? "standard", "export_mode", ExportMode.allCases)
        let start = try ComplianceHandlers.date(body.startDate, "start_date")
        let end = try ComplianceHandlers.date(body.endDate, "end_date")
        let payment = try body.paymentMethod.map { raw throws(AtlasError) in
            try FieldCheck.oneOf(raw, "payment_method", TenderType.roundingPaymentMethods).rawValue
        }
        let status = try body.complianceStatus.map { raw throws(AtlasError) in
            try FieldCheck.oneOf(raw, "compliance_status", ComplianceStatus.allCases).rawValue
        }
        let merchant = try body.merchantId.map { raw throws(AtlasError) in try FieldCheck.identifier(raw, "merchant_id") }
        var tenant = caller.ownTenant
        if let merchant { tenant = try await caller.tenant(forBodyMerchant: merchant) }
        let columns = mode == .full ? Self.fullColumns : mode == .summary ? Self.summaryColumns : Self.standardColumns
        var csv = Self.csvLine(columns)
        var count = 0
        var after: Int64 = 0
        let types = Self.eventTypes.joined(separator: ",")
        fetch: while true {
            let rows = try await service.database.query("""
                SELECT * FROM rounding_records WHERE merchant_id = \(tenant.merchantId) AND mode = \(tenant.mode)
                  AND chain_position > \(after) AND event_type = ANY (string_to_array(\(types), ','))\
                \(and: "occurred_at >= ?", start)\(and: "occurred_at <= ?", end)\
                \(and: "payment_method = ?", payment)\(and: "compliance_status = ?", status)
                ORDER BY chain_position LIMIT \(Self.batchRows)
                """)
            for row in rows {
                if count == Self.rowsMax { break fetch }
                let stored = try ChainStore.record(from: row)
                let values = Self.values(stored)
                csv += Self.csvLine(columns.map { values[$0] ?? "" })
                count += 1
                after = stored.position
            }
            if rows.count < Self.batchRows { break }
        }
        var response = Response.text(csv, contentType: "text/csv; charset=utf-8")
        response.headers.set("Content-Disposition", "attachment; filename=\"centsless-export-\(mode.rawValue).csv\"")
        response.headers.set("X-Export-Rows", String(count))
        if count == Self.rowsMax { response.headers.set("X-Export-Truncated", "true") }
        return response
    }

    /// Every column's text for one record (empty when it does not apply).
    static func values(_ stored: ChainRecord) -> [String: String] {
        let record = stored.record
        func text(_ value: JSONValue?) -> String {
            switch value {
            case .string(let string)?: return string
            case .int(let number)?: return String(number)
            case .bool(let flag)?: return flag ? "true" : "false"
            default: return ""
            }
        }
        let request = record["request"]
        let calculation = record["calculation"]
        var tenders: [String: Int64] = [:]
        var tenderCount = 0
        if case .array(let lines)? = request?["tenders"] {
            tenderCount = lines.count
            for line in lines { tenders[line["type"]?.stringValue ?? "", default: 0] += line["amount_cents"]?.intValue ?? 0 }
        }
        let delta = record["rounding_delta_cents"]?.intValue ?? 0
        var notes = ""
        if case .array(let list)? = record["compliance"]?["notes"] { notes = list.compactMap(\.stringValue).joined(separator: "; ") }
        let occurred = text(record["occurred_at"])
        var values: [String: String] = [
            "record_id": stored.recordId, "event_type": text(record["event_type"]), "chain_position": String(stored.position),
            "audit_hash": stored.auditHash, "previous_hash": stored.previousHash, "merchant_id": text(record["merchant_id"]),
            "mode": text(record["mode"]), "occurred_at": occurred, "business_date": String(occurred.prefix(10)),
            "store_id": text(record["store_id"] ?? request?["store_id"]), "terminal_id": text(record["terminal_id"] ?? request?["terminal_id"]),
            "employee_id": text(record["employee_id"]), "employee_name": text(record["employee_name"]),
            "original_transaction_id": text(record["linked_id"]), "payment_method": text(record["payment_method"]),
            "is_split_tender": tenderCount > 0 ? "true" : "false", "tender_count": String(tenderCount),
            "subtotal_cents": text(record["subtotal_cents"]), "tax_total_cents": text(record["tax_total_cents"]),
            "ledger_total_cents": text(record["ledger_total_cents"]), "cash_total_cents": text(record["cash_total_cents"]),
            "rounding_delta_cents": text(record["rounding_delta_cents"]),
            "cash_portion_cents": text(record["cash_portion_cents"] ?? calculation?["cash_portion_cents"]),
            "cash_portion_rounded_cents": text(record["cash_portion_rounded_cents"] ?? calculation?["cash_portion_rounded_cents"]),
            "rounding_direction": delta > 0 ? "up" : delta < 0 ? "down" : "none",
            "cash_rounding_mode": text(calculation?["cash_rounding_mode"] ?? record["cash_rounding_mode"]),
            "rounding_applied": text(calculation?["rounding_applied"]),
            "mode_override": request.map { $0["cash_rounding_mode"]?.stringValue != nil ? "true" : "false" } ?? "",
            "jurisdiction": text(calculation?["jurisdiction"]), "legislation": text(record["legislation"]),
            "zip_code": text(request?["zip_code"]), "state": text(request?["state"]), "county": text(request?["county"]),
            "city": text(request?["city"]), "ebt_compliance_flag": text(calculation?["ebt_compliance_flag"]),
            "compliance_status": text(record["compliance_status"]), "compliance_notes": notes,
            "fraud_score": text(record["fraud_score"]), "risk_level": text(record["risk_level"]),
            "reason_code": text(record["reason_code"]), "refund_amount_cents": text(record["refund_amount_cents"]),
            "normalization_check": text(record["normalization_check"]?["status"]),
            "override_calculated_cash_total_cents": text(record["calculated_cash_total_cents"]),
            "override_new_cash_total_cents": text(record["new_cash_total_cents"]),
            "override_delta_cents": text(record["override_delta_cents"]), "currency": "USD",
            "receipt_disclosure_required": text(record["receipt_disclosure_required"]),
            "created_by_role": text(record["created_by"]?["role"]), "created_by_key_id": text(record["created_by"]?["key_id"]),
            "record_json": CanonicalJSON.string(record),
        ]
        if tenderCount > 0 {
            values["cash_tender_cents"] = String(tenders["cash"] ?? 0)
            values["card_tender_cents"] = String(tenders["card"] ?? 0)
            values["ebt_tender_cents"] = String(tenders["ebt"] ?? 0)
            values["mobile_tender_cents"] = String(tenders["mobile"] ?? 0)
        }
        return values
    }

    /// RFC 4180: fields with `,` `"` CR or LF are quoted with `""` escapes; CRLF line ends. Text that a
    /// spreadsheet would run as a formula (= + @ or a leading tab/CR) gets a leading `'`; numbers keep
    /// their minus sign.
    static func csvLine(_ fields: [String]) -> String {
        fields.map(csvField).joined(separator: ",") + "\r\n"
    }

    static func csvField(_ value: String) -> String {
        var text = value
        if let first = text.unicodeScalars.first, "=+@\t\r".unicodeScalars.contains(first)
            || (first == "-" && Int64(text) == nil) {
            text = "'" + text
        }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
