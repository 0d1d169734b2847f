import AtlasTestSupport
import Foundation
import Kernel
import Synchronization
import Testing
@testable import Transactions

/// `/v1/session` beyond one action at a time, in process over a connection the test drives: granular mode (A49),
/// an abort reaching a sale on the same session, resume after a disconnect mid-sale with no lost event,
/// refused resumes, and heartbeats.
@Suite struct SessionResumeTests {
    /// Upgrades `/v1/session` (with `query`) and runs the session on a `DrivenConnection` in the background.
    static func open(_ fixture: TransactionFixture, key: String, query: String = "") async throws
        -> (connection: DrivenConnection, done: Task<Void, Never>) {
        let response = await fixture.client.send(.get, "/v1/session?apiKey=\(key)\(query)", headers: SessionTests.upgradeHeaders)
        guard response.status == 101, let upgrade = response.webSocket else {
            throw TestFailure("no upgrade: \(response.status) \(response.bodyText)")
        }
        let connection = DrivenConnection()
        return (connection, Task { await upgrade.run(connection) })
    }

    @Test func a49GranularSaleWaitsForCompleteThenAnswersTheResult() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let (connection, done) = try await Self.open(fixture, key: fixture.testKey)
        connection.push(["action": "sale", "granular": true, "amount": 2500, "currency": "NZD"])
        let authorization = try await connection.next("online_authorization")
        let id = try #require(authorization["transactionId"]?.stringValue)
        #expect(authorization["emv"]?["applicationCryptogram"]?.stringValue?.count == 16)
        #expect(authorization["transaction"]?["status"] == "AWAITING_COMPLETION")
        #expect(connection.eventNames == ["session", "waiting_for_card", "card_detected", "processing", "online_authorization"])
        connection.push(["action": "complete", "transactionId": .string(id), "responseCode": "00", "authorizationCode": "A1B2C3"])
        let result = try await connection.next("result")
        #expect(result["transactionId"]?.stringValue == id)
        #expect(result["transaction"]?["status"] == "APPROVED")
        #expect(result["transaction"]?["authorizationCode"] == "A1B2C3")
        #expect(await fixture.get("/v1/transaction/\(id)").string("status") == "APPROVED")
        // Numbered per session, without a gap.
        let numbered = connection.events.compactMap { $0["seq"]?.intValue }
        #expect(numbered == Array(1...Int64(numbered.count)))
        connection.disconnect()
        await done.value
    }

    @Test func abortReachesASaleRunningOnTheSameSession() async throws {
        // The sale's acquirer takes 90 s; the abort must end it long before (30 s leaves room for a loaded machine).
        let fixture = try await TransactionFixture.make(slowDelayMilliseconds: 90_000)
        defer { fixture.close() }
        let (connection, done) = try await Self.open(fixture, key: fixture.terminalKey)
        connection.push(["action": "sale", "amount": 7001, "currency": "NZD"])
        let id = try #require(try await connection.next("processing")["transactionId"]?.stringValue)
        let started = ContinuousClock.now
        connection.push(["action": "abort", "transactionId": .string(id)])
        let results = try await connection.all("result", count: 2)
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(results.allSatisfy { $0["transactionId"]?.stringValue == id && $0["transaction"]?["status"] == "ABORTED" })
        connection.disconnect()
        await done.value
    }

    @Test func resumeAfterADisconnectMidSaleLosesNoEvent() async throws {
        let fixture = try await TransactionFixture.make(slowDelayMilliseconds: 1_500)
        defer { fixture.close() }
        let (first, firstDone) = try await Self.open(fixture, key: fixture.testKey)
        let token = try #require(try await first.next("session")["resumeToken"]?.stringValue)
        first.push(["action": "sale", "amount": 7001, "currency": "NZD"])
        let waiting = try await first.next("waiting_for_card")
        let id = try #require(waiting["transactionId"]?.stringValue)
        let seen = try #require(waiting["seq"]?.intValue)
        first.disconnect()
        await firstDone.value
        // The sale goes on without a connection.
        var status: String?
        for _ in 0..<500 where status != "APPROVED" {
            try await Task.sleep(for: .milliseconds(20))
            status = await fixture.get("/v1/transaction/\(id)").string("status")
        }
        #expect(status == "APPROVED")
        let (second, secondDone) = try await Self.open(fixture, key: fixture.testKey, query: "&resumeToken=\(token)&lastSeq=\(seen)")
        let session = try await second.next("session")
        #expect(session["resumed"] == true)
        #expect(session["eventsLost"] == false)
        #expect(session["resumeToken"]?.stringValue == token)
        _ = try await second.next("result")
        let replayed = second.events.dropFirst()
        #expect(replayed.map { $0["event"]?.stringValue } == ["card_detected", "processing", "result"])
        #expect(replayed.map { $0["seq"]?.intValue } == [seen + 1, seen + 2, seen + 3])
        #expect(replayed.allSatisfy { $0["transactionId"]?.stringValue == id })
        // The session goes on: a new sale on the resumed connection continues the numbering.
        second.push(["action": "sale", "amount": 100, "currency": "NZD"])
        let next = try await second.all("result", count: 2).last
        #expect(next?["seq"]?.intValue == seen + 7)
        second.disconnect()
        await secondDone.value
    }

    @Test func aResumeTakesOverAConnectionThatIsStillOpen() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let (first, firstDone) = try await Self.open(fixture, key: fixture.testKey)
        let token = try #require(try await first.next("session")["resumeToken"]?.stringValue)
        let (second, secondDone) = try await Self.open(fixture, key: fixture.testKey, query: "&resumeToken=\(token)")
        #expect(try await second.next("session")["resumed"] == true)
        #expect(first.closeCode == SessionService.takenOverCode)
        first.disconnect()
        await firstDone.value
        second.push(["action": "sale", "amount": 100, "currency": "NZD"])
        #expect(try await second.next("result")["transaction"]?["status"] == "APPROVED")
        second.disconnect()
        await secondDone.value
    }

    @Test func resumeTokensAreBoundToMerchantAndModeAndExpire() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let (first, firstDone) = try await Self.open(fixture, key: fixture.testKey)
        let token = try #require(try await first.next("session")["resumeToken"]?.stringValue)
        first.disconnect()
        await firstDone.value
        for (key, query) in [(fixture.liveKey, "&resumeToken=\(token)"), (fixture.testKey, "&resumeToken=rst_unknown"),
                             (fixture.testKey, "&resumeToken=\(token)&lastSeq=-1")] {
            let (refused, done) = try await Self.open(fixture, key: key, query: query)
            await done.value
            #expect(refused.events.count == 1)
            #expect(refused.events.first?["event"] == "error")
            #expect(refused.closeCode == .policyViolation)
        }
        let (wrongMode, wrongModeDone) = try await Self.open(fixture, key: fixture.liveKey, query: "&resumeToken=\(token)")
        await wrongModeDone.value
        #expect(wrongMode.events.first?["error"]?["error"] == "RESUME_TOKEN_NOT_FOUND")
        // Within the window the token works; past it, it is gone.
        fixture.clock.advance(seconds: SessionLimits().resumeWindowSeconds - 1)
        let (within, withinDone) = try await Self.open(fixture, key: fixture.testKey, query: "&resumeToken=\(token)")
        #expect(try await within.next("session")["resumed"] == true)
        within.disconnect()
        await withinDone.value
        fixture.clock.advance(seconds: SessionLimits().resumeWindowSeconds)
        let (expired, expiredDone) = try await Self.open(fixture, key: fixture.testKey, query: "&resumeToken=\(token)")
        await expiredDone.value
        #expect(expired.events.first?["error"]?["error"] == "RESUME_TOKEN_NOT_FOUND")
    }

    @Test func aSessionRunsAtMostItsLimitOfActionsAndCompleteErrorsAreEvents() async throws {
        let fixture = try await TransactionFixture.make(slowDelayMilliseconds: 3_000)
        defer { fixture.close() }
        let (connection, done) = try await Self.open(fixture, key: fixture.testKey)
        let limit = SessionLimits().actionsInFlightMax
        for _ in 0...limit { connection.push(["action": "sale", "amount": 7001, "currency": "NZD"]) }
        let busy = try await connection.next("error")
        #expect(busy["status"] == 409)
        #expect(busy["error"]?["error"] == "SESSION_BUSY")
        #expect(try await connection.all("result", count: limit).allSatisfy { $0["transaction"]?["status"] == "APPROVED" })
        connection.push(["action": "complete", "transactionId": "txn_01JRZ8Q0M5V8XK7J4W6H3T2B9C", "responseCode": "05"])
        connection.push(["action": "complete", "transactionId": "txn_01JRZ8Q0M5V8XK7J4W6H3T2B9C"])
        let errors = try await connection.all("error", count: 3).dropFirst()
        #expect(Set(errors.compactMap { $0["error"]?["error"]?.stringValue }) == ["NOT_FOUND", "MISSING_FIELD"])
        connection.disconnect()
        await done.value
    }

    @Test func heartbeatsComeOnTheInterval() async throws {
        let fixture = try await TransactionFixture.make(settings: TransactionsSettings(sessionHeartbeatIntervalSeconds: 0.1))
        defer { fixture.close() }
        let (connection, done) = try await Self.open(fixture, key: fixture.testKey)
        let beats = try await connection.all("heartbeat", count: 2)
        #expect(beats.allSatisfy { $0["seq"] == nil && $0["lastSeq"] == 0 && $0["timestamp"]?.stringValue != nil })
        connection.disconnect()
        await done.value
    }
}

