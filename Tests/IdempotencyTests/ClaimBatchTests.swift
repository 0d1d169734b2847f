import Foundation
import Kernel
import Testing
import IdempotencyContract
@testable import Idempotency

/// Claims are group-committed (ClaimBatcher); the contract per key must not change.
/// Serialized: each test makes its own database and hundreds of concurrent claims.
@Suite(.serialized) struct ClaimBatchTests {
    static func scope(_ fixture: IdempotencyFixture) -> String { "\(fixture.merchantId)|test|key_batch|-" }

    @Test func twoHundredConcurrentDistinctKeysAreAllClaimedAndDurable() async throws {
        let fixture = try await IdempotencyFixture.make()
        let store = fixture.store
        let scope = Self.scope(fixture)
        let claimed = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<200 {
                group.addTask {
                    if case .claimed = try await store.begin(scope: scope, key: "k-\(index)", fingerprint: "f") { return true }
                    return false
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(claimed == 200)
        let row = try #require(try await fixture.database.queryFirst(
            "SELECT count(*) AS n FROM idempotency_keys WHERE scope = \(scope) AND state = 'in_progress'"))
        #expect(try row.decode("n", as: Int.self) == 200)
    }

    @Test func concurrentDuplicatesOfOneKeyAmongOthersAreClaimedOnce() async throws {
        let fixture = try await IdempotencyFixture.make()
        let store = fixture.store
        let scope = Self.scope(fixture)
        let results = try await withThrowingTaskGroup(of: (String, IdempotencyBeginResult).self) { group in
            for index in 0..<100 {
                // Half the calls race for "same"; the other half have their own keys in the same batches.
                let key = index.isMultiple(of: 2) ? "same" : "own-\(index)"
                group.addTask { (key, try await store.begin(scope: scope, key: key, fingerprint: "f")) }
            }
            return try await group.reduce(into: [(String, IdempotencyBeginResult)]()) { $0.append($1) }
        }
        let same = results.filter { $0.0 == "same" }
        let sameClaims = same.filter { if case .claimed = $0.1 { return true } else { return false } }
        let sameInProgress = same.filter { if case .inProgress = $0.1 { return true } else { return false } }
        #expect(sameClaims.count == 1)
        #expect(sameInProgress.count == 49)
        let own = results.filter { $0.0 != "same" }
        #expect(own.allSatisfy { if case .claimed = $0.1 { return true } else { return false } })
    }

    @Test func aConcurrentDifferentBodyGetsConflictNotASecondClaim() async throws {
        let fixture = try await IdempotencyFixture.make()
        let store = fixture.store
        let scope = Self.scope(fixture)
        let results = try await withThrowingTaskGroup(of: IdempotencyBeginResult.self) { group in
            for index in 0..<20 {
                group.addTask { try await store.begin(scope: scope, key: "k", fingerprint: "f\(index)") }
            }
            return try await group.reduce(into: [IdempotencyBeginResult]()) { $0.append($1) }
        }
        let claims = results.filter { if case .claimed = $0 { return true } else { return false } }
        let conflicts = results.filter { if case .conflict = $0 { return true } else { return false } }
        #expect(claims.count == 1)
        #expect(conflicts.count == 19)
    }
}
