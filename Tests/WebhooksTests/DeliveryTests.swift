import AtlasTestSupport
import Bootstrap
import Foundation
import HTTPClient
import Kernel
import Postgres
import Testing
@testable import Webhooks

/// Real deliveries to a local receiver (Python's http.server): the event log → fan-out → worker path,
/// signatures checked by the `standardwebhooks` library, retries under the manual clock, 410, 429,
/// timeouts, refused connections, redirects, replay, the attempt log, and tenant and mode isolation.
@Suite(.serialized) struct DeliveryTests {
    @Test func endToEndDeliveryVerifiedByStandardWebhooks() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let receiver = try WebhookReceiver()
        let key = try await fixture.key()
        let (endpointId, secret) = try await fixture.createEndpoint(url: receiver.url("/ok"), key: key)
        let first = fixture.event(resource: "txn_A")
        let second = fixture.event("transaction.refunded", resource: "txn_A")
        let received = try await fixture.running {
            try await fixture.append([first])
            try await fixture.append([second])
            return try await receiver.waitForRequests(2)
        }
        #expect(received.count == 2)
        // Two deliveries to one endpoint may be in flight together: find each by its event id.
        let request = try #require(received.first { $0.header("Atlas-Event-Id") == first.id.rawValue })
        let secondRequest = try #require(received.first { $0.header("Atlas-Event-Id") == second.id.rawValue })
        #expect(request.header("Atlas-Event-Id") == first.id.rawValue)
        #expect(request.header("Atlas-Event-Type") == "transaction.settled")
        #expect(request.header("Atlas-Delivery") == "1")
        #expect(request.header("Atlas-Webhook-Id") == endpointId)
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("webhook-id") == first.id.rawValue)
        let body = try JSONDecoder().decode(JSONValue.self, from: Data(request.body))
        #expect(body["type"] == "transaction.settled" && body["livemode"] == false && body["sequence"] == 1)
        #expect(body["data"] == ["amount": 1250, "currency": "NZD"])
        let secondBody = try JSONDecoder().decode(JSONValue.self, from: Data(secondRequest.body))
        #expect(secondBody["sequence"] == 2 && secondBody["id"]?.stringValue == second.id.rawValue)
        let verified = try receiver.verifyAll(secret: secret)
        #expect(verified.hasPrefix("PASS 2"), "\(verified)")
        // The attempt log, per endpoint and per event.
        let attempts = await fixture.send(.get, "/v1/webhook-endpoints/\(endpointId)/attempts", key: key)
        guard case .array(let rows)? = attempts.bodyJSON?["data"] else {
            Issue.record("attempts: \(attempts.bodyText)")
            return
        }
        #expect(rows.count == 2 && rows.allSatisfy { $0["statusCode"] == 200 && $0["outcome"] == "succeeded" })
        let perEvent = await fixture.send(.get, "/v1/webhook-events/\(first.id.rawValue)/attempts", key: key)
        #expect(perEvent.status == 200)
        if case .array(let eventRows)? = perEvent.bodyJSON?["data"] {
            #expect(eventRows.count == 1 && eventRows[0]["responseBody"] == "ok" && eventRows[0]["attempt"] == 1)
        } else {
            Issue.record("per-event attempts: \(perEvent.bodyText)")
        }
    }

    @Test func rotationSignsWithBothSecretsForADay() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let receiver = try WebhookReceiver()
        let key = try await fixture.key()
        let (endpointId, oldSecret) = try await fixture.createEndpoint(url: receiver.url("/ok"), key: key)
        let rotated = await fixture.send(.post, "/v1/webhook-endpoints/\(endpointId)/rotate-secret", key: key)
        let newSecret = try #require(rotated.bodyJSON?["secret"]?.stringValue)
        try await fixture.fanOut([fixture.event()])
        #expect(try await fixture.deliverDue(fixture.worker) == 1)
        #expect(try receiver.verifyAll(secret: oldSecret).hasPrefix("PASS 1"))
        #expect(try receiver.verifyAll(secret: newSecret).hasPrefix("PASS 1"))
        let signature = try #require(try receiver.requests().first?.header("Atlas-Signature"))
        #expect(signature.split(separator: ",").filter { $0.hasPrefix("v1=") }.count == 2)
    }

    @Test func sevenAttemptsUnderTheManualClockThenDeadLetterAndReplay() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let receiver = try WebhookReceiver()
        let key = try await fixture.key()
        let (endpointId, _) = try await fixture.createEndpoint(url: receiver.url("/fail"), key: key)
        let event = fixture.event()
        try await fixture.fanOut([event])
        try await fixture.fanOut([event])  // a redelivered batch applies once
        let worker = fixture.worker
        for attempt in 1...7 {
            #expect(try await fixture.deliverDue(worker) == 1)
            #expect(try await fixture.deliverDue(worker) == 0, "nothing is due before the next retry")
            let row = try #require(try await fixture.deliveryRow(endpointId: endpointId))
            #expect(try row.decode("attempts", as: Int.self) == attempt)
            if attempt < 7 {
                #expect(try row.decode("status", as: String.self) == "pending")
                let next: Date = try row.decode("next_attempt_at")
                let wait = next.timeIntervalSince(fixture.clock.now())
                let base = RetrySchedule().baseDelaySeconds(afterAttempt: attempt)
                #expect(wait >= base * 0.9 - 0.01 && wait <= base * 1.1 + 0.01)
                fixture.clock.advance(seconds: wait + 0.001)
            } else {
                #expect(try row.decode("status", as: String.self) == "dead")
                #expect(try row.decode("last_status_code", as: Int.self) == 500)
            }
        }
        let received = try receiver.requests()
        #expect(received.map { $0.header("Atlas-Delivery") } == (1...7).map { String($0) })
        #expect(Set(received.compactMap { $0.header("Atlas-Event-Id") }) == [event.id.rawValue])
        // The dead letter, then a replay: the same event id, the attempt counter from 1.
        let dead = await fixture.send(.get, "/v1/webhook-endpoints/\(endpointId)/deliveries?status=dead", key: key)
        #expect(dead.status == 200)
        if case .array(let rows)? = dead.bodyJSON?["data"] { #expect(rows.count == 1) } else { Issue.record("dead letter: \(dead.bodyText)") }
        let replay = await fixture.send(.post, "/v1/webhook-endpoints/\(endpointId)/replay", key: key, json: ["deadLettered": true])
        #expect(replay.status == 202 && replay.bodyJSON?["replayed"] == 1)
        #expect(try await fixture.deliverDue(worker) == 1)
        let again = try receiver.requests().last
        #expect(again?.header("Atlas-Event-Id") == event.id.rawValue && again?.header("Atlas-Delivery") == "1")
        // Replay of one event, and of a time range.
        let one = await fixture.send(.post, "/v1/webhook-endpoints/\(endpointId)/replay", key: key,
                                     json: ["eventId": .string(event.id.rawValue)])
        #expect(one.status == 202 && one.bodyJSON?["replayed"] == 1)
        let range = await fixture.send(.post, "/v1/webhook-endpoints/\(endpointId)/replay", key: key, json: [
            "since": .string(Timestamp.iso8601(fixture.clock.now().addingTimeInterval(-86_400 * 3))),
        ])
        #expect(range.status == 202 && range.bodyJSON?["replayed"] == 1)
        let unknown = await fixture.send(.post, "/v1/webhook-endpoints/\(endpointId)/replay", key: key,
                                         json: ["eventId": .string(TypedID.generate(prefix: .event).rawValue)])
        #expect(unknown.status == 404)
        let ambiguous = await fixture.send(.post, "/v1/webhook-endpoints/\(endpointId)/replay", key: key,
                                           json: ["eventId": .string(event.id.rawValue), "deadLettered": true])
        #expect(ambiguous.status == 400 && ambiguous.bodyJSON?["error"] == "INVALID_REQUEST")
    }

    @Test func goneDisablesTheEndpointAndSaysSo() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let receiver = try WebhookReceiver()
        let key = try await fixture.key()
        let (endpointId, _) = try await fixture.createEndpoint(url: receiver.url("/gone"), key: key)
        try await fixture.fanOut([fixture.event(resource: "txn_1"), fixture.event(resource: "txn_2")])
        let worker = fixture.worker
        #expect(try await fixture.deliverDue(worker) == 2)
        let endpoint = await fixture.send(.get, "/v1/webhook-endpoints/\(endpointId)", key: key)
        #expect(endpoint.bodyJSON?["status"] == "disabled" && endpoint.bodyJSON?["disabledReason"] == "gone")
        let events = try await fixture.database.query(
            "SELECT event_type FROM event_log WHERE event_type = 'webhook_endpoint.disabled' AND resource_id = \(endpointId)")
        #expect(events.count == 1)
        fixture.clock.advance(seconds: 86_400)
        #expect(try await fixture.deliverDue(worker) == 0, "a disabled endpoint receives nothing")
    }

    @Test func tooManyRequestsHonoursRetryAfter() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let receiver = try WebhookReceiver()
        let (endpointId, _) = try await fixture.createEndpoint(url: receiver.url("/busy"), key: try await fixture.key())
        try await fixture.fanOut([fixture.event()])
        let before = fixture.clock.now()
        #expect(try await fixture.deliverDue(fixture.worker) == 1)
        let row = try #require(try await fixture.deliveryRow(endpointId: endpointId))
        let next: Date = try row.decode("next_attempt_at")
        #expect(abs(next.timeIntervalSince(before) - 120) < 0.01)
        #expect(try row.decode("last_status_code", as: Int.self) == 429)
    }

    @Test func timeoutsRefusalsAndRedirectsAreFailedAttempts() async throws {
        let fixture = try await WebhooksFixture.make(timeoutSeconds: 1)
        defer { fixture.close() }
        let receiver = try WebhookReceiver()
        let closedPort = try WebhookReceiver.closedPort()
        let key = try await fixture.key()
        let slow = try await fixture.createEndpoint(url: receiver.url("/slow?s=3"), key: key).id
        let refused = try await fixture.createEndpoint(url: "http://127.0.0.1:\(closedPort)/x", key: key).id
        let redirect = try await fixture.createEndpoint(url: receiver.url("/redirect"), key: key).id
        try await fixture.fanOut([fixture.event()])
        #expect(try await fixture.deliverDue(fixture.worker) == 3)
        let slowRow = try #require(try await fixture.deliveryRow(endpointId: slow))
        #expect(try slowRow.decode("last_error", as: String.self) == "timed out")
        let refusedRow = try #require(try await fixture.deliveryRow(endpointId: refused))
        #expect(try refusedRow.decode("last_error", as: String.self) == "connection refused")
        let redirectRow = try #require(try await fixture.deliveryRow(endpointId: redirect))
        #expect(try redirectRow.decode("last_status_code", as: Int.self) == 302)
        for row in [slowRow, refusedRow, redirectRow] { #expect(try row.decode("status", as: String.self) == "pending") }
        // The redirect was not followed: the receiver saw only the two requests it was sent.
        #expect(try receiver.requests().map(\.path).sorted() == ["/redirect", "/slow"])
    }

    /// Saved with the loopback allowed, delivered by a worker whose client no longer allows it: the
    /// guard runs again at connect (as after a DNS change).
    @Test func theGuardRunsAgainAtConnect() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let receiver = try WebhookReceiver()
        let (endpointId, _) = try await fixture.createEndpoint(url: receiver.url("/ok"), key: try await fixture.key())
        try await fixture.fanOut([fixture.event()])
        let guarded = try HTTPClient(configuration: HTTPClientConfiguration())  // production: no allow-list
        let worker = fixture.module.deliveryWorker(services: fixture.application.services, client: guarded)
        #expect(try await fixture.deliverDue(worker) == 1)
        let row = try #require(try await fixture.deliveryRow(endpointId: endpointId))
        #expect((try row.decode("last_error", as: String.self)).hasPrefix("destination forbidden"))
        #expect(try receiver.requests().isEmpty)
    }

    @Test func endpointsReceiveOnlyTheirMerchantsAndModesEventsOfTheirTypes() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let receiver = try WebhookReceiver()
        let mine = try await fixture.createEndpoint(url: receiver.url("/ok?who=mine"), key: try await fixture.key()).id
        let refundsOnly = try await fixture.createEndpoint(url: receiver.url("/ok?who=refunds"), key: try await fixture.key(),
                                                           eventTypes: ["transaction.refunded"]).id
        let live = try await fixture.createEndpoint(url: receiver.url("/ok?who=live", scheme: "https"),
                                                    key: try await fixture.key(mode: .live)).id
        let other = try await fixture.createEndpoint(url: receiver.url("/ok?who=other"),
                                                     key: try await fixture.key(merchant: fixture.otherMerchantId)).id
        // The fan-out consumer's handler and the worker, stepped (the log-driven path is endToEnd's).
        try await fixture.fanOut([fixture.event(), fixture.event(mode: .live, merchant: fixture.otherMerchantId)])
        #expect(try await fixture.deliverDue(fixture.worker) == 1)
        let received = try receiver.requests()
        #expect(received.map(\.query) == ["who=mine"])
        for endpoint in [refundsOnly, live, other] { #expect(try await fixture.deliveryRow(endpointId: endpoint) == nil) }
        #expect(try await fixture.deliveryRow(endpointId: mine) != nil)
    }

    /// One batch of several tenants: only the events of tenants with an endpoint are recorded and sequenced; a
    /// batch of tenants without endpoints records nothing.
    @Test func eventsOfTenantsWithoutEndpointsAreNotRecorded() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let receiver = try WebhookReceiver()
        _ = try await fixture.createEndpoint(url: receiver.url("/ok"), key: try await fixture.key())
        try await fixture.fanOut([fixture.event(merchant: "mch_without_endpoints"), fixture.event(resource: "txn_mine"),
                                  fixture.event(mode: .live), fixture.event(resource: "txn_mine_2")])
        try await fixture.fanOut([fixture.event(resource: "txn_other", merchant: "mch_without_endpoints")])
        let recorded = try await fixture.database.query("SELECT resource_id, sequence FROM webhooks_events ORDER BY resource_id")
        #expect(try recorded.map { "\(try $0.decode("resource_id", as: String.self)):\(try $0.decode("sequence", as: Int64.self))" }
                == ["txn_mine:1", "txn_mine_2:1"])
        #expect(try await fixture.deliverDue(fixture.worker) == 2)
    }

    @Test func sendTestEvent() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let receiver = try WebhookReceiver()
        let key = try await fixture.key()
        let (endpointId, secret) = try await fixture.createEndpoint(url: receiver.url("/ok"), key: key,
                                                                    eventTypes: ["transaction.settled"])
        let sent = await fixture.send(.post, "/v1/webhook-endpoints/\(endpointId)/test", key: key)
        #expect(sent.status == 202 && sent.bodyJSON?["type"] == "webhook.test")
        #expect(try await fixture.deliverDue(fixture.worker) == 1)
        let request = try #require(try receiver.requests().first)
        #expect(request.header("Atlas-Event-Type") == "webhook.test")
        #expect(request.header("Atlas-Event-Id") == sent.bodyJSON?["eventId"]?.stringValue)
        #expect(try receiver.verifyAll(secret: secret).hasPrefix("PASS 1"))
    }
}

