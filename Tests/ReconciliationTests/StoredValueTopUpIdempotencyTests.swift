import AtlasTestSupport
import Auth
import Bootstrap
import Foundation
import Kernel
import Postgres
import Testing
@testable import Reconciliation

/// Top-ups under an Idempotency-Key (`POST /api/cards/:cardId/topup`): a station that retries a top-up whose answer
/// it lost credits the card once. The spec has no rule of its own for top-ups (rule 25 covers the offline outbox).
@Suite struct StoredValueTopUpIdempotencyTests {
    typealias Fixture = StoredValueFixture

    func topUp(_ fixture: Fixture, amount: Int64, key: String?) async -> Response {
        var headers = HTTPHeaders()
        headers.add("Authorization", "Bearer " + (fixture.tokens["station"] ?? ""))
        if let key { headers.add("Idempotency-Key", key) }
        return await fixture.client.send(.post, "/api/cards/\(Fixture.cardX)/topup", headers: headers,
                                         json: ["amount": .int(amount), "operatorId": "opr_1", "timestamp": 1_764_000_000])
    }

    func loadedEvents(_ fixture: Fixture) async throws -> Int64 {
        try await fixture.database.queryFirst("""
            SELECT count(*) AS n FROM event_log WHERE resource_id = \(Fixture.cardX) AND event_type = 'stored_value.loaded'
            """)?.decode("n") ?? -1
    }

    @Test func parallelDuplicatesWithOneKeyCreditTheCardOnce() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        fixture.clock.advance(seconds: 30)  // a full rate-limit burst for the station
        let responses = await withTaskGroup(of: Response.self) { group in
            for _ in 0..<6 { group.addTask { await topUp(fixture, amount: 100_000, key: "topup-0001") } }
            return await group.reduce(into: [Response]()) { $0.append($1) }
        }
        #expect(responses.allSatisfy { $0.status == 200 })
        #expect(Set(responses.map(\.body)).count == 1)
        #expect(responses.first?.json["balanceBefore"] == 350_000)
        #expect(responses.first?.json["balanceAfter"] == 450_000)
        #expect(responses.filter { $0.headers["Idempotent-Replayed"] == "true" }.count == 5)
        #expect(await fixture.card()["balance"] == 450_000)
        #expect(try await loadedEvents(fixture) == 1)
    }

    @Test func aKeyReusedForAnotherTopUpIsRefusedAndChangesNothing() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        #expect(await topUp(fixture, amount: 100_000, key: "topup-0002").status == 200)
        let reused = await topUp(fixture, amount: 5_000, key: "topup-0002")
        #expect(reused.isTerminalError(409, "idempotency_conflict"))
        #expect(await fixture.card()["balance"] == 450_000)
        let badKey = await topUp(fixture, amount: 5_000, key: String(repeating: "k", count: 256))
        #expect(badKey.isTerminalError(400, "malformed_payload"))
        #expect(await fixture.card()["balance"] == 450_000)
        #expect(try await loadedEvents(fixture) == 1)
    }

    /// A refusal is the request's answer too: replayed under its key, even once the card could take the top-up.
    @Test func aRefusedTopUpIsReplayedUnderItsKey() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let ceiling = await topUp(fixture, amount: 4_700_000, key: "topup-0003")
        #expect(ceiling.isTerminalError(422, "balance_ceiling_exceeded"))
        try await fixture.setCard(Fixture.cardX, balance: 0, counter: 17)
        let replay = await topUp(fixture, amount: 4_700_000, key: "topup-0003")
        #expect(replay.isTerminalError(422, "balance_ceiling_exceeded"))
        #expect(await fixture.card()["balance"] == 0)
    }

    /// Without a key every request is a new top-up (the spec's contract; stations should send a key).
    @Test func withoutAKeyEachRequestTopsUp() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        #expect(await topUp(fixture, amount: 1_000, key: nil).status == 200)
        #expect(await topUp(fixture, amount: 1_000, key: nil).status == 200)
        #expect(await fixture.card()["balance"] == 352_000)
    }
}
