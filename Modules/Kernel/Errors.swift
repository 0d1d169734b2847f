/// One typed error for every API surface. A module throws `AtlasError` with a `kind` that says
/// what went wrong; each surface's `ErrorRenderer` turns it into that surface's documented body
/// (for example `{"error","message","requestId","details"}` on /v1 and `{"error","message"}` on
/// /api/v1), so a module never hand-writes error JSON.
public struct AtlasError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case missingField
        case invalidField
        case malformedBody
        case unsupportedMediaType
        case invalidAmount
        case invalidCurrency
        case unauthorized
        case forbidden
        case notFound
        case methodNotAllowed
        case conflict
        case idempotencyConflict
        case requestInProgress
        case payloadTooLarge
        case unprocessable
        case rateLimited
        /// 402: the card was declined (the payments API's `card_error`).
        case cardDeclined
        case internalError
        case unavailable
        /// A surface-specific error whose `code` is used as given.
        case custom
    }

    public var kind: Kind
    public var status: Int
    /// A surface-neutral code; renderers may map it (e.g. missingField → MISSING_FIELD or VALIDATION_ERROR).
    public var code: String
    /// Safe for clients and logs: never contains secrets, keys, card numbers or bound SQL values.
    public var message: String
    public var details: ErrorDetails?
    /// Extra response headers, such as `Retry-After` on 429.
    public var headers: [(String, String)]
    /// The issuer's reason for a `cardDeclined` error (`insufficient_funds`), for surfaces that report it.
    public var declineCode: String?

    public init(kind: Kind, status: Int, code: String, message: String, details: ErrorDetails? = nil,
                headers: [(String, String)] = []) {
        self.kind = kind
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers
    }

    public var description: String { "AtlasError(\(status) \(code): \(message))" }

    public static func missingField(_ field: String) -> AtlasError {
        AtlasError(kind: .missingField, status: 400, code: "MISSING_FIELD", message: "\(field) is required",
                   details: ErrorDetails(field: field, constraint: "required"))
    }

    public static func invalidField(_ field: String, _ message: String, constraint: String? = nil,
                                    value: JSONValue? = nil) -> AtlasError {
        AtlasError(kind: .invalidField, status: 400, code: "INVALID_REQUEST", message: message,
                   details: ErrorDetails(field: field, value: value, constraint: constraint))
    }

    public static func malformedBody(_ message: String) -> AtlasError {
        AtlasError(kind: .malformedBody, status: 400, code: "INVALID_REQUEST", message: message)
    }

    public static func unauthorized(_ message: String = "Missing or invalid credentials") -> AtlasError {
        AtlasError(kind: .unauthorized, status: 401, code: "UNAUTHORIZED", message: message)
    }

    public static func forbidden(_ message: String = "Insufficient permissions for this endpoint") -> AtlasError {
        AtlasError(kind: .forbidden, status: 403, code: "FORBIDDEN", message: message)
    }

    public static func notFound(_ message: String = "Not found") -> AtlasError {
        AtlasError(kind: .notFound, status: 404, code: "NOT_FOUND", message: message)
    }

    public static func methodNotAllowed(allowed: [String]) -> AtlasError {
        AtlasError(kind: .methodNotAllowed, status: 405, code: "METHOD_NOT_ALLOWED",
                   message: "Method not allowed", headers: [("Allow", allowed.joined(separator: ", "))])
    }

    public static func conflict(code: String, _ message: String) -> AtlasError {
        AtlasError(kind: .conflict, status: 409, code: code, message: message)
    }

    public static func rateLimited(retryAfterSeconds: Int) -> AtlasError {
        AtlasError(kind: .rateLimited, status: 429, code: "RATE_LIMITED",
                   message: "Rate limit exceeded; retry after \(retryAfterSeconds) seconds",
                   headers: [("Retry-After", String(retryAfterSeconds))])
    }

    public static func payloadTooLarge(limitBytes: Int) -> AtlasError {
        AtlasError(kind: .payloadTooLarge, status: 413, code: "PAYLOAD_TOO_LARGE",
                   message: "Request body exceeds \(limitBytes) bytes")
    }

    public static func internalError() -> AtlasError {
        AtlasError(kind: .internalError, status: 500, code: "INTERNAL_ERROR", message: "Internal error")
    }

    /// A declined card: `code` says what failed (`card_declined`, `expired_card`), `declineCode` the issuer's reason.
    public static func cardDeclined(code: String, declineCode: String?, _ message: String) -> AtlasError {
        var error = AtlasError(kind: .cardDeclined, status: 402, code: code, message: message)
        error.declineCode = declineCode
        return error
    }

    public static func unavailable(_ message: String) -> AtlasError {
        AtlasError(kind: .unavailable, status: 503, code: "SERVICE_UNAVAILABLE", message: message)
    }
}

/// `details` of the /v1 error envelope: `{field, value, constraint}`.
public struct ErrorDetails: Sendable, Hashable {
    public var field: String?
    public var value: JSONValue?
    public var constraint: String?

    public init(field: String? = nil, value: JSONValue? = nil, constraint: String? = nil) {
        self.field = field
        self.value = value
        self.constraint = constraint
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [:]
        if let field { object["field"] = .string(field) }
        if let value { object["value"] = value }
        if let constraint { object["constraint"] = .string(constraint) }
        return .object(object)
    }
}

/// Renders an `AtlasError` as one API surface's documented error body.
public protocol ErrorRenderer: Sendable {
    func render(_ error: AtlasError, requestId: String) -> Response
}

/// The default body `{"error": CODE, "message": …, "requestId": …, "details"?: …}`.
public struct EnvelopeErrorRenderer: ErrorRenderer {
    public init() {}

    public func render(_ error: AtlasError, requestId: String) -> Response {
        var body: [String: JSONValue] = [
            "error": .string(error.code), "message": .string(error.message), "requestId": .string(requestId),
        ]
        if let details = error.details { body["details"] = details.json }
        var response = Response.json(.object(body), status: error.status)
        for (name, value) in error.headers { response.headers.add(name, value) }
        return response
    }
}
