import Accounting
import Foundation
import Kernel

/// SplitMix64: a tiny, seedable generator so every run sends exactly the same corpus.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }

    /// FNV-1a of a label, mixed with the suite seed (Swift's Hasher is randomized per process).
    static func seed(_ label: String, suiteSeed: UInt64) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in label.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash ^ suiteSeed
    }
}

/// The API surfaces, by the documented error body each one must answer with.
enum FuzzSurface: String, Sendable, CaseIterable {
    case commerce, payments, rounding, accounting, terminal, oauth

    static func of(_ pattern: String) -> FuzzSurface {
        if pattern.hasPrefix("/v1/token") { return .oauth }
        // The platform's API documents (`/openapi/<surface>.json`) answer in the default envelope.
        if pattern.hasPrefix("/openapi/") { return .commerce }
        if pattern.hasPrefix("/v1/") || pattern.hasPrefix("/.well-known") { return .commerce }
        if pattern.hasPrefix("/functions/v1") { return .payments }
        if ["/api/v1/auth", "/api/v1/webhooks", "/api/v1/webhook-events"].contains(where: { pattern.hasPrefix($0) }) {
            return .accounting
        }
        if AccountingModule.pathPrefixes.contains(where: { pattern == $0 || pattern.hasPrefix($0 + "/") }) { return .accounting }
        if pattern.hasPrefix("/api/v1") { return .rounding }
        return .terminal
    }

    /// nil when `response` is acceptable; otherwise why not. Never a 5xx (except a documented 503),
    /// and every 4xx carries exactly the surface's error body.
    func problem(with response: Response) -> String? {
        if response.status >= 500 {
            let code = response.bodyJSON?["error"]?.stringValue ?? response.bodyJSON?["error"]?["code"]?.stringValue ?? ""
            if response.status == 503, FuzzSurface.documented503Codes.contains(code) { return nil }
            return "status \(response.status)"
        }
        guard response.status >= 400 else {
            let isJSON = response.headers["Content-Type"].map(MediaType.isJSON) ?? false
            if !isJSON || response.body.isEmpty || response.bodyJSON != nil { return nil }
            return "2xx/3xx JSON body does not parse"
        }
        guard case .object(let body)? = response.bodyJSON else { return "error body is not a JSON object" }
        let keys = Set(body.keys)
        func strings(_ names: [String]) -> Bool { names.allSatisfy { body[$0]?.stringValue != nil } }
        switch self {
        case .payments:
            return paymentsProblem(body)
        case .commerce:
            guard keys.isSuperset(of: ["error", "message", "requestId"]),
                  keys.isSubset(of: ["error", "message", "requestId", "details"]),
                  strings(["error", "message", "requestId"]) else { return "envelope keys \(keys.sorted())" }
            if let details = body["details"], case .object = details {} else if body["details"] != nil {
                return "details is not an object"
            }
        case .rounding, .terminal:
            guard keys == ["error", "message"], strings(["error", "message"]) else { return "keys \(keys.sorted())" }
        case .accounting:
            guard keys == ["detail", "status_code", "errors"], strings(["detail"]),
                  body["status_code"]?.intValue == Int64(response.status) else { return "accounting keys \(keys.sorted())" }
            guard case .array = body["errors"] else { return "errors is not an array" }
        case .oauth:
            guard keys == ["error", "error_description"], strings(["error", "error_description"]) else {
                return "oauth keys \(keys.sorted())"
            }
        }
        if let code = body["error"]?.stringValue, !codeLooksRight(code) { return "error code \(code) is not in the surface's style" }
        return nil
    }

