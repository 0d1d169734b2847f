import AtlasTestSupport
import Foundation
import Kernel
import Testing
@testable import Transactions

/// The `/functions/v1` payments API (spec §11) over HTTP: acceptance cases B1–B6, its own error envelope,
/// confirmation with the test cards, manual capture, cancel and checkout sessions.
@Suite struct PaymentsAPITests {
    static let visa = "4242424242424242"

    struct Payments {
        let fixture: TransactionFixture

        func send(_ method: HTTPMethod, _ path: String, _ body: JSONValue? = nil, key: String? = nil,
                  idempotencyKey: String? = nil) async -> Response {
            var headers = HTTPHeaders()
            headers.add("Authorization", "Bearer \(key ?? fixture.testKey)")
            if let idempotencyKey { headers.add("Idempotency-Key", idempotencyKey) }
            if let body { return await fixture.client.send(method, "/functions/v1" + path, headers: headers, json: body) }
            return await fixture.client.send(method, "/functions/v1" + path, headers: headers)
        }

        func session(_ amount: Int64 = 4990, capture: String = "automatic", key: String? = nil) async -> String {
            let created = await send(.post, "/create-session", ["amount": .int(amount), "currency": "USD",
                                                                "capture_method": .string(capture)], key: key)
            return created.string("id") ?? ""
        }

        func confirm(_ id: String, card number: String = PaymentsAPITests.visa, cvc: String = "123", expiryYear: Int64 = 2099,
                     idempotencyKey: String? = nil) async -> Response {
            await send(.post, "/sessions/\(id)/confirm", Self.card(number, cvc: cvc, expiryYear: expiryYear),
                       idempotencyKey: idempotencyKey)
        }

        static func card(_ number: String, cvc: String = "123", expiryYear: Int64 = 2099) -> JSONValue {
            ["payment_method": ["type": "card", "card": ["number": .string(number), "exp_month": 12,
                                                         "exp_year": .int(expiryYear), "cvc": .string(cvc)]]]
        }

        func events(_ type: String) async throws -> Int64 {
            try await fixture.count("SELECT count(*) AS n FROM event_log WHERE event_type = \(type)")
        }
    }

    static func error(_ response: Response) -> (type: String?, code: String?, param: String?, decline: String?) {
        let error = response.json["error"]
        return (error?["type"]?.stringValue, error?["code"]?.stringValue, error?["param"]?.stringValue,
                error?["decline_code"]?.stringValue)
    }

