import Foundation
import Synchronization
import Testing
import IdempotencyContract
import Kernel
@testable import Idempotency

/// In-memory store: enough of PostgresIdempotencyStore's contract to drive every middleware branch.
private final class MemoryIdempotencyStore: IdempotencyStore {
    struct Entry { var fingerprint: String; var token: String; var response: StoredResponse? }
    let entries = Mutex<[String: Entry]>([:])
    let beginCalls = Atomic<Int>(0)
    let isCompletedCalls = Atomic<Int>(0)
    let lookupCalls = Atomic<Int>(0)

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
        isCompletedCalls.add(1, ordering: .relaxed)
        return entries.withLock { $0[claim.key]?.token == claim.token && $0[claim.key]?.response != nil }
    }

    func lookup(scope: String, key: String, fingerprint: String) async throws -> IdempotencyLookupResult {
        lookupCalls.add(1, ordering: .relaxed)
        return entries.withLock { entries in
            guard let entry = entries[key] else { return .absent }
            guard entry.fingerprint == fingerprint else { return .found(.conflict) }
            if let response = entry.response { return .found(.replay(response)) }
            return .found(.inProgress)
        }
    }

    func insertCompleted(_ completions: [IdempotencyCompletion], executor: any SQLExecutor) async throws -> [Bool] {
        entries.withLock { entries in
            completions.map { completion in
                guard entries[completion.key] == nil else { return false }
                entries[completion.key] = Entry(fingerprint: completion.fingerprint, token: "deferred",
                                                response: completion.response)
                return true
            }
        }
    }

    /// The memory store has no SQL to compose (handlers here complete their key with `complete(_:in:)`).
    func completionStatement(_ completions: [IdempotencyCompletion], bindOffset: Int) -> IdempotencyKeysStatement? { nil }

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

/// A streamed body of one piece (the export's kind of answer).
private final class OnePiece: ResponseBodyProducer {
    private let sent = Mutex(false)
    func nextBodyPiece() async throws -> [UInt8]? {
        sent.withLock { sent in
            defer { sent = true }
            return sent ? nil : Array("line\n".utf8)
        }
    }
}

/// Executor that refuses SQL: the memory store never uses it.
private struct NoSQL: SQLExecutor {
    func query(_ sql: SQL) async throws(DatabaseError) -> [Row] { throw DatabaseError(kind: .query, message: "no sql") }
    func execute(_ sql: SQL) async throws(DatabaseError) -> Int { throw DatabaseError(kind: .query, message: "no sql") }
}

/// The middleware runs each handler inside its key's scope (`context.idempotency`); every outcome of the
/// scope (written with the work, claimed first, lost to a duplicate, released) ends in the right answer.
@Suite struct KeyScopeMiddlewareTests {
    private let store = MemoryIdempotencyStore()

    private func middleware(deferredClaim: Bool = true) -> IdempotencyMiddleware {
        IdempotencyMiddleware(store: store, hash: { $0 }, waiting: KeyWaiting(pollIntervalMilliseconds: 1),
                              deferredClaim: deferredClaim)
    }

    private func send(_ body: String, key: String = "k", deferredClaim: Bool = true, handler: @escaping Handler) async throws
        -> Response {
        var headers = HTTPHeaders()
        headers.add("Idempotency-Key", key)
        let request = Request(method: .post, target: "/sale", headers: headers, body: Array(body.utf8))
        return try await middleware(deferredClaim: deferredClaim).respond(to: request, context: RequestContext(requestId: "req_1"),
                                                                          next: handler)
    }

    /// A handler that writes its key with its work, as SaleCommitter does.
    private func writingHandler(_ runs: Counter) -> Handler {
        { _, context in
            runs.add()
            let key = try #require(context.idempotency)
            #expect(!key.isClaimed)
            let response = Response.json(["ok": true])
            guard try await key.complete(StoredResponse(response), in: NoSQL()) else { return try await key.answerAfterLoss() }
            key.committed()
            return response
        }
    }

