import AtlasTestSupport
import Foundation
import Kernel
import Testing
@testable import Transactions

/// `/functions/v1` webhooks `session.expired` and `session.canceled` (spec §11, AP-WH): the expiry sweep with the
/// manual clock, once across two sweeping instances, and the events' `{object}` payload the payments webhook flavour
/// delivers as `data`.
@Suite struct PaymentSessionExpiryTests {
    typealias Payments = PaymentsAPITests.Payments

    static func event(_ fixture: TransactionFixture, _ type: String, resource: String) async throws -> JSONValue? {
        guard let row = try await fixture.database.queryFirst("""
            SELECT payload::text AS payload FROM event_log WHERE event_type = \(type) AND resource_id = \(resource)
            """), let text = row.text("payload") else { return nil }
        return try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test func unpaidSessionsAndCheckoutsExpireWithOneEventEach() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let api = Payments(fixture: fixture)
        let now = fixture.clock.unixSeconds()
        let expiring = await api.send(.post, "/create-session", ["amount": 990, "currency": "USD",
                                                                 "expires_at": .int(now + 1_800)])
        #expect(expiring.status == 200)
        #expect(expiring.int("expires_at") == now + 1_800)
        #expect(expiring.json["cancellation_reason"] == .null)
        let sessionId = try #require(expiring.string("id"))
        let forever = await api.send(.post, "/create-session", ["amount": 990, "currency": "USD"])
        #expect(forever.json["expires_at"] == .null)
        let checkout = await api.send(.post, "/checkout-sessions", ["currency": "USD", "line_items": [["price": 100, "quantity": 3]]])
        let checkoutId = try #require(checkout.string("id"))
        let checkoutSession = try #require(checkout.string("payment_session"))
        #expect(await api.send(.get, "/sessions/\(checkoutSession)").int("expires_at") == checkout.int("expires_at"))
        let paid = await api.send(.post, "/create-session", ["amount": 990, "currency": "USD", "expires_at": .int(now + 1_800)])
        #expect(await api.confirm(paid.string("id") ?? "").string("status") == "succeeded")

        let expiry = fixture.transactions.sessionExpiry(services: fixture.services)
        #expect(try await expiry.sweep() == 0)  // nothing is due yet
        fixture.clock.advance(seconds: 1_801)
        // Past expires_at and before the sweep: not payable, not updatable.
        #expect(await api.confirm(sessionId).status == 409)
        #expect(await api.send(.patch, "/sessions/\(sessionId)", ["description": "late"]).status == 409)
        #expect(try await expiry.sweep() == 1)
        let expired = await api.send(.get, "/sessions/\(sessionId)")
        #expect(expired.string("status") == "canceled")
        #expect(expired.string("cancellation_reason") == "expired")
        let payload = try #require(try await Self.event(fixture, "session.expired", resource: sessionId))
        #expect(payload["object"]?["id"]?.stringValue == sessionId)
        #expect(payload["object"]?["object"] == "payment_session")
        #expect(payload["object"]?["status"] == "canceled")
        #expect(payload["object"]?["cancellation_reason"] == "expired")
        #expect(payload["object"]?["client_secret"] == nil)

        fixture.clock.advance(seconds: 24 * 3_600)
        #expect(try await expiry.sweep() == 1)  // the checkout; the paid and the never-expiring sessions stay
        let checkoutPayload = try #require(try await Self.event(fixture, "session.expired", resource: checkoutId))
        #expect(checkoutPayload["object"]?["object"] == "checkout.session")
        #expect(checkoutPayload["object"]?["status"] == "expired")
        #expect(checkoutPayload["object"]?["payment_session"]?.stringValue == checkoutSession)
        #expect(await api.send(.get, "/checkout-sessions/\(checkoutId)").string("status") == "expired")
        #expect(await api.send(.get, "/sessions/\(checkoutSession)").string("cancellation_reason") == "expired")
        #expect(await api.send(.get, "/sessions/\(forever.string("id") ?? "")").string("status") == "requires_payment_method")
        #expect(await api.send(.get, "/sessions/\(paid.string("id") ?? "")").string("status") == "succeeded")
        #expect(try await api.events("session.expired") == 2)
        #expect(try await expiry.sweep() == 0)
        #expect(try await api.events("session.expired") == 2)
    }

