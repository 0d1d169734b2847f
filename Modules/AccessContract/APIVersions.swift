import Foundation
public import Kernel

/// A date-based API version (`Atlas-API-Version: 2026-04-09`, spec §9). Ordered by date, so behaviour is
/// gated with a comparison: `if context.apiVersion >= .v2026_04_09 { … }`.
public struct APIVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: String

    init(_ rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }
    /// ISO dates ("YYYY-MM-DD") order as text.
    public static func < (lhs: APIVersion, rhs: APIVersion) -> Bool { lhs.rawValue < rhs.rawValue }

    /// "Added Granular mode /v1/transaction/initiate and /v1/transaction/complete."
    public static let v2026_03_01 = APIVersion("2026-03-01")
    /// Settlement API, Idempotency-Key on every POST, webhooks, WebSocket resume tokens, `requestId` in errors.
    public static let v2026_04_09 = APIVersion("2026-04-09")
}

/// The Commerce API's versions: which exist, which is current, which are deprecated and when they end.
/// A request's version is its `Atlas-API-Version` header, else its merchant's stored default, else `current`;
/// the answer echoes it. A request naming a version that does not exist is refused (400), never guessed.
public enum CommerceAPIVersions {
    public static let header = "Atlas-API-Version"
    public static let released: [APIVersion] = [.v2026_03_01, .v2026_04_09]
    public static let current = APIVersion.v2026_04_09
    /// Spec §9: 12 months of notice. 2026-03-01 was superseded on 2026-04-09.
    public static let deprecations: [APIVersion: DeprecationNotice] = [
        .v2026_03_01: DeprecationNotice(deprecatedAt: day("2026-04-09"), sunsetAt: day("2027-04-09")),
    ]

    /// The released version named `text`, or nil.
    public static func version(_ text: String) -> APIVersion? { released.first { $0.rawValue == text } }

    /// The header's version; nil when absent; 400 when it names no released version.
    public static func requested(by request: Request) throws(AtlasError) -> APIVersion? {
        guard let text = request.headers[header] else { return nil }
        guard let version = version(text) else {
            throw AtlasError(kind: .invalidField, status: 400, code: "INVALID_API_VERSION",
                             message: "Unknown Atlas-API-Version; known versions: "
                                + released.map(\.rawValue).joined(separator: ", "),
                             details: ErrorDetails(field: header, value: .string(String(text.prefix(32))), constraint: "enum"))
        }
        return version
    }

    /// The answer's headers for `version`: the echo, and the deprecation notice when it has one.
    public static func responseHeaders(_ version: APIVersion) -> [(String, String)] {
        [(header, version.rawValue)] + (deprecations[version]?.headers ?? [])
    }

    private static func day(_ text: String) -> Date {
        guard let date = Timestamp.parseISO8601(text + "T00:00:00Z") else { preconditionFailure("a literal date") }
        return date
    }
}

private enum APIVersionSlot: RequestContextSlot {
    typealias Value = APIVersion
}

extension RequestContext {
    /// The Commerce API version this request runs under (set by the access middleware on `/v1` routes);
    /// nil on other surfaces.
    public var apiVersion: APIVersion? {
        get { value(APIVersionSlot.self) }
        set { setValue(newValue, for: APIVersionSlot.self) }
    }
}