    /// A deferred key is neither claimed nor read before the handler: the handler writes it with its work. A replay
    /// and a conflicting body run the handler up to that write, which loses: nothing is written twice, the replay
    /// gets the stored response and the other body 409.
    @Test func theHandlerWritesTheKeyAndNoClaimIsTakenFirst() async throws {
        let runs = Counter()
        let first = try await send("{}", handler: writingHandler(runs))
        #expect(first.status == 200)
        #expect(first.headers["Idempotent-Replayed"] == nil)
        #expect(store.beginCalls.load(ordering: .relaxed) == 0)
        #expect(store.lookupCalls.load(ordering: .relaxed) == 0)
        let replay = try await send("{}", handler: writingHandler(runs))
        #expect(replay.headers["Idempotent-Replayed"] == "true")
        #expect(replay.body == first.body)
        #expect(runs.count == 2)
        do {
            _ = try await send("{\"a\":1}", handler: writingHandler(runs))
            Issue.record("expected a conflict")
        } catch let error as AtlasError {
            #expect(error.code == "IDEMPOTENCY_CONFLICT")
            #expect(error.status == 409)
        }
        #expect(store.entries.withLock { $0["k"]?.response?.body } == first.body)
    }

    /// An answer that does not go through the key's write (a validation error, a 5xx) is checked against the key
    /// first: a replay answers as the first request did even when its handler now meets something else (the
    /// merchant's settings changed), another body gets 409, and an unused key gets the outcome in hand.
    @Test func aReplayAnswersWithTheStoredResponseWhateverItsHandlerMeetsNow() async throws {
        let first = try await send("{}", handler: writingHandler(Counter()))
        let invalid: Handler = { _, _ in throw AtlasError.invalidField("currency", "currency is not enabled", constraint: "enum") }
        let failing: Handler = { _, _ in Response(status: 503) }
        for handler in [invalid, failing] {
            let replay = try await send("{}", handler: handler)
            #expect(replay.headers["Idempotent-Replayed"] == "true")
            #expect(replay.body == first.body)
            do {
                _ = try await send("{\"other\":1}", handler: handler)
                Issue.record("expected a conflict")
            } catch let error as AtlasError {
                #expect(error.code == "IDEMPOTENCY_CONFLICT")
            }
        }
        await #expect(throws: AtlasError.self) { try await send("{}", key: "unused", handler: invalid) }
        #expect(try await send("{}", key: "unused", handler: failing).status == 503)
        #expect(store.entries.withLock { $0["unused"] } == nil)
    }

    @Test func aLosingHandlerGetsTheWinnersResponse() async throws {
        let store = store
        let replay = try await send("{}") { _, context in
            store.commitWinner(key: "k", body: "{}")
            return try await #require(context.idempotency).answerAfterLoss()
        }
        #expect(replay.headers["Idempotent-Replayed"] == "true")
        #expect(replay.body == Response.json(["winner": true]).body)
        do {
            _ = try await send("{}", key: "other") { _, context in
                store.commitWinner(key: "other", body: "{\"different\":true}")
                return try await #require(context.idempotency).answerAfterLoss()
            }
            Issue.record("expected a conflict")
        } catch let error as AtlasError {
            #expect(error.code == "IDEMPOTENCY_CONFLICT")
        }
    }

    /// A handler whose work must not run twice (a live card charge) claims the key first, from inside its
    /// scope: its side effect runs once, and its answer is stored for replays. A replay's claim answers with it.
    @Test func aHandlerThatMustNotRunTwiceClaimsFirstAndRunsOnce() async throws {
        let calls = Flags()
        let sideEffects = Counter()
        let charging: Handler = { _, context in
            let key = try #require(context.idempotency)
            calls.append(key.isClaimed)
            if let answer = try await key.claimBeforeSideEffects() { return answer }
            calls.append(key.isClaimed)
            sideEffects.add()
            return Response.json(["classic": true])
        }
        let response = try await send("{}", handler: charging)
        #expect(response.status == 200)
        #expect(calls.all == [false, true])
        #expect(store.beginCalls.load(ordering: .relaxed) == 1)
        let replay = try await send("{}", handler: charging)
        #expect(replay.body == response.body)
        #expect(replay.headers["Idempotent-Replayed"] == "true")
        #expect(calls.all == [false, true, false])
        #expect(sideEffects.count == 1)
        // A replay whose handler fails before it claims (the card reader is gone now) still gets the stored answer.
        let failing = try await send("{}") { _, _ in Response(status: 502) }
        #expect(failing.body == response.body)
        #expect(failing.headers["Idempotent-Replayed"] == "true")
    }