    @Test func twoInstancesSweepingTogetherExpireEachSessionOnce() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let api = Payments(fixture: fixture)
        let deadline = fixture.clock.unixSeconds() + 1_800
        var ids: [String] = []
        for _ in 0..<30 {
            ids.append(await api.send(.post, "/create-session", ["amount": 100, "currency": "USD",
                                                                 "expires_at": .int(deadline)]).string("id") ?? "")
        }
        fixture.clock.advance(seconds: 1_801)
        var first = fixture.transactions.sessionExpiry(services: fixture.services)
        let other = fixture.secondInstance()
        var second = other.module.sessionExpiry(services: other.services)
        first.limits.batchMax = 4
        second.limits.batchMax = 3
        let (a, b) = (first, second)
        async let fromFirst = a.sweep()
        async let fromSecond = b.sweep()
        let total = try await fromFirst + fromSecond
        #expect(total == 30)
        #expect(try await api.events("session.expired") == 30)
        #expect(try await fixture.count("""
            SELECT count(DISTINCT resource_id) AS n FROM event_log WHERE event_type = 'session.expired'
            """) == 30)
        #expect(try await fixture.count("""
            SELECT count(*) AS n FROM transactions_payment_sessions WHERE status = 'canceled' AND cancellation_reason = 'expired'
            """) == 30)
    }

    @Test func aConfirmationRacingTheSweepEitherPaysOrFindsItExpired() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let api = Payments(fixture: fixture)
        let created = await api.send(.post, "/create-session", ["amount": 100, "currency": "USD",
                                                                "expires_at": .int(fixture.clock.unixSeconds() + 1_800)])
        let id = try #require(created.string("id"))
        // The clock stops just before the deadline: a confirmation pays, and the sweep then skips the paid session.
        fixture.clock.advance(seconds: 1_799)
        #expect(await api.confirm(id).string("status") == "succeeded")
        fixture.clock.advance(seconds: 10)
        #expect(try await fixture.transactions.sessionExpiry(services: fixture.services).sweep() == 0)
        #expect(try await api.events("session.expired") == 0)
        #expect(try await api.events("payment.captured") == 1)
    }

    @Test func cancelAppendsSessionCanceledWithTheSession() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let api = Payments(fixture: fixture)
        let id = await api.session()
        let canceled = await api.send(.post, "/sessions/\(id)/cancel")
        #expect(canceled.status == 200)
        #expect(canceled.string("cancellation_reason") == "requested")
        let payload = try #require(try await Self.event(fixture, "session.canceled", resource: id))
        #expect(payload["object"]?["id"]?.stringValue == id)
        #expect(payload["object"]?["status"] == "canceled")
        #expect(payload["object"]?["cancellation_reason"] == "requested")
        // A canceled session does not expire later.
        fixture.clock.advance(seconds: 48 * 3_600)
        #expect(try await fixture.transactions.sessionExpiry(services: fixture.services).sweep() == 0)
        #expect(try await api.events("session.canceled") == 1)
    }

    @Test(arguments: [0, 1_799, 24 * 3_600 + 1, -5] as [Int64])
    func anExpiryOutsideTheWindowIsRefused(offsetSeconds: Int64) async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let refused = await Payments(fixture: fixture).send(.post, "/create-session", [
            "amount": 100, "currency": "USD", "expires_at": .int(fixture.clock.unixSeconds() + offsetSeconds),
        ])
        #expect(refused.status == 400)
        #expect(PaymentsAPITests.error(refused).type == "validation_error")
        #expect(PaymentsAPITests.error(refused).param == "expires_at")
        #expect(try await fixture.count("SELECT count(*) AS n FROM transactions_payment_sessions") == 0)
    }
}

/// ACH (`payment_method.type: bank_account`) with the §11 test data: routing 110000000, account 000123456789
/// succeeds, 000111111116 fails verification, 000111111113 is closed; every bad input is its documented 400.
@Suite struct PaymentsACHTests {
    typealias Payments = PaymentsAPITests.Payments

    static func bank(_ account: String, routing: String = "110000000") -> JSONValue {
        ["payment_method": ["type": "bank_account",
                            "bank_account": ["routing_number": .string(routing), "account_number": .string(account),
                                             "account_holder_name": "Jenny Rosen", "account_holder_type": "individual"]]]
    }

    static func achSession(_ api: Payments, capture: String = "automatic", key: String? = nil) async -> String {
        await api.send(.post, "/create-session", ["amount": 4990, "currency": "USD", "capture_method": .string(capture),
                                                  "payment_method_types": ["card", "bank_account"]], key: key).string("id") ?? ""
    }

    @Test func theSucceedingTestAccountPaysAndOnlyItsLastFourAreKept() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let api = Payments(fixture: fixture)
        let id = await Self.achSession(api)
        let paid = await api.send(.post, "/sessions/\(id)/confirm", Self.bank("000123456789"), idempotencyKey: "ach-1")
        #expect(paid.status == 200)
        #expect(paid.string("status") == "succeeded")
        #expect(paid.int("amount_received") == 4990)
        let payment = try #require(paid.json["latest_payment"])
        #expect(payment["payment_method_type"] == "bank_account")
        #expect(payment["bank_account"]?["last4"] == "6789")
        #expect(payment["bank_account"]?["routing_number"] == "110000000")
        #expect(payment["card"] == .null)
        #expect(!paid.bodyText.contains("000123456789"))
        #expect(try await api.events("payment.authorized") == 1)
        #expect(try await api.events("payment.captured") == 1)
        let stored = try await fixture.count("""
            SELECT count(*) AS n FROM transactions_payments WHERE bank_last4 = '6789' AND card_last4 IS NULL
              AND payment_method_type = 'bank_account'
            """)
        #expect(stored == 1)
        #expect(try await fixture.count("""
            SELECT count(*) AS n FROM event_log WHERE payload::text LIKE '%000123456789%'
            """) == 0)
        let replay = await api.send(.post, "/sessions/\(id)/confirm", Self.bank("000123456789"), idempotencyKey: "ach-1")
        #expect(replay.bodyText == paid.bodyText)
        #expect(try await fixture.count("SELECT count(*) AS n FROM transactions_payments") == 1)
    }

    @Test(arguments: [("000111111116", "bank_account_verification_failed"), ("000111111113", "account_closed")])
    func refusedTestAccountsAre402AndLeaveTheSessionOpen(account: String, code: String) async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let api = Payments(fixture: fixture)
        let id = await Self.achSession(api)
        let refused = await api.send(.post, "/sessions/\(id)/confirm", Self.bank(account))
        #expect(refused.status == 402)
        let error = PaymentsAPITests.error(refused)
        #expect(error.type == "card_error")
        #expect(error.code == code)
        #expect(error.decline == code)
        #expect(refused.json["error"]?["doc_url"]?.stringValue?.hasSuffix("/" + code) == true)
        #expect(refused.json["error"]?["request_id"]?.stringValue?.isEmpty == false)
        #expect(!refused.bodyText.contains(account))
        #expect(try await api.events("payment.failed") == 1)
        let session = await api.send(.get, "/sessions/\(id)")
        #expect(session.string("status") == "requires_payment_method")
        #expect(session.json["latest_payment"]?["status"] == "failed")
        #expect(session.json["latest_payment"]?["failure_code"]?.stringValue == code)
        // Another account then pays.
        #expect(await api.send(.post, "/sessions/\(id)/confirm", Self.bank("000123456789")).string("status") == "succeeded")
    }

    static let badBodies: [(body: JSONValue, code: String, param: String)] = [
        (["payment_method": ["type": "bank_account"]], "missing_required_param", "payment_method.bank_account"),
        (["payment_method": ["type": "bank_account", "bank_account": ["account_number": "000123456789"]]],
         "missing_required_param", "payment_method.bank_account.routing_number"),
        (["payment_method": ["type": "bank_account", "bank_account": ["routing_number": "110000000"]]],
         "missing_required_param", "payment_method.bank_account.account_number"),
        (bank("000123456789", routing: "110000001"), "invalid_routing_number", "payment_method.bank_account.routing_number"),
        (bank("000123456789", routing: "11000000"), "invalid_routing_number", "payment_method.bank_account.routing_number"),
        (bank("000123456789", routing: "11000000a"), "invalid_routing_number", "payment_method.bank_account.routing_number"),
        (bank("123"), "invalid_account_number", "payment_method.bank_account.account_number"),
        (bank("123456789012345678"), "invalid_account_number", "payment_method.bank_account.account_number"),
        (bank("00012345678x"), "invalid_account_number", "payment_method.bank_account.account_number"),
        (["payment_method": ["type": "bank_account", "bank_account": ["routing_number": "110000000",
                                                                      "account_number": "000123456789",
                                                                      "account_holder_type": "robot"]]],
         "invalid_param", "payment_method.bank_account.account_holder_type"),
        (["payment_method": ["type": "paypal"]], "invalid_param", "payment_method.type"),
    ]

    @Test(arguments: 0..<badBodies.count)
    func badBankAccountsAreValidationErrorsAndWriteNothing(index: Int) async throws {
        let (body, code, param) = Self.badBodies[index]
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let api = Payments(fixture: fixture)
        let refused = await api.send(.post, "/sessions/\(await Self.achSession(api))/confirm", body)
        #expect(refused.status == 400)
        #expect(PaymentsAPITests.error(refused).type == "validation_error")
        #expect(PaymentsAPITests.error(refused).code == code)
        #expect(PaymentsAPITests.error(refused).param == param)
        #expect(!refused.bodyText.contains("000123456789"))
        #expect(try await fixture.count("SELECT count(*) AS n FROM transactions_payments") == 0)
    }

    @Test func sessionsThatDoNotTakeBankAccountsManualCaptureAndLiveModeAreRefused() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let api = Payments(fixture: fixture)
        let cardOnly = await api.send(.post, "/sessions/\(await api.session())/confirm", Self.bank("000123456789"))
        #expect(cardOnly.status == 400)
        #expect(PaymentsAPITests.error(cardOnly).code == "invalid_param")
        #expect(PaymentsAPITests.error(cardOnly).param == "payment_method.type")
        let manual = await api.send(.post, "/sessions/\(await Self.achSession(api, capture: "manual"))/confirm",
                                    Self.bank("000123456789"))
        #expect(manual.status == 400)
        #expect(PaymentsAPITests.error(manual).param == "payment_method.type")
        let live = await api.send(.post, "/sessions/\(await Self.achSession(api, key: fixture.liveKey))/confirm",
                                  Self.bank("000123456789"), key: fixture.liveKey)
        #expect(live.status == 503)
        #expect(PaymentsAPITests.error(live).type == "api_error")
        #expect(PaymentsAPITests.error(live).code == "ach_not_configured")
        #expect(try await fixture.count("SELECT count(*) AS n FROM transactions_payments") == 0)
    }

    @Test func routingNumberCheckDigit() {
        #expect(PaymentMethodCheck.isValidRoutingNumber("110000000"))
        #expect(PaymentMethodCheck.isValidRoutingNumber("021000021"))
        #expect(!PaymentMethodCheck.isValidRoutingNumber("021000022"))
        #expect(!PaymentMethodCheck.isValidRoutingNumber("0210000210"))
        #expect(!PaymentMethodCheck.isValidRoutingNumber(""))
    }
}
