import AcquirerContract
import AtlasTestSupport
import Auth
import Bootstrap
import Foundation
import Kernel
import Postgres
import Testing
import Transactions
@testable import Reconciliation

/// Retrying a FAILED settlement (`POST /v1/settlements/{id}/retry`, `atlas admin settlement-retry`): it goes through
/// the acquirer seam again as one more attempt, under the close lock, with `settlement.*` events.
@Suite struct SettlementRetryTests {
    /// A closed settlement holding one sale of `amount`; returns its id and the close's answer.
    func failedSettlement(_ fixture: ReconciliationFixture, amount: Int64 = SimulatedAcquirer.settlementFailFirstAttemptAmount)
        async throws -> String {
        try await fixture.sale(amount)
        try await fixture.settle()
        let close = await fixture.closeDay()
        #expect(close.string("status") == "FAILED")
        guard let id = close.json["settlements"]?.item(0)?["id"]?.stringValue else { throw HarnessError(close.bodyText) }
        return id
    }

    func eventTypes(_ fixture: ReconciliationFixture, _ id: String) async throws -> [String] {
        try await fixture.database.query("""
            SELECT event_type FROM event_log WHERE resource_id = \(id) ORDER BY writer_xid, seq
            """).map { try $0.decode("event_type") }
    }

    func attempt(_ fixture: ReconciliationFixture, _ id: String) async throws -> (attempt: Int, submission: String)? {
        try await fixture.database.queryFirst("SELECT attempt, submission FROM reconciliation_settlements WHERE id = \(id)")
            .map { (try $0.decode("attempt"), try $0.decode("submission")) }
    }

