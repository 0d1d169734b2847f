import Foundation
import Synchronization
import Testing
@testable import Kernel

/// In-memory store: enough of PostgresIdempotencyStore's contract to drive every middleware branch.
private final class MemoryIdempotencyStore: IdempotencyStore {
    struct Entry { var fingerprint: String; var token: String; var response: StoredResponse? }
    let entries = Mutex<[String: Entry]>([:])
    let beginCalls = Atomic<Int>(0)

    func begin(scope: String, key: String, fingerprint: String) async throws -> IdempotencyBeginResult {
        beginCalls.add(1, ordering: .relaxed)
        return entries.withLock { entries in
            guard let entry = entries[key] else {
                let token = UUID().uuidString
                entries[key] = Entry(fingerprint: fingerprint, token: token, response: nil)
                return .claimed(IdempotencyClaim(scope: scope, key: key, token: token))
            }
            guard entry.fingerprint == fingerprint else { return .conflict }
            if let response = entry.response { return .replay(response) }
            return .inProgress
        }
    }

    func complete(_ claim: IdempotencyClaim, response: StoredResponse, executor: (any SQLExecutor)?) async throws {
        entries.withLock { if $0[claim.key]?.token == claim.token { $0[claim.key]?.response = response } }
    }

    func abandon(_ claim: IdempotencyClaim) async {
        entries.withLock { if $0[claim.key]?.token == claim.token && $0[claim.key]?.response == nil { $0[claim.key] = nil } }
    }

    func isCompleted(_ claim: IdempotencyClaim) async throws -> Bool {
        entries.withLock { $0[claim.key]?.token == claim.token && $0[claim.key]?.response != nil }
    }

    func lookup(scope: String, key: String, fingerprint: String) async throws -> IdempotencyLookupResult {
        entries.withLock { entries in
            guard let entry = entries[key] else { return .absent }
            guard entry.fingerprint == fingerprint else { return .found(.conflict) }
            if let response = entry.response { return .found(.replay(response)) }
            return .found(.inProgress)
        }
    }

    func insertCompleted(_ claims: [DeferredIdempotencyClaim], responses: [StoredResponse],
                         executor: any SQLExecutor) async throws -> [Bool] {
        entries.withLock { entries in
            zip(claims, responses).map { claim, response in
                guard entries[claim.key] == nil else { return false }
                entries[claim.key] = Entry(fingerprint: claim.fingerprint, token: "deferred", response: response)
                return true
            }
        }
    }

    /// Stands in for a concurrent duplicate whose transaction committed first.
    func commitWinner(key: String, body: String) {
        let fingerprint = Encoding.hex(Array("POST /sale\n\(body)".utf8))
        entries.withLock {
            $0[key] = Entry(fingerprint: fingerprint, token: "winner",
                            response: StoredResponse(Response.json(["winner": true])))
        }
    }
}

/// A counter closures can share (Atomic and Mutex are noncopyable).
private final class Counter: Sendable {
    private let value = Mutex(0)
    func add() { value.withLock { $0 += 1 } }
    var count: Int { value.withLock { $0 } }
}

private final class Flags: Sendable {
    private let values = Mutex<[Bool]>([])
    func append(_ flag: Bool) { values.withLock { $0.append(flag) } }
    var all: [Bool] { values.withLock { $0 } }
}

/// Executor that refuses SQL: the memory store never uses it.
private struct NoSQL: SQLExecutor {
    func query(_ sql: SQL) async throws(DatabaseError) -> [Row] { throw DatabaseError(kind: .query, message: "no sql") }
    func execute(_ sql: SQL) async throws(DatabaseError) -> Int { throw DatabaseError(kind: .query, message: "no sql") }
}

@Suite struct DeferredIdempotencyMiddlewareTests {
    private let store = MemoryIdempotencyStore()
    private var middleware: IdempotencyMiddleware {
        IdempotencyMiddleware(store: store, hash: { $0 }, pollIntervalMilliseconds: 1, deferredClaim: true)
    }