/// A connection the test drives: `push` hands the session a message, `disconnect` ends it as a dropped socket
/// would (receive answers nil, sends throw), `next` waits for events.
final class DrivenConnection: WebSocketConnection {
    static let waitSeconds: Double = 45

    private struct State {
        var inbox: [WebSocketMessage] = []
        var waiter: CheckedContinuation<WebSocketMessage?, Never>?
        var closed = false
        var sent: [JSONValue] = []
        var closeCode: WebSocketCloseCode?
    }

    private let state = Mutex(State())

    var events: [JSONValue] { state.withLock { $0.sent } }
    var eventNames: [String?] { events.map { $0["event"]?.stringValue } }
    var closeCode: WebSocketCloseCode? { state.withLock { $0.closeCode } }

    func push(_ message: JSONValue) {
        let text = WebSocketMessage.text(String(decoding: message.serialized(), as: UTF8.self))
        let waiter = state.withLock { state -> CheckedContinuation<WebSocketMessage?, Never>? in
            guard let waiter = state.waiter else {
                state.inbox.append(text)
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: text)
    }

    func disconnect() {
        let waiter = state.withLock { state -> CheckedContinuation<WebSocketMessage?, Never>? in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    func receive() async -> WebSocketMessage? {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> WebSocketMessage?? in
                if !state.inbox.isEmpty { return .some(state.inbox.removeFirst()) }
                if state.closed { return .some(nil) }
                state.waiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    func send(_ message: WebSocketMessage) throws(WebSocketSendError) {
        guard case .text(let text) = message,
              let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else { return }
        let closed = state.withLock { state -> Bool in
            if state.closed { return true }
            state.sent.append(value)
            return false
        }
        if closed { throw .closed }
    }

    func close(code: WebSocketCloseCode, reason: String) {
        state.withLock { $0.closeCode = $0.closeCode ?? code }
        disconnect()
    }

    var peerCloseCode: WebSocketCloseCode? { nil }

    /// The first event named `name`, once it has arrived.
    @discardableResult
    func next(_ name: String) async throws -> JSONValue {
        try await all(name, count: 1)[0]
    }

    /// The first `count` events named `name`, once they have arrived.
    func all(_ name: String, count: Int) async throws -> [JSONValue] {
        let deadline = ContinuousClock.now + .seconds(Self.waitSeconds)
        while ContinuousClock.now < deadline {
            let matching = events.filter { $0["event"]?.stringValue == name }
            if matching.count >= count { return Array(matching.prefix(count)) }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw TestFailure("no \(count) \(name) event(s) within \(Self.waitSeconds) s: \(events)")
    }
}