    @Test func aFailedSettlementRetriedSettlesAsItsSecondAttempt() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let id = try await failedSettlement(fixture)
        let retry = await fixture.post("/v1/settlements/\(id)/retry", [:])
        #expect(retry.status == 200)
        #expect(retry.string("id") == id)
        #expect(retry.string("status") == "SETTLED")
        #expect(retry.string("acquirerBatchRef")?.hasPrefix("BATCH-") == true)
        #expect(await fixture.get("/v1/settlements/\(id)").string("status") == "SETTLED")
        #expect(try await attempt(fixture, id)?.attempt == 2)
        #expect(try await eventTypes(fixture, id)
            == ["settlement.created", "settlement.updated", "settlement.retried", "settlement.updated"])
        let retried = try await fixture.database.queryFirst("""
            SELECT (payload->>'attempt')::int AS attempt FROM event_log
            WHERE resource_id = \(id) AND event_type = 'settlement.retried'
            """)
        #expect(try retried?.decode("attempt", as: Int.self) == 2)
        // Settled now: nothing to retry.
        let again = await fixture.post("/v1/settlements/\(id)/retry", [:])
        #expect(again.status == 409)
        #expect(again.errorCode == "SETTLEMENT_NOT_RETRYABLE")
        #expect(try await attempt(fixture, id)?.attempt == 2)
    }

    @Test func aRetryTheAcquirerRefusesAgainStaysFailedAndCanBeRetriedAgain() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let id = try await failedSettlement(fixture, amount: SimulatedAcquirer.settlementFailAmount)
        for expected in 2...3 {
            let retry = await fixture.post("/v1/settlements/\(id)/retry", [:])
            #expect(retry.status == 200)
            #expect(retry.string("status") == "FAILED")
            #expect(try await attempt(fixture, id)?.attempt == expected)
        }
    }

    @Test func theSameIdempotencyKeyReplaysTheRetry() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let id = try await failedSettlement(fixture)
        let first = await fixture.post("/v1/settlements/\(id)/retry", [:], idempotencyKey: "retry-1")
        let replay = await fixture.post("/v1/settlements/\(id)/retry", [:], idempotencyKey: "retry-1")
        #expect(first.status == 200)
        #expect(replay.status == 200)
        #expect(replay.body == first.body)
        #expect(replay.headers["Idempotent-Replayed"] == "true")
        #expect(try await attempt(fixture, id)?.attempt == 2)
    }

    /// Parallel retries: the close lock lets one through; the acquirer is called once more, not once per request.
    @Test func parallelRetriesSubmitOnce() async throws {
        let acquirer = ScriptedSettlement()
        let fixture = try await ReconciliationFixture.make(directory: acquirer)
        defer { fixture.close() }
        let id = try await failedSettlement(fixture)
        #expect(acquirer.calls == 1)
        let statuses = await withTaskGroup(of: (Int, String?).self) { group in
            for _ in 0..<6 {
                group.addTask {
                    let response = await fixture.post("/v1/settlements/\(id)/retry", [:])
                    return (response.status, response.errorCode)
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses.filter { $0.0 == 200 }.count == 1)
        #expect(statuses.filter { $0.0 == 409 }.allSatisfy {
            $0.1 == "RECONCILIATION_IN_PROGRESS" || $0.1 == "SETTLEMENT_NOT_RETRYABLE"
        })
        #expect(statuses.filter { $0.0 == 409 }.count == 5)
        #expect(acquirer.calls == 2)
        #expect(try await attempt(fixture, id)?.attempt == 2)
        #expect(try await eventTypes(fixture, id).filter { $0 == "settlement.retried" }.count == 1)
    }

    /// The acquirer unreachable during a retry: 503, the settlement stays FAILED and claimed, and the next retry
    /// sends the same attempt again (the acquirer may have seen it: same reference, same answer).
    @Test func anUnreachableAcquirerKeepsTheAttemptForTheNextRetry() async throws {
        let acquirer = ScriptedSettlement()
        let fixture = try await ReconciliationFixture.make(directory: acquirer)
        defer { fixture.close() }
        let id = try await failedSettlement(fixture)
        acquirer.failNext()
        let unreachable = await fixture.post("/v1/settlements/\(id)/retry", [:])
        #expect(unreachable.status == 503)
        #expect(unreachable.errorCode == "ACQUIRER_UNAVAILABLE")
        #expect(await fixture.get("/v1/settlements/\(id)").string("status") == "FAILED")
        #expect(try await attempt(fixture, id)?.attempt == 2)
        #expect(try await attempt(fixture, id)?.submission == "CLAIMED")
        let retry = await fixture.post("/v1/settlements/\(id)/retry", [:])
        #expect(retry.string("status") == "SETTLED")
        #expect(try await attempt(fixture, id)?.attempt == 2)
        #expect(try await attempt(fixture, id)?.submission == "SUBMITTED")
    }

    @Test func badRetriesAreRefusedAndChangeNothing() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let id = try await failedSettlement(fixture)
        #expect(await fixture.post("/v1/settlements/stl_doesnotexist/retry", [:]).errorCode == "NOT_FOUND")
        #expect(await fixture.post("/v1/settlements/txn_01JQXYZ123456/retry", [:]).status == 404)
        #expect(await fixture.post("/v1/settlements/\(id)/retry", [:], key: try await fixture.otherMerchantKey()).status == 404)
        #expect(await fixture.post("/v1/settlements/\(id)/retry", [:], key: fixture.liveKey).status == 404)
        let readOnly = try await fixture.key(scopes: ["reconciliation:read", "transactions:read"])
        #expect(await fixture.post("/v1/settlements/\(id)/retry", [:], key: readOnly).errorCode == "FORBIDDEN")
        #expect(try await attempt(fixture, id)?.attempt == 1)
        #expect(try await eventTypes(fixture, id) == ["settlement.created", "settlement.updated"])
        // An empty close's settlement is SETTLED at once: not retryable.
        fixture.clock.advance(seconds: 60)
        let empty = await fixture.closeDay()
        let emptyId = empty.json["settlements"]?.item(0)?["id"]?.stringValue ?? ""
        #expect(await fixture.post("/v1/settlements/\(emptyId)/retry", [:]).errorCode == "SETTLEMENT_NOT_RETRYABLE")
    }

    @Test func theAdminCommandRetries() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let id = try await failedSettlement(fixture)
        let command = try #require(ReconciliationModule().adminCommands.first { $0.names == ["settlement-retry"] })
        let arguments = try CommandArguments(command: "settlement-retry",
                                             options: ["--merchant", fixture.merchantId, "--settlement", id])
        try await command.run(arguments, fixture.application.services)
        #expect(await fixture.get("/v1/settlements/\(id)").string("status") == "SETTLED")
    }
}
