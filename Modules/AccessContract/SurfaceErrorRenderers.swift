public import Kernel

/// The documented error bodies of each API surface. Modules that share a surface share its renderer.
public enum SurfaceErrors {
    public static func renderer(for surface: APISurface) -> any ErrorRenderer {
        switch surface {
        case .commerce: return EnvelopeErrorRenderer()
        case .payments: return PaymentsErrorRenderer()
        case .rounding: return RoundingErrorRenderer()
        case .accounting: return AccountingErrorRenderer()
        case .terminal: return TerminalErrorRenderer()
        }
    }

    static func isValidation(_ kind: AtlasError.Kind) -> Bool {
        kind == .missingField || kind == .invalidField || kind == .malformedBody || kind == .unsupportedMediaType
    }

    static func withHeaders(_ response: Response, _ error: AtlasError) -> Response {
        var response = response
        for (name, value) in error.headers { response.headers.add(name, value) }
        return response
    }
}

/// `/api/v1` cash rounding: `{"error":"UPPER_CODE","message":"…"}`; every field error is 400 VALIDATION_ERROR.
public struct RoundingErrorRenderer: ErrorRenderer {
    public init() {}

    public func render(_ error: AtlasError, requestId: String) -> Response {
        let validation = SurfaceErrors.isValidation(error.kind)
        let code = validation ? "VALIDATION_ERROR" : error.code
        let status = validation ? 400 : error.status
        return SurfaceErrors.withHeaders(.json(["error": .string(code), "message": .string(error.message)], status: status), error)
    }
}

/// `/api/v1` accounting: `{"detail":"…","status_code":N,"errors":[{"field","message"}]}`; field errors are 422.
public struct AccountingErrorRenderer: ErrorRenderer {
    public init() {}

    public func render(_ error: AtlasError, requestId: String) -> Response {
        let validation = SurfaceErrors.isValidation(error.kind) && error.kind != .unsupportedMediaType
        let status = validation ? 422 : error.status
        var errors: [JSONValue] = []
        if let field = error.details?.field { errors.append(["field": .string(field), "message": .string(error.message)]) }
        let body: JSONValue = ["detail": .string(error.message), "status_code": .int(Int64(status)), "errors": .array(errors)]
        return SurfaceErrors.withHeaders(.json(body, status: status), error)
    }
}

/// `/api` offline terminal backend: `{"error":"short_snake_case_code","message":"…"}`, nothing else.
public struct TerminalErrorRenderer: ErrorRenderer {
    public init() {}

    public func render(_ error: AtlasError, requestId: String) -> Response {
        let (code, status) = TerminalErrorRenderer.codeAndStatus(error)
        return SurfaceErrors.withHeaders(.json(["error": .string(code), "message": .string(error.message)], status: status), error)
    }

    static func codeAndStatus(_ error: AtlasError) -> (String, Int) {
        switch error.kind {
        case .missingField, .invalidField, .malformedBody, .unsupportedMediaType: return ("malformed_payload", 400)
        case .unauthorized where error.code == "UNAUTHORIZED": return ("invalid_token", 401)
        case .forbidden where error.code == "FORBIDDEN": return ("insufficient_role", 403)
        case .rateLimited: return ("rate_limited", 429)
        case .notFound where error.code == "NOT_FOUND": return ("not_found", 404)
        case .methodNotAllowed: return ("method_not_allowed", 405)
        case .internalError: return ("internal_error", 500)
        default: return (error.code.lowercased(), error.status)
        }
    }
}

/// `/functions/v1` payments API (spec §11, AP-ERR): an object-style envelope in snake_case,
/// `{"error":{"type","code","message","decline_code","param","request_id","doc_url"}}`. A different product
/// from the Commerce API, so it never shares that body.
public struct PaymentsErrorRenderer: ErrorRenderer {
    /// Where each code is explained; the documented envelope always carries one.
    public static let docsBaseURL = "https://docs.atlas.co/errors/"

    public init() {}

    public func render(_ error: AtlasError, requestId: String) -> Response {
        let (type, code) = PaymentsErrorRenderer.typeAndCode(error)
        let body: JSONValue = ["error": [
            "type": .string(type), "code": .string(code), "message": .string(error.message),
            "decline_code": error.declineCode.map { .string($0) } ?? .null,
            "param": error.details?.field.map { .string($0) } ?? .null,
            "request_id": .string(requestId), "doc_url": .string(Self.docsBaseURL + code),
        ]]
        return SurfaceErrors.withHeaders(.json(body, status: error.status), error)
    }

    /// AP-ERR: 400 `validation_error` (fields) or `invalid_request_error`, 401 `authentication_error`, 402
    /// `card_error`, 409 `idempotency_error`, 429 `rate_limit_error`, 5xx `api_error`.
    static func typeAndCode(_ error: AtlasError) -> (type: String, code: String) {
        switch error.kind {
        case .missingField: return ("validation_error", "missing_required_param")
        case .invalidAmount: return ("validation_error", "invalid_amount")
        case .invalidCurrency: return ("validation_error", "invalid_currency")
        case .invalidField:
            return ("validation_error", error.code == "INVALID_REQUEST" ? "invalid_param" : error.code.lowercased())
        case .malformedBody: return ("invalid_request_error", "invalid_json")
        case .unsupportedMediaType: return ("invalid_request_error", "unsupported_media_type")
        case .unauthorized: return ("authentication_error", "invalid_api_key")
        case .forbidden: return ("permission_error", "forbidden")
        case .notFound: return ("invalid_request_error", "resource_missing")
        case .methodNotAllowed: return ("invalid_request_error", "method_not_allowed")
        case .payloadTooLarge: return ("invalid_request_error", "payload_too_large")
        case .idempotencyConflict: return ("idempotency_error", "idempotency_key_reused")
        case .requestInProgress: return ("idempotency_error", "idempotency_key_in_use")
        case .cardDeclined: return ("card_error", error.code.lowercased())
        case .rateLimited: return ("rate_limit_error", "rate_limit_exceeded")
        case .internalError, .unavailable: return ("api_error", error.code.lowercased())
        case .conflict, .unprocessable, .custom: return ("invalid_request_error", error.code.lowercased())
        }
    }
}
