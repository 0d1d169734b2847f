public import Kernel

/// The documented error bodies of each API surface. Modules that share a surface share its renderer.
public enum SurfaceErrors {
    public static func renderer(for surface: APISurface) -> any ErrorRenderer {
        switch surface {
        case .commerce, .payments: return EnvelopeErrorRenderer()
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
