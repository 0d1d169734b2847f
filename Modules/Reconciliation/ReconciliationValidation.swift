import Foundation
import Kernel

/// Query and body checks shared by the reconciliation routes; every failure is a documented 400.
enum ReconciliationValidation {
    /// An ISO 4217 code Atlas knows (Kernel `Currency`), else 400 INVALID_CURRENCY.
    static func currency(_ code: String, field: String) throws(AtlasError) -> String {
        guard Currency(code: code) != nil else {
            throw AtlasError(kind: .invalidCurrency, status: 400, code: "INVALID_CURRENCY",
                             message: "\(field) must be a supported ISO 4217 currency code",
                             details: ErrorDetails(field: field, value: .string(String(code.prefix(16))), constraint: "enum"))
        }
        return code
    }

    /// An opaque cursor `cursor_<id>` whose id has `prefix` (`cursor_stl_…`, `cursor_txn_…`).
    static func cursor(_ text: String?, prefix: IDPrefix) throws(AtlasError) -> String? {
        guard let text else { return nil }
        let id = String(text.dropFirst("cursor_".count))
        guard text.hasPrefix("cursor_"), TypedID(rawValue: id).matches(prefix) else {
            throw .invalidField("cursor", "cursor is not valid", constraint: "format")
        }
        return id
    }
}
