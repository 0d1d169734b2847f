import AtlasTestSupport
import Foundation
import Kernel
import Postgres
import Testing
@testable import Webhooks

/// An endpoint whose attempts all fail for `failingDisableAfterSeconds` is disabled with an event saying so;
/// any success ends the streak; enabling it again starts afresh. (410 disables at once: DeliveryTests.)
@Suite(.serialized) struct EndpointHealthTests {
    static let day: Double = 86_400

    func disabledEvents(_ fixture: WebhooksFixture, _ endpointId: String) async throws -> [JSONValue] {
        try await fixture.database.query("""
            SELECT payload::text AS payload FROM event_log
            WHERE event_type = 'webhook_endpoint.disabled' AND resource_id = \(endpointId)
            """).map { try JSONDecoder().decode(JSONValue.self, from: Data(try $0.decode("payload", as: String.self).utf8)) }
    }

    @Test func anEndpointFailingForTheSetNumberOfDaysIsDisabledWithAnEvent() async throws {
        let fixture = try await WebhooksFixture.make { $0.delivery.failingDisableAfterSeconds = 3 * Self.day }
        defer { fixture.close() }
        let receiver = try WebhookReceiver()
        let key = try await fixture.key()
        let (endpointId, _) = try await fixture.createEndpoint(url: receiver.url("/fail"), key: key)
        let worker = fixture.worker
        for resource in ["txn_1", "txn_2"] {
            try await fixture.fanOut([fixture.event(resource: resource)])
            #expect(try await fixture.deliverDue(worker) >= 1)
            fixture.clock.advance(seconds: 1.5 * Self.day)
        }
        let stillEnabled = await fixture.send(.get, "/v1/webhook-endpoints/\(endpointId)", key: key)
        #expect(stillEnabled.bodyJSON?["status"] == "enabled", "failing for 1.5 days only at the last attempt")
        #expect(try await disabledEvents(fixture, endpointId).isEmpty)
        try await fixture.fanOut([fixture.event(resource: "txn_3")])
        #expect(try await fixture.deliverDue(worker) >= 1)
        let disabled = await fixture.send(.get, "/v1/webhook-endpoints/\(endpointId)", key: key)
        #expect(disabled.bodyJSON?["status"] == "disabled" && disabled.bodyJSON?["disabledReason"] == "failing")
        let events = try await disabledEvents(fixture, endpointId)
        #expect(events.count == 1 && events.first?["object"]?["reason"] == "failing")
        // Enabled again, the streak starts afresh: one more failure does not disable it.
        let enabled = await fixture.send(.post, "/v1/webhook-endpoints/\(endpointId)/enable", key: key)
        #expect(enabled.bodyJSON?["status"] == "enabled")
        fixture.clock.advance(seconds: Self.day)
        #expect(try await fixture.deliverDue(worker) >= 1)
        let after = await fixture.send(.get, "/v1/webhook-endpoints/\(endpointId)", key: key)
        #expect(after.bodyJSON?["status"] == "enabled")
    }

    @Test func aSuccessEndsTheFailingStreak() async throws {
        let fixture = try await WebhooksFixture.make { $0.delivery.failingDisableAfterSeconds = 3 * Self.day }
        defer { fixture.close() }
        let receiver = try WebhookReceiver()
        let key = try await fixture.key()
        let (endpointId, _) = try await fixture.createEndpoint(url: receiver.url("/fail"), key: key)
        let worker = fixture.worker
        try await fixture.fanOut([fixture.event(resource: "txn_1")])
        #expect(try await fixture.deliverDue(worker) == 1)
        fixture.clock.advance(seconds: 2 * Self.day)
        _ = await fixture.send(.patch, "/v1/webhook-endpoints/\(endpointId)", key: key, json: ["url": .string(receiver.url("/ok"))])
        try await fixture.fanOut([fixture.event(resource: "txn_2")])
        #expect(try await fixture.deliverDue(worker) >= 1)
        let streak = try #require(try await fixture.database.queryFirst(
            "SELECT failing_since FROM webhooks_endpoints WHERE id = \(endpointId)"))
        #expect(try streak.decode("failing_since", as: Date?.self) == nil)
        _ = await fixture.send(.patch, "/v1/webhook-endpoints/\(endpointId)", key: key, json: ["url": .string(receiver.url("/fail"))])
        fixture.clock.advance(seconds: 2 * Self.day)
        try await fixture.fanOut([fixture.event(resource: "txn_3")])
        #expect(try await fixture.deliverDue(worker) >= 1)
        let endpoint = await fixture.send(.get, "/v1/webhook-endpoints/\(endpointId)", key: key)
        #expect(endpoint.bodyJSON?["status"] == "enabled", "4 days since the first failure, but a success in between")
        #expect(try await disabledEvents(fixture, endpointId).isEmpty)
    }
}
