import Foundation
import Kernel

/// Field rules shared by the request bodies. Every failure is 400 VALIDATION_ERROR naming the field
/// (the rounding surface renders `missingField`/`invalidField` that way).
enum FieldCheck {
    /// Longest free text (names, reasons) accepted.
    static let textLengthMax = 200
    /// Longest identifier (merchant, employee, terminal, store, record ids) accepted.
    static let identifierLengthMax = 64
    /// Largest subtotal or tax accepted: $1 trillion, so subtotal + tax stays within the engine's range.
    static let amountCentsMax: Int64 = 100_000_000_000_000
    /// Split-tender lines accepted in one transaction.
    static let tendersMax = 20

    /// A required identifier: 1–64 printable ASCII characters, no spaces.
    static func identifier(_ value: String?, _ field: String) throws(AtlasError) -> String {
        guard let value, !value.isEmpty else { throw AtlasError.missingField(field) }
        return try optionalIdentifier(value, field)!
    }

    static func optionalIdentifier(_ value: String?, _ field: String) throws(AtlasError) -> String? {
        guard let value else { return nil }
        guard !value.isEmpty, value.utf8.count <= identifierLengthMax,
              value.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw AtlasError.invalidField(field, "\(field) must be 1 to \(identifierLengthMax) printable characters without spaces",
                                          constraint: "format")
        }
        return value
    }

    /// Free text, stored verbatim (no trimming or normalisation); control characters are refused.
    static func text(_ value: String?, _ field: String) throws(AtlasError) -> String {
        guard let value, !value.isEmpty else { throw AtlasError.missingField(field) }
        return try optionalText(value, field)!
    }

    static func optionalText(_ value: String?, _ field: String) throws(AtlasError) -> String? {
        guard let value else { return nil }
        guard !value.isEmpty, value.count <= textLengthMax,
              value.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw AtlasError.invalidField(field, "\(field) must be 1 to \(textLengthMax) characters without control characters",
                                          constraint: "format")
        }
        return value
    }

    /// One of the documented enum values, exactly (case-sensitive).
    static func oneOf<Value: RawRepresentable>(_ raw: String?, _ field: String, _ allowed: [Value]) throws(AtlasError)
        -> Value where Value.RawValue == String {
        guard let raw, !raw.isEmpty else { throw AtlasError.missingField(field) }
        guard let value = Value(rawValue: raw), allowed.contains(where: { $0.rawValue == raw }) else {
            throw AtlasError.invalidField(field, "\(field) must be one of \(allowed.map(\.rawValue).joined(separator: ", "))",
                                          constraint: "enum")
        }
        return value
    }

    static func cents(_ value: Int64?, _ field: String, minimum: Int64 = 0, maximum: Int64 = amountCentsMax)
        throws(AtlasError) -> Int64 {
        guard let value else { throw AtlasError.missingField(field) }
        guard value >= minimum, value <= maximum else {
            throw AtlasError.invalidField(field, "\(field) must be an integer number of cents from \(minimum) to \(maximum)",
                                          constraint: "range")
        }
        return value
    }

    /// `Content-Type: application/json` is required on bodies (§7): missing → 400, other types → 400.
    static func requireJSONContentType(_ request: Request) throws(AtlasError) {
        guard let contentType = request.headers["Content-Type"], MediaType.isJSON(contentType) else {
            throw AtlasError(kind: .unsupportedMediaType, status: 415, code: "UNSUPPORTED_MEDIA_TYPE",
                             message: "Content-Type must be application/json")
        }
    }

    static func decode<Body: Decodable>(_ type: Body.Type, from request: Request) throws(AtlasError) -> Body {
        try requireJSONContentType(request)
        return try request.decodeJSON(type)
    }
}