    /// The payments API's object envelope (spec §11, AP-ERR), lower_snake type and code.
    func paymentsProblem(_ body: [String: JSONValue]) -> String? {
        guard body.keys.sorted() == ["error"], case .object(let error)? = body["error"] else { return "payments keys \(body.keys.sorted())" }
        let names = ["type", "code", "message", "decline_code", "param", "request_id", "doc_url"]
        guard Set(error.keys) == Set(names) else { return "payments error keys \(error.keys.sorted())" }
        for name in ["type", "code", "message", "request_id", "doc_url"] where error[name]?.stringValue == nil {
            return "payments error \(name) is not a string"
        }
        for name in ["type", "code"] where !codeLooksRight(error[name]?.stringValue ?? "") {
            return "payments error \(name) is not lower_snake"
        }
        return nil
    }

    /// UPPER_SNAKE codes on commerce and rounding; lower_snake on payments, terminal and OAuth.
    func codeLooksRight(_ code: String) -> Bool {
        let upper = self == .commerce || self == .rounding
        guard let first = code.unicodeScalars.first, upper ? ("A"..."Z").contains(first) : ("a"..."z").contains(first) else {
            return false
        }
        return code.unicodeScalars.allSatisfy { scalar in
            scalar == "_" || ("0"..."9").contains(scalar) || (upper ? ("A"..."Z").contains(scalar) : ("a"..."z").contains(scalar))
        }
    }

    /// 503s the specs and docs define: a live card tender with no acquirer configured, and a database
    /// that is saturated or unreachable (retryable; possible when the whole suite shares two cores).
    static let documented503Codes: Set<String> = ["ACQUIRER_NOT_CONFIGURED", "acquirer_not_configured",
                                                  "SERVICE_UNAVAILABLE", "service_unavailable", "temporarily_unavailable"]
}

/// One request of the corpus.
struct FuzzCase: Sendable {
    var label: String
    var method: HTTPMethod
    var target: String
    var headers: HTTPHeaders
    var body: [UInt8]
}

enum FuzzValues {
    static let hugeString = String(repeating: "x", count: 100_000)
    static let nastyString = "a\u{0}b\u{1}\u{7}\u{1B}[31m\u{202E}é😀\u{FFFF}\u{10FFFF}\n\r\t\"\\"

