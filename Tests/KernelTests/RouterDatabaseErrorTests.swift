import Foundation
import Testing
@testable import Kernel

/// A saturated or unreachable database (seen as 500s when the whole suite ran on a loaded machine:
/// pool timeouts, "statement cancelled before it started") is a retryable 503 in the group's error
/// format; other database errors stay opaque 500s.
@Suite struct RouterDatabaseErrorTests {
    private func status(throwing error: DatabaseError) async -> Response {
        var group = RouteGroup(prefix: "/v1")
        group.get("/thing") { _, _ in throw error }
        return await InProcessClient(Router(groups: [group])).send(.get, "/v1/thing")
    }

    @Test func transientDatabaseFailuresAre503WithRetryAfter() async {
        let transient = [DatabaseError(kind: .poolTimeout, message: "no database connection free within 5.0s"),
                         DatabaseError(kind: .connectionFailed, message: "refused"),
                         DatabaseError(kind: .poolClosed, message: "closed"),
                         DatabaseError(kind: .query, sqlState: "57014", message: "statement cancelled before it started"),
                         DatabaseError(kind: .query, sqlState: "57P01", message: "terminating connection"),
                         DatabaseError(kind: .query, sqlState: "53300", message: "too many connections")]
        for error in transient {
            let response = await status(throwing: error)
            #expect(response.status == 503, "\(error)")
            #expect(response.headers["Retry-After"] == "1")
            #expect(response.bodyJSON?["error"] == "SERVICE_UNAVAILABLE")
            #expect(response.bodyJSON?["message"] == "The database is temporarily unavailable; retry shortly")
        }
    }

    @Test func otherDatabaseErrorsStayOpaque500s() async {
        for error in [DatabaseError(kind: .query, sqlState: "22021", message: "invalid byte sequence"),
                      DatabaseError(kind: .uniqueViolation, sqlState: "23505", message: "duplicate"),
                      DatabaseError(kind: .decoding, message: "no column")] {
            let response = await status(throwing: error)
            #expect(response.status == 500, "\(error)")
            #expect(response.bodyJSON?["message"] == "Internal error")
        }
    }
}
