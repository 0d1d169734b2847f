import AtlasTestSupport
import Foundation
import Kernel
import Synchronization
import Testing
@testable import Transactions

/// `/v1/session` in process: the upgrade's session runs against a scripted connection (the socket side is
/// HTTPServerTests' business; authentication at upgrade is AuthTests').
@Suite struct SessionTests {
    static let upgradeHeaders: HTTPHeaders = ["Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                                              "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="]

    /// Opens a session with `?apiKey=` and runs it over `messages`; returns the events it sent after the
    /// connection's first, `session`.
    static func session(_ fixture: TransactionFixture, key: String, _ messages: [JSONValue]) async throws -> [JSONValue] {
        let response = await fixture.client.send(.get, "/v1/session?apiKey=\(key)", headers: upgradeHeaders)
        guard response.status == 101, let upgrade = response.webSocket else {
            throw TestFailure("no upgrade: \(response.status) \(response.bodyText)")
        }
        let connection = ScriptedConnection(messages.map { .text(String(decoding: $0.serialized(), as: UTF8.self)) })
        await upgrade.run(connection)
        guard connection.events.first?["event"] == "session" else { throw TestFailure("no session event: \(connection.events)") }
        return Array(connection.events.dropFirst())
    }

    @Test func a47SaleStreamsItsLifecycleThenTheResult() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let events = try await Self.session(fixture, key: fixture.testKey, [["action": "sale", "amount": 2500, "currency": "NZD"]])
        #expect(events.map { $0["event"]?.stringValue } == ["waiting_for_card", "card_detected", "processing", "result"])
        let id = try #require(events.last?["transactionId"]?.stringValue)
        #expect(id.hasPrefix("txn_"))
        #expect(events.allSatisfy { $0["transactionId"]?.stringValue == id })
        #expect(events.last?["transaction"]?["status"] == "APPROVED")
        // One engine: the sale is the HTTP route's row.
        let stored = await fixture.get("/v1/transaction/\(id)", key: fixture.testKey)
        #expect(stored.status == 200)
        #expect(stored.bodyJSON?["amount"] == 2500)
    }

    @Test func a48CompleteOrAbortWithoutTransactionIdIsAnErrorEvent() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let events = try await Self.session(fixture, key: fixture.testKey, [["action": "complete"], ["action": "abort"]])
        #expect(events.count == 2)
        for event in events {
            #expect(event["event"] == "error")
            #expect(event["status"] == 400)
            #expect(event["error"]?["error"] == "MISSING_FIELD")
            #expect(event["error"]?["details"]?["field"] == "transactionId")
        }
    }

    @Test func invalidSalesAndMessagesAreErrorEventsAndTheSessionGoesOn() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let events = try await Self.session(fixture, key: fixture.testKey, [
            ["action": "sale", "amount": -100, "currency": "NZD"], ["amount": 1], ["action": "refund"],
            ["action": "sale", "amount": 100, "currency": "NZD"],
        ])
        // Actions run concurrently: the three errors and the sale's events may interleave.
        let errors = events.filter { $0["event"] == "error" }
        #expect(errors.count == 3)
        #expect(errors.contains { $0["error"]?["details"]?["field"] == "amount" })
        #expect(errors.contains { $0["error"]?["error"] == "MISSING_FIELD" })
        #expect(errors.allSatisfy { $0["status"] == 400 })
        #expect(events.last?["event"] == "result")
    }

    @Test func readOnlyKeysCannotOpenASession() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let response = await fixture.client.send(.get, "/v1/session?apiKey=\(fixture.readOnlyKey)", headers: Self.upgradeHeaders)
        #expect(response.status == 403)
        #expect(response.webSocket == nil)
    }
}

/// Hands the session its messages, then ends; records the JSON events it sends.
final class ScriptedConnection: WebSocketConnection {
    private let state: Mutex<(inbox: [WebSocketMessage], sent: [JSONValue])>

    init(_ messages: [WebSocketMessage]) { state = Mutex((messages, [])) }

    var events: [JSONValue] { state.withLock { $0.sent } }

    func receive() async -> WebSocketMessage? {
        state.withLock { $0.inbox.isEmpty ? nil : $0.inbox.removeFirst() }
    }

    func send(_ message: WebSocketMessage) throws(WebSocketSendError) {
        guard case .text(let text) = message,
              let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else { return }
        state.withLock { $0.sent.append(value) }
    }

    func close(code: WebSocketCloseCode, reason: String) {}
    var peerCloseCode: WebSocketCloseCode? { nil }
}
