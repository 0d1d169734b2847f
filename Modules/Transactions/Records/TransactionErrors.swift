import CashRoundingContract
import Kernel

/// The module's documented error codes (docs/transactions.md). 409 = conflicts with stored state,
/// 400 = the request alone is wrong.
enum TransactionErrors {
    /// A `tender` outside `TenderType.commerceTenders`. Also answers EBT and mobile should one reach a sale
    /// (they are cash-rounding tenders only; parsing and the table's CHECK keep them out).
    static func unknownTender(_ text: String) -> AtlasError {
        .invalidField("tender", "tender must be CARD, CASH or STORED_VALUE", constraint: "enum", value: .string(text))
    }

    static func invalidAmount(_ message: String, constraint: String, value: Int64?) -> AtlasError {
        AtlasError(kind: .invalidAmount, status: 400, code: "INVALID_AMOUNT", message: message,
                   details: ErrorDetails(field: "amount", value: value.map { .int($0) }, constraint: constraint))
    }

    static func invalidCurrency(_ code: String) -> AtlasError {
        AtlasError(kind: .invalidCurrency, status: 400, code: "INVALID_CURRENCY",
                   message: "currency is not supported for this merchant",
                   details: ErrorDetails(field: "currency", value: .string(String(code.prefix(8))), constraint: "enum"))
    }

    static func stateConflict(_ code: String, _ message: String) -> AtlasError {
        AtlasError(kind: .conflict, status: 409, code: code, message: message,
                   details: ErrorDetails(field: "originalTransactionId", constraint: "state"))
    }

    /// Completion or void of a pre-authorization past its window (`PreAuthExpiryLimits`).
    static let preAuthExpired = stateConflict("PRE_AUTH_EXPIRED",
                                              "The pre-authorization expired (not completed within its window); authorize again")

    static let terminalBusy = AtlasError(kind: .conflict, status: 409, code: "TERMINAL_BUSY",
                                         message: "Another transaction is already in progress on this terminal")

    static let acquirerNotConfigured = AtlasError(kind: .unavailable, status: 503, code: "ACQUIRER_NOT_CONFIGURED",
                                                  message: "No card acquirer is configured for live mode; card tenders are refused")

    static func originalNotFound() -> AtlasError {
        AtlasError(kind: .notFound, status: 404, code: "NOT_FOUND", message: "originalTransactionId does not exist",
                   details: ErrorDetails(field: "originalTransactionId", constraint: "exists"))
    }
}
