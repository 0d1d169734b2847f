import AtlasTestSupport
import Bootstrap
import Foundation
import Kernel
import Postgres
import Testing
@testable import Webhooks

/// `atlas admin webhooks …` against a real database: replay of the dead letter, usage errors, listing.
@Suite(.serialized) struct AdminCommandTests {
    func run(_ fixture: WebhooksFixture, _ words: [String]) async throws {
        let command = WebhooksAdminCommands(settings: WebhooksSettings()).command
        let arguments = try CommandArguments(command: "webhooks", options: words, positionalsMax: command.positionalsMax)
        try await command.run(arguments, fixture.application.services)
    }

    @Test func replayingTheDeadLetterPutsItBackToPending() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let receiver = try WebhookReceiver()
        let key = try await fixture.key()
        let (endpointId, _) = try await fixture.createEndpoint(url: receiver.url("/gone"), key: key)
        try await fixture.fanOut([fixture.event()])
        #expect(try await fixture.deliverDue(fixture.worker) == 1)
        let dead = try #require(try await fixture.deliveryRow(endpointId: endpointId))
        #expect(try dead.decode("status", as: String.self) == "dead")
        try await run(fixture, ["list", "--merchant", fixture.merchantId])
        try await run(fixture, ["attempts", "--merchant", fixture.merchantId, "--endpoint", endpointId])
        try await run(fixture, ["replay", "--merchant", fixture.merchantId, "--endpoint", endpointId, "--dead"])
        let replayed = try #require(try await fixture.deliveryRow(endpointId: endpointId))
        #expect(try replayed.decode("status", as: String.self) == "pending" && (try replayed.decode("attempts", as: Int.self)) == 0)
        // Another merchant's name replays nothing of this one's.
        try await run(fixture, ["replay", "--merchant", fixture.otherMerchantId, "--endpoint", endpointId, "--dead"])
        await #expect(throws: CommandUsageError.self) {
            try await run(fixture, ["replay", "--merchant", fixture.merchantId, "--endpoint", endpointId])
        }
        await #expect(throws: CommandUsageError.self) { try await run(fixture, ["attempts", "--merchant", fixture.merchantId]) }
        await #expect(throws: CommandUsageError.self) { try await run(fixture, ["unknown"]) }
        await #expect(throws: CommandUsageError.self) { try await run(fixture, ["reencrypt-secrets"]) }
    }
}