    private func send(_ body: String, key: String = "k", handler: @escaping Handler) async throws -> Response {
        var headers = HTTPHeaders()
        headers.add("Idempotency-Key", key)
        let request = Request(method: .post, target: "/sale", headers: headers, body: Array(body.utf8))
        return try await middleware.respond(to: request, context: RequestContext(requestId: "req_1"), next: handler)
    }

    /// A handler that writes its key with its work, as SaleCommitter does.
    private func writingHandler(_ runs: Counter) -> Handler {
        let store = store
        return { _, context in
            runs.add()
            #expect(context.idempotencyClaim == nil)
            let deferred = try #require(context.deferredIdempotencyClaim)
            let response = Response.json(["ok": true])
            guard try await store.insertCompleted([deferred], responses: [StoredResponse(response)], executor: NoSQL())[0] else {
                throw IdempotencyDeferredClaimLost()
            }
            deferred.markCommitted()
            return response
        }
    }

    @Test func theHandlerWritesTheKeyAndNoClaimIsTakenFirst() async throws {
        let runs = Counter()
        let first = try await send("{}", handler: writingHandler(runs))
        #expect(first.status == 200)
        #expect(first.headers["Idempotent-Replayed"] == nil)
        #expect(store.beginCalls.load(ordering: .relaxed) == 0)
        let replay = try await send("{}", handler: writingHandler(runs))
        #expect(replay.headers["Idempotent-Replayed"] == "true")
        #expect(replay.body == first.body)
        #expect(runs.count == 1)
        await #expect(throws: AtlasError.self) { try await send("{\"a\":1}", handler: writingHandler(runs)) }
        do {
            _ = try await send("{\"a\":1}", handler: writingHandler(runs))
        } catch let error as AtlasError {
            #expect(error.code == "IDEMPOTENCY_CONFLICT")
            #expect(error.status == 409)
        }
        #expect(runs.count == 1)
    }

    @Test func aLosingHandlerGetsTheWinnersResponse() async throws {
        let store = store
        let replay = try await send("{}") { _, _ in
            store.commitWinner(key: "k", body: "{}")
            throw IdempotencyDeferredClaimLost()
        }
        #expect(replay.headers["Idempotent-Replayed"] == "true")
        #expect(replay.body == Response.json(["winner": true]).body)
        do {
            _ = try await send("{}", key: "other") { _, _ in
                store.commitWinner(key: "other", body: "{\"different\":true}")
                throw IdempotencyDeferredClaimLost()
            }
            Issue.record("expected a conflict")
        } catch let error as AtlasError {
            #expect(error.code == "IDEMPOTENCY_CONFLICT")
        }
    }

    @Test func aRefusedDeferralClaimsFirstAndRunsAgain() async throws {
        let calls = Flags()
        let response = try await send("{}") { _, context in
            calls.append(context.idempotencyClaim != nil)
            if context.deferredIdempotencyClaim != nil { throw IdempotencyClaimRequired() }
            return Response.json(["classic": true])
        }
        #expect(response.status == 200)
        #expect(calls.all == [false, true])
        #expect(store.beginCalls.load(ordering: .relaxed) == 1)
        let replay = try await send("{}") { _, _ in Issue.record("must replay"); return Response(status: 500) }
        #expect(replay.body == response.body)
        #expect(replay.headers["Idempotent-Replayed"] == "true")
    }

    @Test func businessErrorsAreStoredAndValidationErrorsAreNot() async throws {
        let runs = Counter()
        let declined: Handler = { _, _ in
            runs.add()
            throw AtlasError.conflict(code: "TERMINAL_STATE", "no")
        }
        let first = try await send("{}", handler: declined)
        #expect(first.status == 409)
        let replay = try await send("{}", handler: declined)
        #expect(replay.headers["Idempotent-Replayed"] == "true")
        #expect(replay.body == first.body)
        #expect(runs.count == 1)
        let invalid: Handler = { _, _ in
            runs.add()
            throw AtlasError.invalidField("amount", "amount must be positive", constraint: "minimum")
        }
        await #expect(throws: AtlasError.self) { try await send("{}", key: "v", handler: invalid) }
        await #expect(throws: AtlasError.self) { try await send("{}", key: "v", handler: invalid) }
        #expect(runs.count == 3)
        #expect(store.entries.withLock { $0["v"] } == nil)
    }
}
