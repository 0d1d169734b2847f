import IdempotencyContract
import Kernel
import Synchronization

/// One request's Idempotency-Key scope (`IdempotencyScope`): a small state machine whose state decides
/// what the middleware stores once the handler returned.
final class KeyScope: IdempotencyScope {
    enum State: Sendable {
        /// Unclaimed; the handler writes the key with its work (or claims it first).
        case deferred
        /// This request holds the key; its answer is not stored yet.
        case claimed(IdempotencyClaim)
        /// The handler's commit stored the answer.
        case committed
        /// The handler answered with the key's existing answer (a replay or the winner's response).
        case answered
        /// Given up without an answer.
        case released
    }

    let scope: String
    let key: String
    let fingerprint: String
    private let store: any IdempotencyStore
    private let waiting: KeyWaiting
    private let state: Mutex<State>

    init(scope: String, key: String, fingerprint: String, claim: IdempotencyClaim?, store: any IdempotencyStore,
         waiting: KeyWaiting) {
        self.scope = scope
        self.key = key
        self.fingerprint = fingerprint
        self.store = store
        self.waiting = waiting
        state = Mutex(claim.map(State.claimed) ?? .deferred)
    }

    var current: State { state.withLock { $0 } }

    /// The key's answer came from the key itself (a replay, the winner's response): an error the handler
    /// throws now is that answer (a conflict, a key still in progress), not a business outcome to store.
    var isSettled: Bool {
        if case .answered = current { return true }
        return false
    }

    var isClaimed: Bool {
        if case .claimed = current { return true }
        return false
    }

    func claimBeforeSideEffects() async throws -> Response? {
        guard case .deferred = current else { return nil }
        switch try await waiting.claim(scope: scope, key: key, fingerprint: fingerprint, first: nil, store: store) {
        case .claimed(let claim):
            state.withLock { $0 = .claimed(claim) }
            return nil
        case .answer(let response):
            state.withLock { $0 = .answered }
            return response
        }
    }

    func pendingCompletion(_ response: StoredResponse) -> IdempotencyCompletion? {
        guard case .deferred = current else { return nil }
        return IdempotencyCompletion(scope: scope, key: key, fingerprint: fingerprint, response: response)
    }

    func complete(_ response: StoredResponse, in executor: any SQLExecutor) async throws -> Bool {
        switch current {
        case .claimed(let claim):
            try await store.complete(claim, response: response, executor: executor)
            return true
        case .deferred:
            let completion = IdempotencyCompletion(scope: scope, key: key, fingerprint: fingerprint, response: response)
            return try await store.insertCompleted([completion], executor: executor).first ?? false
        case .committed, .answered, .released:
            preconditionFailure("complete() after the key's answer was settled")
        }
    }

    func committed() { state.withLock { $0 = .committed } }

    func answerAfterLoss() async throws -> Response {
        state.withLock { $0 = .answered }
        switch try await waiting.claim(scope: scope, key: key, fingerprint: fingerprint, first: nil, store: store) {
        case .answer(let response):
            return response
        case .claimed(let claim):
            // The winner's row expired or its holder died between our loss and now: nothing of this request
            // was written, so give the key back and let the client's retry run.
            await store.abandon(claim)
            throw KeyWaiting.inProgressError
        }
    }

    func release() async {
        let claim = state.withLock { state -> IdempotencyClaim? in
            defer { state = .released }
            if case .claimed(let claim) = state { return claim }
            return nil
        }
        if let claim { await store.abandon(claim) }
    }

    /// A deferred key's answer when the key already has one (a replay; a conflicting body or a duplicate still
    /// running, thrown as their 409), for an outcome that is not stored (a validation error, a 5xx): the handler
    /// ran without reading the key first, and a replay must answer as the first request did. nil: the key is
    /// unused, or could not be read, and the outcome in hand is the answer.
    func existingAnswer() async throws -> Response? {
        guard case .deferred = current else { return nil }
        let found: IdempotencyBeginResult
        do {
            guard case .found(let result) = try await store.lookup(scope: scope, key: key, fingerprint: fingerprint)
            else { return nil }
            found = result
        } catch {
            return nil
        }
        state.withLock { $0 = .answered }
        switch try await waiting.claim(scope: scope, key: key, fingerprint: fingerprint, first: found, store: store) {
        case .answer(let response):
            return response
        case .claimed(let claim):
            // The key expired or its holder died meanwhile: it is unused again, and the outcome in hand stands.
            state.withLock { $0 = .released }
            await store.abandon(claim)
            return nil
        }
    }

    /// A failed execution: a held claim goes back, so a retry runs again.
    func abandonClaim() async {
        if case .claimed(let claim) = current { await store.abandon(claim) }
    }

    /// After the handler returned `response`: store it as the key's answer unless it is stored already.
    func settle(_ response: Response) async throws -> Response {
        if response.bodyProducer != nil { try await refuseStreamed() }
        switch current {
        case .committed, .answered, .released:
            return response
        case .claimed(let claim):
            if response.status >= 500 {
                await store.abandon(claim)
            } else if try await !store.isCompleted(claim) {
                try await store.complete(claim, response: StoredResponse(response), executor: nil)
            }
            return response
        case .deferred:
            guard response.status < 500 else { return try await existingAnswer() ?? response }
            return try await storeDeferredOutcome(response)
        }
    }

    /// A streamed answer under a key is never stored: a replay needs the whole body, and a streamed one is never
    /// held whole. Routes that stream are refused when registered (`IdempotencyMiddleware.streamedRouteRefusal`);
    /// this is the net for a handler that streams without declaring it. A held claim goes back (nothing is
    /// stored, a retry runs again) and the request fails with an opaque 500, so the mistake shows at its first
    /// keyed call instead of replaying an empty body. A released or already answered key stores nothing anyway.
    private func refuseStreamed() async throws {
        switch current {
        case .claimed(let claim):
            await store.abandon(claim)
            throw AtlasError.internalError()
        case .deferred:
            throw AtlasError.internalError()
        case .committed, .answered, .released:
            return
        }
    }

    /// A deferred request's answer that its handler did not write: claim, then complete at once. When a
    /// duplicate got the key first, its answer is the key's answer.
    private func storeDeferredOutcome(_ response: Response) async throws -> Response {
        switch try await store.begin(scope: scope, key: key, fingerprint: fingerprint) {
        case .claimed(let claim):
            do {
                try await store.complete(claim, response: StoredResponse(response), executor: nil)
            } catch {
                await store.abandon(claim)
                throw error
            }
            return response
        case .replay(let stored): return KeyWaiting.replayed(stored)
        case .conflict: throw KeyWaiting.conflictError
        case .inProgress: return response
        }
    }
}