    /// A key held by a duplicate in progress: claiming first waits for it and answers with its response.
    @Test func claimingAKeyAnotherRequestCompletedAnswersWithItsResponse() async throws {
        let store = store
        let answer = try await send("{}") { _, context in
            store.commitWinner(key: "k", body: "{}")
            guard let answer = try await #require(context.idempotency).claimBeforeSideEffects() else {
                Issue.record("the key was taken")
                return Response(status: 500)
            }
            return answer
        }
        #expect(answer.headers["Idempotent-Replayed"] == "true")
        #expect(answer.body == Response.json(["winner": true]).body)
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
        #expect(runs.count == 2)   // the replay ran up to its outcome, which was not stored again
        #expect(store.entries.withLock { $0["k"]?.response?.body } == first.body)
        let invalid: Handler = { _, _ in
            runs.add()
            throw AtlasError.invalidField("amount", "amount must be positive", constraint: "minimum")
        }
        await #expect(throws: AtlasError.self) { try await send("{}", key: "v", handler: invalid) }
        await #expect(throws: AtlasError.self) { try await send("{}", key: "v", handler: invalid) }
        #expect(runs.count == 4)
        #expect(store.entries.withLock { $0["v"] } == nil)
    }

    /// A released key (a busy terminal) stores nothing: the retry runs again.
    @Test func aReleasedKeyStoresNoAnswer() async throws {
        let runs = Counter()
        let busy: Handler = { _, context in
            runs.add()
            let key = try #require(context.idempotency)
            _ = try await key.claimBeforeSideEffects()
            await key.release()
            throw AtlasError.conflict(code: "TERMINAL_BUSY", "busy")
        }
        #expect(try await send("{}", handler: busy).status == 409)
        #expect(try await send("{}", handler: busy).status == 409)
        #expect(runs.count == 2)
        #expect(store.entries.withLock { $0["k"] } == nil)
    }

    /// On claim-first routes a handler that completed the key in its own committed write spares the
    /// middleware its read of the key.
    @Test func theMiddlewareSkipsItsReadWhenTheHandlersCommitCompletedTheKey() async throws {
        let committing: Handler = { _, context in
            let key = try #require(context.idempotency)
            #expect(key.isClaimed)
            let response = Response.json(["ok": true])
            #expect(try await key.complete(StoredResponse(response), in: NoSQL()))
            key.committed()
            return response
        }
        #expect(try await send("{}", deferredClaim: false, handler: committing).status == 200)
        #expect(store.isCompletedCalls.load(ordering: .relaxed) == 0)
        #expect(try await send("{}", key: "plain", deferredClaim: false) { _, _ in Response.json(["ok": true]) }.status == 200)
        #expect(store.isCompletedCalls.load(ordering: .relaxed) == 1)
        let replay = try await send("{}", deferredClaim: false) { _, _ in Issue.record("must replay"); return Response(status: 500) }
        #expect(replay.headers["Idempotent-Replayed"] == "true")
    }

    /// A streamed body is never stored for replay: a route that declares one (`streamsBody`) is refused when it is
    /// registered behind this middleware (the process stops at startup); a finished-body route is accepted.
    @Test func aRouteThatStreamsItsBodyIsRefusedAtRegistration() throws {
        var export = RouteSchema("Export", operationId: "exportThings", responses: [])
        #expect(IdempotencyMiddleware.streamedRouteRefusal(export) == nil)
        export.streamsBody = true
        let refusal = try #require(IdempotencyMiddleware.streamedRouteRefusal(export))
        #expect(refusal.contains("exportThings") && refusal.contains("Idempotency-Key"))
        var sale = RouteSchema("Sale", operationId: "sale", responses: [])
        middleware().contribute(to: &sale)
        #expect(sale.acceptsIdempotencyKey)
    }

    /// The net behind that check: a handler that streams without declaring it gets an opaque 500 under a key,
    /// on claim-first and deferred routes alike; nothing is stored, the claim goes back, and a retry runs again.
    @Test func aStreamedAnswerUnderAKeyIsNeverStored() async throws {
        for deferred in [false, true] {
            let runs = Counter()
            let key = deferred ? "streamed-deferred" : "streamed-claimed"
            let streaming: Handler = { _, _ in
                runs.add()
                return Response.streamed(headers: ["Content-Type": "text/csv"], producer: OnePiece())
            }
            for _ in 0..<2 {
                do {
                    _ = try await send("{}", key: key, deferredClaim: deferred, handler: streaming)
                    Issue.record("a streamed answer under a key must fail")
                } catch let error as AtlasError {
                    #expect(error.status == 500)
                    #expect(error.code == "INTERNAL_ERROR")
                }
            }
            #expect(runs.count == 2)
            #expect(store.entries.withLock { $0[key] } == nil)
        }
        // Without a key the middleware is not involved: the body streams as it is.
        let request = Request(method: .post, target: "/sale", body: Array("{}".utf8))
        let plain = try await middleware().respond(to: request, context: RequestContext(requestId: "req_2")) { _, _ in
            Response.streamed(producer: OnePiece())
        }
        #expect(try await plain.collectingBody().bodyText == "line\n")
    }
}