    @Test func acceptanceB1ToB6() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let api = Payments(fixture: fixture)
        // B1
        let created = await api.send(.post, "/create-session", ["amount": 4990, "currency": "USD"], idempotencyKey: "order_1")
        #expect(created.status == 200)
        #expect(created.string("object") == "payment_session")
        #expect(created.string("status") == "requires_payment_method")
        #expect(created.json["livemode"] == false)
        #expect(created.string("client_secret")?.hasPrefix("cs_") == true)
        #expect(created.json["latest_payment"] == .null)
        // B2: the headers on every answer, errors included.
        #expect(created.headers["X-RateLimit-Limit"] == "1000")
        #expect(created.headers["X-RateLimit-Remaining"] != nil)
        #expect(Int64(created.headers["X-RateLimit-Reset"] ?? "") ?? 0 > 1_700_000_000)
        // B3
        let conflict = await api.send(.post, "/create-session", ["amount": 5000, "currency": "USD"], idempotencyKey: "order_1")
        #expect(conflict.status == 409)
        #expect(Self.error(conflict).type == "idempotency_error")
        // B4
        let invalid = await api.send(.post, "/create-session", ["amount": 4990, "currency": "USD"], key: "sk_test_nope")
        #expect(invalid.status == 401)
        #expect(Self.error(invalid).type == "authentication_error")
        #expect(invalid.json["error"]?["request_id"]?.stringValue?.isEmpty == false)
        #expect(invalid.json["requestId"] == nil)
        #expect(invalid.headers["X-RateLimit-Limit"] == nil || invalid.status == 401)
        // B5
        let declined = await api.confirm(created.string("id") ?? "", card: "4000000000000002")
        #expect(declined.status == 402)
        #expect(Self.error(declined).type == "card_error")
        #expect(Self.error(declined).code == "card_declined")
        #expect(declined.json["error"]?["doc_url"]?.stringValue?.hasSuffix("/card_declined") == true)
        // B6
        let negative = await api.send(.post, "/create-session", ["amount": -1, "currency": "USD"])
        #expect(negative.status == 400)
        #expect(Self.error(negative).type == "validation_error")
        #expect(Self.error(negative).code == "invalid_amount")
        #expect(Self.error(negative).param == "amount")
        #expect(negative.json["error"]?["message"] == "Amount must be a positive integer")
        let missing = await api.send(.post, "/create-session", ["amount": 100])
        #expect(Self.error(missing).code == "missing_required_param")
        #expect(Self.error(missing).param == "currency")
        let badCurrency = await api.send(.post, "/create-session", ["amount": 100, "currency": "XXX"])
        #expect(Self.error(badCurrency).code == "invalid_currency")
    }

    /// B2: the 1,001st request within a minute is refused with the payments body.
    @Test func rateLimitIsAThousandAMinute() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let api = Payments(fixture: fixture)
        var last: Response?
        for _ in 0..<1_000 {
            last = await api.send(.get, "/sessions/sess_01JQXYZ0000000000000000000")
            #expect(last?.status == 404)
            if last?.status != 404 { break }
        }
        #expect(Self.error(try #require(last)).code == "resource_missing")
        let refused = await api.send(.get, "/sessions/sess_01JQXYZ0000000000000000000")
        #expect(refused.status == 429)
        #expect(Self.error(refused).type == "rate_limit_error")
        #expect(refused.headers["Retry-After"] != nil)
        #expect(refused.headers["X-RateLimit-Remaining"] == "0")
    }

    @Test func confirmCapturesAtOnceAndNeverKeepsTheCardNumber() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let api = Payments(fixture: fixture)
        let id = await api.session()
        let paid = await api.confirm(id)
        #expect(paid.status == 200)
        #expect(paid.string("status") == "succeeded")
        #expect(paid.int("amount_received") == 4990)
        let payment = paid.json["latest_payment"]
        #expect(payment?["status"] == "succeeded")
        #expect(payment?["amount_captured"] == 4990)
        #expect(payment?["card"]?["brand"] == "visa")
        #expect(payment?["card"]?["last4"] == "4242")
        #expect(payment?["id"]?.stringValue?.hasPrefix("pay_") == true)
        #expect(try await api.events("payment.authorized") == 1)
        #expect(try await api.events("payment.captured") == 1)
        #expect(!paid.bodyText.contains(Self.visa))
        let stored = try await fixture.count("""
            SELECT count(*) AS n FROM transactions_payments p JOIN event_log e ON e.resource_id = p.id
            WHERE row_to_json(p)::text LIKE '%' || \(Self.visa) || '%' OR e.payload::text LIKE '%' || \(Self.visa) || '%'
            """)
        #expect(stored == 0)
        let again = await api.confirm(id)
        #expect(again.status == 409)
        #expect(Self.error(again).code == "session_unexpected_state")
        #expect(Self.error(again).type == "invalid_request_error")
        let fetched = await api.send(.get, "/sessions/\(id)")
        #expect(fetched.string("status") == "succeeded")
        #expect(fetched.json["latest_payment"]?["id"] == payment?["id"])
    }

    @Test(arguments: [
        ("4000000000000002", "card_declined", "generic_decline"),
        ("4000000000009995", "card_declined", "insufficient_funds"),
        ("4000000000000069", "expired_card", "expired_card"),
        ("4000000000000127", "incorrect_cvc", "incorrect_cvc"),
        ("4000000000000119", "processing_error", "processing_error"),
        ("4000000000009987", "card_declined", "lost_card"),
        ("4000000000009979", "card_declined", "stolen_card"),
        ("4000000000003063", "card_declined", "authentication_failed"),
    ])
    func declinesLeaveTheSessionOpenAndReplay(card: String, code: String, declineCode: String) async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let api = Payments(fixture: fixture)
        let id = await api.session()
        let declined = await api.confirm(id, card: card, idempotencyKey: "try-1")
        #expect(declined.status == 402)
        #expect(Self.error(declined).type == "card_error")
        #expect(Self.error(declined).code == code)
        #expect(Self.error(declined).decline == declineCode)
        let replayed = await api.confirm(id, card: card, idempotencyKey: "try-1")
        #expect(replayed.status == 402)
        #expect(replayed.headers["Idempotent-Replayed"] == "true")
        #expect(try await fixture.count("SELECT count(*) AS n FROM transactions_payments WHERE status = 'failed'") == 1)
        #expect(try await api.events("payment.failed") == 1)
        let open = await api.send(.get, "/sessions/\(id)")
        #expect(open.string("status") == "requires_payment_method")
        #expect(open.json["latest_payment"]?["decline_code"]?.stringValue == declineCode)
        let paid = await api.confirm(id, idempotencyKey: "try-2")
        #expect(paid.string("status") == "succeeded")
    }

    @Test(arguments: ["4000000000003220", "4000000000003055", "5555555555554444", "378282246310005", "6011111111111117"])
    func testCardsThatSucceed(card: String) async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let api = Payments(fixture: fixture)
        let paid = await api.confirm(await api.session(), card: card, cvc: card.hasPrefix("37") ? "1234" : "123")
        #expect(paid.status == 200)
        #expect(paid.string("status") == "succeeded")
    }

    @Test func manualCapturePartialAndCancelReleases() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let api = Payments(fixture: fixture)
        let id = await api.session(capture: "manual")
        let authorized = await api.confirm(id)
        #expect(authorized.string("status") == "processing")
        #expect(authorized.json["latest_payment"]?["status"] == "authorized")
        #expect(authorized.int("amount_received") == 0)
        let tooMuch = await api.send(.post, "/sessions/\(id)/capture", ["amount_to_capture": 5000])
        #expect(tooMuch.status == 400)
        #expect(Self.error(tooMuch).param == "amount_to_capture")
        let captured = await api.send(.post, "/sessions/\(id)/capture", ["amount_to_capture": 3000])
        #expect(captured.status == 200)
        #expect(captured.string("status") == "succeeded")
        #expect(captured.int("amount_received") == 3000)
        let twice = await api.send(.post, "/sessions/\(id)/capture")
        #expect(twice.status == 409)
        #expect(try await api.events("payment.captured") == 1)
        let notAuthorized = await api.send(.post, "/sessions/\(await api.session())/capture")
        #expect(notAuthorized.status == 409)

        let other = await api.session(capture: "manual")
        _ = await api.confirm(other)
        let canceled = await api.send(.post, "/sessions/\(other)/cancel")
        #expect(canceled.status == 200)
        #expect(canceled.string("status") == "canceled")
        #expect(canceled.json["latest_payment"]?["status"] == "canceled")
        #expect(try await api.events("session.canceled") == 1)
        let afterCancel = await api.confirm(other)
        #expect(afterCancel.status == 409)
        let open = await api.send(.post, "/sessions/\(await api.session())/cancel")
        #expect(open.string("status") == "canceled")
        let paidCancel = await api.send(.post, "/sessions/\(id)/cancel")
        #expect(paidCancel.status == 409)
    }

    @Test func badPaymentMethodsAreValidationErrors() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let api = Payments(fixture: fixture)
        let id = await api.session()
        let none = await api.send(.post, "/sessions/\(id)/confirm", [:])
        #expect(Self.error(none).code == "missing_required_param")
        #expect(Self.error(none).param == "payment_method")
        let luhn = await api.confirm(id, card: "4242424242424241")
        #expect(luhn.status == 400)
        #expect(Self.error(luhn).code == "invalid_number")
        #expect(!luhn.bodyText.contains("4242424242424241"))
        let expired = await api.confirm(id, expiryYear: 2020)
        #expect(Self.error(expired).code == "invalid_expiry")
        #expect(Self.error(expired).type == "validation_error")
        let cvc = await api.confirm(id, cvc: "12")
        #expect(Self.error(cvc).code == "invalid_cvc")
        let bank = await api.send(.post, "/sessions/\(id)/confirm", ["payment_method": ["type": "bank_account"]])
        #expect(Self.error(bank).code == "invalid_param")
        let malformed = await fixture.client.send(.post, "/functions/v1/sessions/\(id)/confirm",
                                                  headers: ["Authorization": "Bearer \(fixture.testKey)",
                                                            "Content-Type": "application/json"], body: Array("{".utf8))
        #expect(malformed.status == 400)
        #expect(Self.error(malformed).type == "invalid_request_error")
        // Nothing was written by a refused request.
        #expect(try await fixture.count("SELECT count(*) AS n FROM transactions_payments") == 0)
        // Another mode's session does not exist; live mode without an acquirer is a retryable 503.
        let fromLive = await api.send(.post, "/sessions/\(id)/confirm", Payments.card(Self.visa), key: fixture.liveKey)
        #expect(fromLive.status == 503)
        let liveSession = await api.session(key: fixture.liveKey)
        let live = await api.send(.post, "/sessions/\(liveSession)/confirm", Payments.card(Self.visa), key: fixture.liveKey)
        #expect(live.status == 503)
        #expect(Self.error(live).type == "api_error")
        let crossMode = await api.send(.get, "/sessions/\(liveSession)")
        #expect(crossMode.status == 404)
        #expect(Self.error(crossMode).code == "resource_missing")
    }

    @Test func parallelConfirmationsChargeOnce() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let api = Payments(fixture: fixture)
        let id = await api.session()
        let statuses = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<6 { group.addTask { await api.confirm(id).status } }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 200 }.count == 1)
        #expect(statuses.filter { $0 == 409 }.count == 5)
        #expect(try await fixture.count("SELECT count(*) AS n FROM transactions_payments") == 1)
    }

    @Test func checkoutSessionIsPaidThroughItsPaymentSession() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let api = Payments(fixture: fixture)
        let created = await api.send(.post, "/checkout-sessions", [
            "mode": "payment", "currency": "USD", "success_url": "https://shop.example/ok",
            "line_items": [["price": 1500, "quantity": 2, "description": "Mug"], ["price": 250, "quantity": 1]],
            "customer_email": "a@example.com", "metadata": ["order": "7"],
        ], idempotencyKey: "checkout-1")
        #expect(created.status == 200)
        #expect(created.string("object") == "checkout.session")
        #expect(created.string("status") == "open")
        #expect(created.string("payment_status") == "unpaid")
        #expect(created.int("amount_total") == 3250)
        #expect(created.json["line_items"]?["object"] == "list")
        guard case .array(let items)? = created.json["line_items"]?["data"] else { Issue.record("no line items"); return }
        #expect(items.first?["amount_total"] == 3000)
        let id = try #require(created.string("id"))
        #expect(created.string("url")?.hasSuffix(id) == true)
        #expect(created.json["created"]?.intValue != nil)
        let replay = await api.send(.post, "/checkout-sessions", [
            "mode": "payment", "currency": "USD", "success_url": "https://shop.example/ok",
            "line_items": [["price": 1500, "quantity": 2, "description": "Mug"], ["price": 250, "quantity": 1]],
            "customer_email": "a@example.com", "metadata": ["order": "7"],
        ], idempotencyKey: "checkout-1")
        #expect(replay.string("id") == id)
        let session = try #require(created.string("payment_session"))
        #expect(await api.send(.get, "/sessions/\(session)").int("amount") == 3250)
        _ = await api.confirm(session)
        let paid = await api.send(.get, "/checkout-sessions/\(id)")
        #expect(paid.string("status") == "complete")
        #expect(paid.string("payment_status") == "paid")
        #expect(await api.send(.get, "/checkout-sessions/\(id)", key: fixture.liveKey).status == 404)

        let open = await api.send(.post, "/checkout-sessions", ["currency": "USD", "line_items": [["price": 100, "quantity": 1]]])
        fixture.clock.advance(seconds: 25 * 3_600)
        let expired = await api.send(.get, "/checkout-sessions/\(open.string("id") ?? "")")
        #expect(expired.string("status") == "expired")
        let late = await api.confirm(open.string("payment_session") ?? "")
        #expect(late.status == 409)
        #expect(late.json["error"]?["message"]?.stringValue?.contains("expired") == true)
    }

    static let badCheckouts: [(body: JSONValue, param: String)] = [
        (["currency": "USD", "mode": "subscription", "line_items": [["price": 100, "quantity": 1]]], "mode"),
        (["currency": "USD", "line_items": [["price": 100, "quantity": 1]], "discounts": [["coupon": "X"]]], "discounts"),
        (["currency": "USD", "line_items": [["price": "price_123", "quantity": 1]]], "line_items[0].price"),
        (["currency": "USD", "line_items": [["price": 100, "quantity": 0]]], "line_items[0].quantity"),
        (["currency": "USD", "line_items": [["price": 100]]], "line_items[0].quantity"),
        (["currency": "USD", "line_items": []], "line_items"),
        (["line_items": [["price": 100, "quantity": 1]]], "currency"),
        (["currency": "USD", "line_items": [["price": 100, "quantity": 1]], "expires_at": 1], "expires_at"),
        (["currency": "USD", "line_items": [["price": 9_000_000_000_000_000, "quantity": 9_999]]], "line_items[0].price"),
        (["currency": "USD", "line_items": [["price": -5, "quantity": 1]]], "line_items[0].price"),
    ]

    @Test(arguments: Self.badCheckouts)
    func badCheckoutsAreRefusedWhole(body: JSONValue, param: String) async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let refused = await Payments(fixture: fixture).send(.post, "/checkout-sessions", body)
        #expect(refused.status == 400)
        #expect(Self.error(refused).type == "validation_error")
        #expect(Self.error(refused).param == param)
        #expect(try await fixture.count("SELECT count(*) AS n FROM transactions_payment_sessions") == 0)
    }
}
