public import Foundation

/// Query-string values every list endpoint reads the same way, with the same 400 bodies.
public enum QueryParameters {
    /// `limit` (or another count, named `field`) from 1 to `max`; `fallback` when absent; else 400
    /// INVALID_REQUEST (the field, range).
    public static func limit(_ text: String?, fallback: Int, max: Int, field: String = "limit") throws(AtlasError) -> Int {
        guard let text else { return fallback }
        guard let value = Int(text), (1...max).contains(value) else {
            throw .invalidField(field, "\(field) must be an integer from 1 to \(max)", constraint: "range")
        }
        return value
    }

    /// An ISO 8601 instant, nil when absent; else 400 INVALID_REQUEST (the field, format).
    public static func timestamp(_ text: String?, field: String) throws(AtlasError) -> Date? {
        guard let text else { return nil }
        guard let date = Timestamp.parseISO8601(text) else {
            throw .invalidField(field, "\(field) must be an ISO 8601 timestamp", constraint: "format")
        }
        return date
    }
}
