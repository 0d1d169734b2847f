import AtlasTestSupport
import Bootstrap
import Foundation
import Kernel
import Testing
@testable import Transactions

/// A `/functions/v1` authorization waiting for its manual capture (session `processing`) lapses after
/// `paymentAuthorizationWindowSeconds` (7 days): capture is refused (409 `session_unexpected_state`) and the session
/// sweep cancels it once, with `cancellation_reason: "expired"` and `session.expired` (docs/api/payments.md).
@Suite struct PaymentAuthorizationExpiryTests {
    typealias Payments = PaymentsAPITests.Payments
    static let window = Double(PreAuthExpiryLimits.windowSecondsDefault)

    /// A manual-capture session, confirmed (authorized): `processing`.
    static func authorized(_ api: Payments) async throws -> String {
        let id = await api.session(capture: "manual")
        let confirmed = await api.confirm(id)
        #expect(confirmed.string("status") == "processing")
        return id
    }

    static func expectExpiredCapture(_ response: Response, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == 409, "\(response.bodyText)", sourceLocation: sourceLocation)
        let error = PaymentsAPITests.error(response)
        #expect(error.type == "invalid_request_error", sourceLocation: sourceLocation)
        #expect(error.code == "session_unexpected_state", sourceLocation: sourceLocation)
    }

    @Test func theSweepCancelsALapsedAuthorizationOnceAndLeavesYoungerOnesAlone() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let api = Payments(fixture: fixture)
        let old = try await Self.authorized(api)
        fixture.clock.advance(seconds: 3_600)
        let young = try await Self.authorized(api)
        let expiry = fixture.transactions.sessionExpiry(services: fixture.services)

        fixture.clock.advance(seconds: Self.window - 3_601)  // one second before the old one's window ends
        #expect(try await expiry.sweep() == 0)
        #expect(await api.send(.get, "/sessions/\(old)").string("status") == "processing")

        // Past it (a second more: the database keeps microseconds, the clock finer).
        fixture.clock.advance(seconds: 2)
        #expect(try await expiry.sweep() == 1)
        let expired = await api.send(.get, "/sessions/\(old)")
        #expect(expired.string("status") == "canceled")
        #expect(expired.string("cancellation_reason") == "expired")
        #expect(expired.json["latest_payment"]?["status"] == "canceled")
        #expect(expired.int("amount_received") == 0)
        let payload = try #require(try await PaymentSessionExpiryTests.event(fixture, "session.expired", resource: old))
        #expect(payload["object"]?["id"]?.stringValue == old)
        #expect(payload["object"]?["status"] == "canceled")
        #expect(payload["object"]?["cancellation_reason"] == "expired")
        #expect(payload["object"]?["latest_payment"]?["status"] == "canceled")
        // Once: later sweeps find nothing more of it; the younger authorization is untouched and still captures.
        #expect(try await expiry.sweep() == 0)
        #expect(try await api.events("session.expired") == 1)
        #expect(await api.send(.get, "/sessions/\(young)").string("status") == "processing")
        Self.expectExpiredCapture(await api.send(.post, "/sessions/\(old)/capture"))
        let captured = await api.send(.post, "/sessions/\(young)/capture")
        #expect(captured.status == 200, "\(captured.bodyText)")
        #expect(captured.string("status") == "succeeded")
        #expect(try await api.events("payment.captured") == 1)
    }

    @Test func captureAfterTheWindowIsRefusedEvenBeforeTheSweep() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let api = Payments(fixture: fixture)
        let id = try await Self.authorized(api)
        fixture.clock.advance(seconds: Self.window + 1)
        Self.expectExpiredCapture(await api.send(.post, "/sessions/\(id)/capture", ["amount_to_capture": 100]))
        // Refused, not captured: the session still waits for the sweep, which cancels it.
        #expect(await api.send(.get, "/sessions/\(id)").string("status") == "processing")
        #expect(try await api.events("payment.captured") == 0)
        #expect(try await fixture.transactions.sessionExpiry(services: fixture.services).sweep() == 1)
        Self.expectExpiredCapture(await api.send(.post, "/sessions/\(id)/capture"))
    }

    @Test func captureRacingTheSweepHasExactlyOneWinner() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let api = Payments(fixture: fixture)
        var authorized: [String] = []
        for _ in 0..<10 { authorized.append(try await Self.authorized(api)) }
        let ids = authorized
        fixture.clock.advance(seconds: Self.window - 1)
        let first = fixture.transactions.sessionExpiry(services: fixture.services)
        let other = fixture.secondInstance()
        let second = other.module.sessionExpiry(services: other.services)
        // Captures start inside the window while the clock crosses it and two instances sweep.
        let captures = Task {
            await withTaskGroup(of: Response.self) { group in
                for id in ids { group.addTask { await api.send(.post, "/sessions/\(id)/capture") } }
                var responses: [Response] = []
                for await response in group { responses.append(response) }
                return responses
            }
        }
        fixture.clock.advance(seconds: 2)
        async let fromFirst = first.sweep()
        async let fromSecond = second.sweep()
        let swept = try await fromFirst + fromSecond
        let responses = await captures.value
        let capturedCount = responses.filter { $0.status == 200 }.count
        for response in responses where response.status != 200 { Self.expectExpiredCapture(response) }
        // A session left behind by a capture that held its lock during the sweep: the next sweep takes it.
        let late = try await first.sweep()
        #expect(capturedCount + swept + late == ids.count)
        #expect(try await api.events("payment.captured") == Int64(capturedCount))
        #expect(try await api.events("session.expired") == Int64(swept + late))
        for id in ids {
            let session = await api.send(.get, "/sessions/\(id)")
            let captured = try await fixture.count("""
                SELECT count(*) AS n FROM event_log WHERE event_type = 'payment.captured' AND payload::text LIKE \("%" + id + "%")
                """)
            let expired = try await fixture.count("""
                SELECT count(*) AS n FROM event_log WHERE event_type = 'session.expired' AND resource_id = \(id)
                """)
            #expect(captured + expired == 1, "\(id): one winner")
            #expect(session.string("status") == (captured == 1 ? "succeeded" : "canceled"))
        }
    }

    /// `ATLAS_PAYMENT_AUTHORIZATION_EXPIRY_SECONDS`: 7 days by default, 60 s to 31 days, anything else stops start-up.
    @Test func theWindowComesFromTheEnvironment() throws {
        #expect(try AtlasConfiguration.fromEnvironment([:]).transactions.paymentAuthorizationWindowSeconds == 604_800)
        #expect(try AtlasConfiguration.fromEnvironment(["ATLAS_PAYMENT_AUTHORIZATION_EXPIRY_SECONDS": "86400"])
            .transactions.paymentAuthorizationWindowSeconds == 86_400)
        for bad in ["59", "2678401", "week"] {
            #expect(throws: (any Error).self) {
                _ = try AtlasConfiguration.fromEnvironment(["ATLAS_PAYMENT_AUTHORIZATION_EXPIRY_SECONDS": bad])
            }
        }
    }
}