    /// A JWT-shaped token whose header and claims are 10,000-deep JSON arrays (parsed before the signature check?).
    static let deepJWT: String = {
        let deep = Array((String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)).utf8)
        let part = Encoding.base64URL(deep)
        return part + "." + part + ".c2ln"
    }()

    /// Wrong types and extreme values for any field.
    static let fieldValues: [(String, JSONValue)] = [
        ("string", "fuzz"), ("emptyString", ""), ("number", 7), ("bool", true), ("null", .null), ("array", [1, "a"]),
        ("object", ["a": 1]), ("int64Max", .int(Int64.max)), ("int64Min", .int(Int64.min)), ("1e30", .double(1e30)),
        ("-1", -1), ("0", 0), ("1.5", .double(1.5)), ("huge", .string(hugeString)), ("nasty", .string(nastyString)),
        ("-1e30", .double(-1e30)), ("int64MaxString", "9223372036854775807"), ("negZero", .double(-0.0)),
    ]

    /// Raw body bytes a JSON endpoint must refuse (or tolerate) without a 5xx.
    static func rawBodies() -> [(String, [UInt8])] {
        let depth = 10_000
        let deepArray = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let deepObject = String(repeating: "{\"a\":", count: depth) + "1" + String(repeating: "}", count: depth)
        let unclosed = String(repeating: "[", count: 100_000)
        let nestedJustOver = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        return [
            ("empty", []), ("notJSON", Array("not json at all".utf8)), ("truncated", Array("{\"a\":".utf8)),
            ("array", Array("[]".utf8)), ("string", Array("\"text\"".utf8)), ("number", Array("42".utf8)),
            ("null", Array("null".utf8)), ("bool", Array("true".utf8)), ("emptyObject", Array("{}".utf8)),
            ("deepArray10000", Array(deepArray.utf8)), ("deepObject10000", Array(deepObject.utf8)),
            ("unclosed100000", Array(unclosed.utf8)), ("deepArray65", Array(nestedJustOver.utf8)),
            ("hugeString", Array("\"\(hugeString)\"".utf8)), ("invalidUTF8", [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D]),
            ("nul", [0x7B, 0x00, 0x7D]), ("trailingGarbage", Array("{}garbage".utf8)),
            ("bom", [0xEF, 0xBB, 0xBF] + Array("{}".utf8)), ("hugeNumber", Array("{\"a\":1e999999}".utf8)),
            ("manyKeys", Array(("{" + (0..<5_000).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + "}").utf8)),
        ]
    }

    /// Path parameter replacements (already percent-encoded where needed).
    static let pathGarbage: [(String, String)] = [
        ("nul", "%00"), ("dotdot", ".."), ("encodedDotdot", "%2E%2E"), ("long", String(repeating: "a", count: 10_000)),
        ("emoji", "%F0%9F%98%80"), ("badEscape", "%ZZ"), ("badUTF8", "%C3%28"), ("sql", "'%20OR%201=1--"),
        ("minus", "-1"), ("newline", "%0A"), ("rawUnicode", "ünï"), ("control", "%01%7F"), ("slashEncoded", "a%2Fb"),
        ("percentNul", "x%00y"),
    ]

    /// Query strings every GET route must survive.
    static let queryGarbage: [String] = [
        "limit=-1", "limit=0", "limit=1e9", "limit=abc", "limit=99999999999999999999999", "limit=%00", "limit=1.5",
        "cursor=garbage", "cursor=%00", "cursor=cursor_aud_99999999999999999999", "cursor=cursor_aud_-1",
        "cursor=cursor_key_%00", "cursor=" + String(repeating: "c", count: 10_000),
        "since=notadate", "since=2026-13-45T99:99:99Z", "since=%00", "start_date=garbage", "end_date=2026-02-30",
        "start_date=2027-01-01&end_date=2026-01-01", "from=x", "to=%00", "from=99999999999999999999", "status=%00",
        "type=%F0%9F%98%80", "event=%00", "principalId=%00", "merchant_id=%00", "merchant_id=" + String(repeating: "m", count: 10_000),
        "format=xml", "terminalId=%00", "terminal_id=%00", "limit=1&limit=2", "%ZZ=1", "limit=%ZZ", "user_id=%00",
        "event_type=%00", "keyVersion=-1", "keyVersion=99999999999999999999", "apiKey=%00", "=&&==&", "expand=%C3%28",
    ]
}

extension JSONValue {
    /// The value with `path` (object keys, array indexes as Int) set to `value`, or removed when nil.
    func setting(_ path: [PathKey], to value: JSONValue?) -> JSONValue {
        guard let first = path.first else { return value ?? .null }
        let rest = Array(path.dropFirst())
        switch (self, first) {
        case (.object(var object), .key(let key)):
            if rest.isEmpty, value == nil { object.removeValue(forKey: key) } else {
                object[key] = (object[key] ?? .null).setting(rest, to: value)
            }
            return .object(object)
        case (.array(var array), .index(let index)) where index < array.count:
            array[index] = array[index].setting(rest, to: value ?? .null)
            return .array(array)
        default:
            return self
        }
    }

    /// Every leaf and container path, up to `depth` levels.
    func paths(depth: Int = 3) -> [[PathKey]] {
        guard depth > 0 else { return [] }
        switch self {
        case .object(let object):
            return object.keys.sorted().flatMap { key in [[PathKey.key(key)]] + object[key]!.paths(depth: depth - 1).map { [.key(key)] + $0 } }
        case .array(let array):
            return array.indices.prefix(2).flatMap { index in [[PathKey.index(index)]] + array[index].paths(depth: depth - 1).map { [.index(index)] + $0 } }
        default:
            return []
        }
    }
}

enum PathKey: Sendable, CustomStringConvertible {
    case key(String)
    case index(Int)

    var description: String {
        switch self {
        case .key(let key): return key
        case .index(let index): return "[\(index)]"
        }
    }
}
