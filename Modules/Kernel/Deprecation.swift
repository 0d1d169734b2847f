public import Foundation

/// A route or API version that is going away: RFC 9745 `Deprecation: @<unix seconds>` and RFC 8594
/// `Sunset: <IMF-fixdate>` on every answer, so clients see the notice (spec §9: 12 months) in their logs.
public struct DeprecationNotice: Sendable, Hashable {
    public let deprecatedAt: Date
    public let sunsetAt: Date

    public init(deprecatedAt: Date, sunsetAt: Date) {
        precondition(sunsetAt > deprecatedAt, "a sunset follows its deprecation")
        self.deprecatedAt = deprecatedAt
        self.sunsetAt = sunsetAt
    }

    public var headers: [(String, String)] {
        [("Deprecation", "@\(Int64(deprecatedAt.timeIntervalSince1970))"), ("Sunset", Self.imfFixdate(sunsetAt))]
    }

    /// RFC 9110 §5.6.7: `Sun, 06 Nov 1994 08:49:37 GMT`.
    public static func imfFixdate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }
}

/// Marks a route deprecated: the notice's headers on every answer (errors too) and `deprecated: true` in
/// its API document. Put it first in the route's middleware so even a refused request carries the notice.
public struct DeprecatedRoute: Middleware, RouteSchemaContributor {
    public let notice: DeprecationNotice

    public init(_ notice: DeprecationNotice) { self.notice = notice }

    public func contribute(to schema: inout RouteSchema) { schema.deprecation = notice }

    public func respond(to request: Request, context: RequestContext, next: Handler) async throws -> Response {
        do {
            var response = try await next(request, context)
            for (name, value) in notice.headers { response.headers.set(name, value) }
            return response
        } catch let error as AtlasError {
            throw ContextualError(error, responseHeaders: notice.headers)
        } catch let error as ContextualError {
            throw ContextualError(error.error, responseHeaders: error.responseHeaders + notice.headers)
        }
    }
}