/// Reasons and enums exactly as the spec lists them.
enum VoidReason: String, CaseIterable {
    case customerChangedMind = "customer_changed_mind", pricingError = "pricing_error"
    case duplicateTransaction = "duplicate_transaction", employeeError = "employee_error"
    case fraudSuspected = "fraud_suspected"
}

enum RefundReason: String, CaseIterable {
    case defectiveProduct = "defective_product", customerDissatisfied = "customer_dissatisfied"
    case wrongItem = "wrong_item", priceAdjustment = "price_adjustment"
}

enum OverrideReason: String, CaseIterable {
    case customerRequest = "customer-request", managerDiscretion = "manager-discretion"
    case pricingError = "pricing-error", systemError = "system-error"
}

enum PoolDistributionMethod: String, CaseIterable {
    case equal, weighted
    case hoursBased = "hours_based"
}

enum ReceiptFormat: String, CaseIterable { case merchant, audit, pos }

enum ExportMode: String, CaseIterable { case standard, full, summary }

/// A dollar amount parsed from the JSON number's own digits (never through Double), e.g. `tip_amount`.
/// Accepts a JSON number or a string of the same form (`3.50`, `"3.501"`); exponents are expanded by
/// the decoder (`3.5e-3` = 0.0035). FLSA ceiling: any fraction of a cent rounds **up** (3.501 → 351¢).
struct DollarAmount: Decodable, Sendable, Hashable {
    /// The amount in cents after ceiling rounding.
    let cents: Int64
    /// The decimal text as received (normalised by the decoder), kept in the audit record.
    let submitted: String
    /// True when a fraction of a cent was rounded up.
    let fractionRoundedUp: Bool

    init(cents: Int64, submitted: String, fractionRoundedUp: Bool) {
        self.cents = cents
        self.submitted = submitted
        self.fractionRoundedUp = fractionRoundedUp
    }

    init(from decoder: any Decoder) throws {
        let field = decoder.codingPath.map(\.stringValue).joined(separator: ".")
        let container = try decoder.singleValueContainer()
        let text: String
        if let string = try? container.decode(String.self) {
            text = string
        } else if let decimal = try? container.decode(Decimal.self) {
            text = decimal.description
        } else if container.decodeNil() {
            throw AtlasError.missingField(field)
        } else {
            throw DollarAmount.invalid(field)
        }
        guard let parsed = DollarAmount.parse(text) else { throw DollarAmount.invalid(field) }
        self = parsed
    }

    static func invalid(_ field: String) -> AtlasError {
        AtlasError.invalidField(field, "\(field) must be a dollar amount such as 3.50", constraint: "format")
    }

    /// Parses `-?digits(.digits)?` exactly into cents, rounding any remaining fraction up (towards +∞).
    static func parse(_ text: String) -> DollarAmount? {
        var digits = Substring(text)
        let negative = digits.hasPrefix("-")
        if negative { digits = digits.dropFirst() }
        let parts = digits.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count > 1 ? parts[1] : ""
        guard !whole.isEmpty, whole.count <= 13, whole.allSatisfy(\.isASCIIDigit),
              parts.count == 1 || !fraction.isEmpty, fraction.allSatisfy(\.isASCIIDigit),
              let wholeValue = Int64(whole) else { return nil }
        let centsDigits = String((fraction + "00").prefix(2))
        let beyond = fraction.dropFirst(2)
        let hasRemainder = beyond.contains { $0 != "0" }
        let magnitude = wholeValue * 100 + Int64(centsDigits)!
        var cents = negative ? -magnitude : magnitude
        if hasRemainder { cents += 1 }  // ceiling: towards +∞ (callers refuse negative amounts anyway)
        return DollarAmount(cents: cents, submitted: text, fractionRoundedUp: hasRemainder)
    }

    /// "3.51" for 351 cents.
    static func format(cents: Int64) -> String {
        let sign = cents < 0 ? "-" : ""
        let magnitude = cents.magnitude
        let fraction = magnitude % 100
        return "\(sign)\(magnitude / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
