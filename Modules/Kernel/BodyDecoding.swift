import Foundation

/// A request body type that checks its own field rules after decoding (ranges, lengths, enums).
public protocol Validatable {
    func validate() throws(AtlasError)
}

extension Request {
    /// Decodes the JSON body into `T`, turning decoder failures into field-level errors:
    /// a missing key → `missingField(path)`, a wrong type or value → `invalidField(path)`,
    /// unparseable JSON → `malformedBody`. Then runs `validate()` when `T` is `Validatable`.
    public func decodeJSON<T: Decodable>(_ type: T.Type) throws(AtlasError) -> T {
        try checkJSONBody()
        return try decodeWithFoundation(type)
    }

    /// `decodeJSON(_:)` with a fast path for a hot route's usual body: `fastPath` builds `T` from the document as
    /// `JSONValue(parsingRefusingRepeatedKeys:)` reads it, or answers nil, and Foundation's decoder decodes the body
    /// as before (with its errors). WHY: Foundation's decoder was about 5% of the server's CPU in the sale bench. The
    /// fast path must build exactly what the decoder would, so it answers nil for anything it does not expect.
    public func decodeJSON<T: Decodable>(_ type: T.Type, fastPath: (JSONValue) -> T?) throws(AtlasError) -> T {
        try checkJSONBody()
        // A body this parser refuses is not an error yet: Foundation's decoder reports it in its own words.
        guard let document = try? JSONValue(parsingRefusingRepeatedKeys: body), let fast = fastPath(document) else {
            return try decodeWithFoundation(type)
        }
        return try Self.validated(fast)
    }

    /// What is refused before any decoder reads the body: another media type, no body, nesting too deep, `\u0000`.
    private func checkJSONBody() throws(AtlasError) {
        if let contentType = headers["Content-Type"], !MediaType.isJSON(contentType) {
            throw AtlasError(kind: .unsupportedMediaType, status: 415, code: "UNSUPPORTED_MEDIA_TYPE",
                             message: "Content-Type must be application/json")
        }
        guard !body.isEmpty else { throw AtlasError.malformedBody("Request body must be a JSON object") }
        try JSONPreScan.check(body)
    }

    private func decodeWithFoundation<T: Decodable>(_ type: T.Type) throws(AtlasError) -> T {
        let value: T
        do {
            value = try JSONCoding.decoder().decode(T.self, from: Data(body))
        } catch let error as DecodingError {
            throw BodyDecodingErrors.map(error)
        } catch let error as AtlasError {
            throw error
        } catch {
            throw AtlasError.malformedBody("Request body is not valid JSON")
        }
        return try Self.validated(value)
    }

    /// `value` after its own field rules, when it has any (`Validatable`).
    private static func validated<T>(_ value: T) throws(AtlasError) -> T {
        if let validatable = value as? any Validatable { try validatable.validate() }
        return value
    }
}

/// Limits checked on the raw body bytes before any JSON decoder sees them.
public enum JSONBodyLimits {
    /// Deepest array/object nesting accepted. Decoders recurse once per level (Foundation's, and
    /// `JSONValue`'s `init(from:)`), so a body of 10,000 `[` could exhaust a thread's stack and kill the
    /// process; no documented request body nests more than a few levels.
    public static let nestingDepthMax = 64
}

/// One linear pass over the raw bytes, before decoding: refuses nesting deeper than
/// `JSONBodyLimits.nestingDepthMax`, and `\u0000` in strings (PostgreSQL text and jsonb cannot hold
/// NUL, so such a value would otherwise fail later as a 500). Brackets inside strings (and escaped
/// quotes) are skipped. Malformed JSON is left for the decoder to report.
enum JSONPreScan {
    /// True when the backslash at `index` starts `\u0000`.
    static func isEscapedNUL(_ body: [UInt8], at index: Int) -> Bool {
        guard index + 5 < body.count, body[index + 1] == UInt8(ascii: "u") else { return false }
        return body[(index + 2)...(index + 5)].allSatisfy { $0 == UInt8(ascii: "0") }
    }

    static func check(_ body: [UInt8]) throws(AtlasError) {
        var depth = 0
        var inString = false
        var index = 0
        let count = body.count
        while index < count {
            let byte = body[index]
            if inString {
                if byte == UInt8(ascii: "\\") {
                    if isEscapedNUL(body, at: index) {
                        throw AtlasError.malformedBody("Request body must not contain NUL characters (\\u0000)")
                    }
                    index += 2
                    continue
                }
                if byte == UInt8(ascii: "\"") { inString = false }
            } else {
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    depth += 1
                    if depth > JSONBodyLimits.nestingDepthMax {
                        throw AtlasError.malformedBody(
                            "Request body nests deeper than \(JSONBodyLimits.nestingDepthMax) levels")
                    }
                case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
                default: break
                }
            }
            index += 1
        }
    }
}

public enum MediaType {
    /// True for `application/json` and `application/*+json`, with any parameters.
    /// WHY bytes: every JSON request asks, and Foundation's `trimmingCharacters(in:)` bridged through NSString (about
    /// 2% of the server's CPU in the sale bench). ASCII white space is space and tab; a type with other bytes keeps
    /// Foundation's Unicode trimming.
    public static func isJSON(_ contentType: String) -> Bool {
        let bytes = contentType.utf8
        var essence = bytes[bytes.startIndex..<(bytes.firstIndex(of: UInt8(ascii: ";")) ?? bytes.endIndex)]
        guard essence.allSatisfy({ $0 < 0x80 }) else { return isJSONEssence(unicodeEssence(contentType)) }
        while let first = essence.first, first == 0x20 || first == 0x09 { essence = essence.dropFirst() }
        while let last = essence.last, last == 0x20 || last == 0x09 { essence = essence.dropLast() }
        return isJSONEssence(String(decoding: essence, as: UTF8.self).lowercased())
    }

    static func unicodeEssence(_ contentType: String) -> String {
        contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
    }

    private static func isJSONEssence(_ essence: String) -> Bool {
        essence == "application/json" || (essence.hasPrefix("application/") && essence.hasSuffix("+json"))
    }
}

enum BodyDecodingErrors {
    static func map(_ error: DecodingError) -> AtlasError {
        switch error {
        case .keyNotFound(let key, let context):
            return .missingField(path(context.codingPath + [key]))
        case .valueNotFound(_, let context):
            let field = path(context.codingPath)
            return field.isEmpty ? .malformedBody("Request body must be a JSON object") : .missingField(field)
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            if field.isEmpty { return .malformedBody("Request body must be a JSON object") }
            return .invalidField(field, "\(field) must be \(describe(type))", constraint: "type")
        case .dataCorrupted(let context):
            let field = path(context.codingPath)
            if field.isEmpty { return .malformedBody("Request body is not valid JSON") }
            return .invalidField(field, "\(field) has an invalid value", constraint: "format")
        @unknown default:
            return .malformedBody("Request body is not valid JSON")
        }
    }

    /// "lineItems[2].amount" style paths.
    static func path(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue { text += "[\(index)]" } else { text += text.isEmpty ? key.stringValue : "." + key.stringValue }
        }
        return text
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int64.Type, is Int.Type, is Int32.Type: return "an integer"
        case is Bool.Type: return "a boolean"
        case is Double.Type: return "a number"
        default: return "of a different type"
        }
    }
}
