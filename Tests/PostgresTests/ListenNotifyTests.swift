import Foundation
import Kernel
import Testing
@testable import Postgres

@Suite struct ListenNotifyTests {
    @Test func notificationsReachTheListener() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        let channel = TestDatabase.uniqueName("chan")
        let collector = NotificationCollector(try await db.listen(channel: channel))
        defer { collector.stop() }
        let payloads = ["first", "ünïcödé 👋", #"{"quote": "it's \"x\""}"#, ""]
        for payload in payloads { try await db.notify(channel: channel, payload: payload) }
        let received = await collector.wait(count: payloads.count)
        #expect(received.map(\.payload) == payloads)
        #expect(received.allSatisfy { $0.channel == channel })
    }

    @Test func everySubscriberGetsItsCopyAndCancellingOneKeepsTheOthers() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        let channel = TestDatabase.uniqueName("Mixed_Case")
        let other = TestDatabase.uniqueName("other")
        let first = NotificationCollector(try await db.listen(channel: channel))
        let second = NotificationCollector(try await db.listen(channel: channel))
        let unrelated = NotificationCollector(try await db.listen(channel: other))
        defer { second.stop(); unrelated.stop() }
        try await db.notify(channel: channel, payload: "one")
        #expect(await first.wait(count: 1).map(\.payload) == ["one"])
        #expect(await second.wait(count: 1).map(\.payload) == ["one"])
        first.stop()
        try await Task.sleep(for: .milliseconds(100))
        try await db.notify(channel: channel, payload: "two")
        #expect(await second.wait(count: 2).map(\.payload) == ["one", "two"])
        #expect(first.notifications.map(\.payload) == ["one"])
        #expect(unrelated.notifications.isEmpty)
    }

    @Test func channelNamesMustBeIdentifiers() async throws {
        let db = try TestDatabase.make()
        defer { db.close() }
        for bad in ["", "has-dash", "x; DROP TABLE y", "\"quoted\"", "1starts_with_digit", String(repeating: "a", count: 64),
                    "spa ce", "ünï"] {
            await #expect(throws: DatabaseError.self) { _ = try await db.listen(channel: bad) }
            await #expect(throws: DatabaseError.self) { try await db.notify(channel: bad, payload: "x") }
        }
        _ = try await db.listen(channel: "_ok_" + String(repeating: "a", count: 59))
    }
}
