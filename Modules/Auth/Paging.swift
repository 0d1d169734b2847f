import Kernel

/// `?limit=` of Auth's list endpoints (API keys, audit trail).
enum Paging {
    /// Parses `limit` within 1…maximum; 400 naming the field otherwise.
    static func limit(_ text: String?, defaultValue: Int, maximum: Int) throws(AtlasError) -> Int {
        guard let text else { return defaultValue }
        guard let value = Int(text), (1...maximum).contains(value) else {
            throw .invalidField("limit", "limit must be an integer from 1 to \(maximum)", constraint: "range")
        }
        return value
    }
}
