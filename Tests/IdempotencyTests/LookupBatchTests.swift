import AtlasTestSupport
import Foundation
@testable import Idempotency
import IdempotencyContract
import Kernel
import Postgres
import Testing

/// Read-only key lookups are answered many per statement (KeyLookups); each caller must still get
/// exactly its own key's answer.
/// Serialized: each test makes its own database (less load at the full suite's start).
@Suite(.serialized) struct LookupBatchTests {
    /// Keys that would break a careless array literal or a positional mix-up.
    static let awkwardKeys = ["plain", "with \"quote", "back\\slash", "comma,inside", "{braces}", "space inside", "NULL",
                              "trailing\\", "\"", "ünïcode-✓"]

    static func response(for key: String) -> StoredResponse {
        StoredResponse(status: 201, headers: ["Content-Type": "application/json"], body: Array("{\"key\":\"\(key)\"}".utf8))
    }

    @Test func concurrentLookupsEachGetTheirOwnKeysAnswer() async throws {
        let fixture = try await IdempotencyFixture.make()
        let store = fixture.store
        let scope = "\(fixture.merchantId)|test|lookup_batch|-"
        let stored = Self.awkwardKeys + (0..<40).map { "k-\($0)" }
        let completions = stored.map {
            IdempotencyCompletion(scope: scope, key: $0, fingerprint: "fp-\($0)", response: Self.response(for: $0))
        }
        let won = try await store.insertCompleted(completions, executor: fixture.database)
        #expect(won.allSatisfy { $0 })

        // Stored keys (right and wrong fingerprint) and absent ones, all at once so they share statements.
        let results = try await withThrowingTaskGroup(of: (String, String, IdempotencyLookupResult).self) { group in
            for key in stored + (0..<40).map({ "absent-\($0)" }) {
                for fingerprint in ["fp-\(key)", "other"] {
                    group.addTask { (key, fingerprint, try await store.lookup(scope: scope, key: key, fingerprint: fingerprint)) }
                }
            }
            return try await group.reduce(into: [(String, String, IdempotencyLookupResult)]()) { $0.append($1) }
        }
        #expect(results.count == (stored.count + 40) * 2)
        for (key, fingerprint, result) in results {
            switch result {
            case .absent: #expect(key.hasPrefix("absent-"), "\(key) should be found")
            case .found(.replay(let response)):
                #expect(fingerprint == "fp-\(key)")
                #expect(response == Self.response(for: key))
            case .found(.conflict): #expect(fingerprint == "other" && !key.hasPrefix("absent-"))
            default: Issue.record("unexpected \(result) for \(key)")
            }
        }
    }

    @Test func theSameKeyTwiceInOneBatchAnswersBoth() async throws {
        let fixture = try await IdempotencyFixture.make()
        let scope = "\(fixture.merchantId)|test|lookup_batch|-"
        _ = try await fixture.store.insertCompleted(
            [IdempotencyCompletion(scope: scope, key: "twice", fingerprint: "f", response: Self.response(for: "twice"))],
            executor: fixture.database)
        let wanted = [KeyLookup(scope: scope, key: "twice"), KeyLookup(scope: scope, key: "missing"),
                      KeyLookup(scope: scope, key: "twice")]
        let results = await KeyLookups.read(wanted, database: fixture.database)
        let fingerprints = try results.map { try $0.get().map { try $0.decode("fingerprint", as: String.self) } }
        #expect(fingerprints == ["f", nil, "f"])
    }

    @Test func arrayLiteralsRoundTripThroughPostgreSQL() async throws {
        let fixture = try await IdempotencyFixture.make()
        let literal = KeyLookups.arrayLiteral(Self.awkwardKeys + [""])
        let rows = try await fixture.database.query(
            SQL("SELECT element FROM unnest($1::text[]) WITH ORDINALITY AS a(element, position) ORDER BY position",
                binds: [.text(literal)]))
        #expect(try rows.map { try $0.decode("element", as: String.self) } == Self.awkwardKeys + [""])
    }

    /// The connections plan prepared statements once, generically (`plan_cache_mode=force_generic_plan`),
    /// possibly while the table is empty. The lookup must still probe the primary key per wanted key: a
    /// hash join over a sequential scan would read the whole table for every batch once it grows.
    @Test func theLookupProbesThePrimaryKeyInAGenericPlanMadeOnAnEmptyTable() async throws {
        let fixture = try await IdempotencyFixture.make()
        let plan = try await TestDatabase.genericPlan(of: KeyLookups.text, arguments: "'{a}', '{b}'", on: fixture.database)
        let text = plan.joined(separator: "\n")
        #expect(text.contains("Index Scan using idempotency_keys_pkey"), "\(text)")
        #expect(!text.contains("Seq Scan on idempotency_keys"), "\(text)")
        #expect(!text.contains("Hash"), "\(text)")
    }
}
