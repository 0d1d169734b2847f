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
