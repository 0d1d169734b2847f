import Foundation
import Synchronization

/// A response as stored for replay.
public struct StoredResponse: Sendable, Hashable {
    public let status: Int
    public let headers: [String: String]
    public let body: [UInt8]

    public init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(_ response: Response) {
        var headers: [String: String] = [:]
        for field in response.headers where StoredResponse.replayedHeaderNames.contains(field.name.lowercased()) {
            headers[field.name] = field.value
        }
        self.init(status: response.status, headers: headers, body: response.body)
    }

    /// Only content headers are replayed; rate-limit and request-id headers belong to the new request.
    static let replayedHeaderNames: Set<String> = ["content-type", "location"]

    public var response: Response {
        var response = Response(status: status, body: body)
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { response.headers.add(name, value) }
        return response
    }
}

/// The winner's hold on an idempotency key. Completing it stores the response for replays.
public struct IdempotencyClaim: Sendable, Hashable {
    public let scope: String
    public let key: String
    public let token: String
    /// Shared by every copy of this claim: set by a handler once the transaction that completed the
    /// claim has COMMITTED, so the middleware can skip its `isCompleted` database read.
    public let completion: IdempotencyCompletion

    public init(scope: String, key: String, token: String) {
        self.scope = scope
        self.key = key
        self.token = token
        self.completion = IdempotencyCompletion()
    }

    /// Call only after the transaction that ran `IdempotencyStore.complete(claim, executor:)` committed.
    public func markCommitted() { completion.markCommitted() }

    public static func == (lhs: IdempotencyClaim, rhs: IdempotencyClaim) -> Bool {
        lhs.scope == rhs.scope && lhs.key == rhs.key && lhs.token == rhs.token
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(scope)
        hasher.combine(key)
        hasher.combine(token)
    }
}

/// In-process, reference-typed "the completion committed" flag (see `IdempotencyClaim.completion`).
public final class IdempotencyCompletion: Sendable {
    private let committed = Atomic<Bool>(false)

    public init() {}

    public var isCommitted: Bool { committed.load(ordering: .acquiring) }

    public func markCommitted() { committed.store(true, ordering: .releasing) }
}

public enum IdempotencyBeginResult: Sendable {
    /// This request owns the key and must run, then complete or abandon the claim.
    case claimed(IdempotencyClaim)
    /// A request with this key and the same fingerprint already completed.
    case replay(StoredResponse)
    /// The key was first used with a different method, path or body.
    case conflict
    /// Another request with this key is still running.
    case inProgress
}

/// A key that no request has claimed yet, handed to a handler that writes the key itself, already
/// completed with its response, inside the transaction that does the work (see
/// `IdempotencyMiddleware.deferredClaim`). One commit per request instead of two.
public struct DeferredIdempotencyClaim: Sendable {
    public let scope: String
    public let key: String
    public let fingerprint: String
    /// Set by the handler once the transaction that wrote the completed key COMMITTED.
    public let completion: IdempotencyCompletion

    public init(scope: String, key: String, fingerprint: String) {
        self.scope = scope
        self.key = key
        self.fingerprint = fingerprint
        self.completion = IdempotencyCompletion()
    }

    /// Call only after the transaction that ran `IdempotencyStore.insertCompleted` (and won) committed.
    public func markCommitted() { completion.markCommitted() }
}

/// The read-only first look of a deferred claim.
public enum IdempotencyLookupResult: Sendable {
    /// No live row: the handler may run and write the key with its work.
    case absent
    /// A row exists: replay, conflict or in progress (never `.claimed`).
    case found(IdempotencyBeginResult)
    /// The store cannot defer claims; use `begin`.
    case unsupported
}

/// Thrown out of a handler whose transaction lost its deferred key to a concurrent duplicate that
/// committed first (the handler's own rows were rolled back or never written). The middleware then
/// answers like any duplicate: the winner's stored response, or 409.
public struct IdempotencyDeferredClaimLost: Error, Sendable {
    public init() {}
}

/// Thrown by a handler, before any side effect, when this request must not run on a deferred claim
/// (e.g. a live card authorization: a losing duplicate would already have charged the card). The
/// middleware then claims the key first, the classic way, and runs the handler again.
public struct IdempotencyClaimRequired: Error, Sendable {
    public init() {}
}

/// Durable idempotency keys, scoped per merchant, mode and credential, kept 24 hours from first use.
public protocol IdempotencyStore: Sendable {
    func begin(scope: String, key: String, fingerprint: String) async throws -> IdempotencyBeginResult
    /// Stores the response. With `executor`, the write joins the caller's database transaction.
    func complete(_ claim: IdempotencyClaim, response: StoredResponse, executor: (any SQLExecutor)?) async throws
    /// Releases a claim without a stored response (the request failed before executing).
    func abandon(_ claim: IdempotencyClaim) async
    /// True once `complete` was committed for this claim.
    func isCompleted(_ claim: IdempotencyClaim) async throws -> Bool
    /// Read-only: what a deferred claim would find for this key now.
    func lookup(scope: String, key: String, fingerprint: String) async throws -> IdempotencyLookupResult
    /// Inside the caller's transaction: writes each key as completed with its response. Returns, per
    /// claim, whether it won; a losing caller must not commit its work. Of several claims for one key,
    /// at most one wins; a key committed by another transaction (or in progress there) is lost.
    func insertCompleted(_ claims: [DeferredIdempotencyClaim], responses: [StoredResponse],
                         executor: any SQLExecutor) async throws -> [Bool]
    /// `insertCompleted` as one composable statement (`INSERT … RETURNING claim_token`), so a caller can
    /// write the keys and its own rows in ONE autocommitted statement (a data-modifying CTE): one round
    /// trip and one commit instead of BEGIN, two statements and COMMIT. nil: the store cannot (use
    /// `insertCompleted` in a transaction).
    func insertCompletedStatement(_ claims: [DeferredIdempotencyClaim], responses: [StoredResponse],
                                  bindOffset: Int) -> DeferredKeysStatement?
}

/// The write of deferred keys as a statement to compose: binds are numbered from `bindOffset + 1`.
public struct DeferredKeysStatement: Sendable {
    /// `INSERT … RETURNING claim_token`; a returned token won its key.
    public let sql: SQL
    /// Per claim, the token it competes with; nil when an earlier claim in the same call has its key
    /// (it lost already).
    public let tokens: [String?]

    public init(sql: SQL, tokens: [String?]) {
        self.sql = sql
        self.tokens = tokens
    }
}

extension IdempotencyStore {
    /// Stores without deferred claims keep the classic claim-first path.
    public func lookup(scope: String, key: String, fingerprint: String) async throws -> IdempotencyLookupResult {
        .unsupported
    }

    public func insertCompleted(_ claims: [DeferredIdempotencyClaim], responses: [StoredResponse],
                                executor: any SQLExecutor) async throws -> [Bool] {
        claims.map { _ in false }
    }

    public func insertCompletedStatement(_ claims: [DeferredIdempotencyClaim], responses: [StoredResponse],
                                         bindOffset: Int) -> DeferredKeysStatement? {
        nil
    }
}

/// Applies the Idempotency-Key contract to POST routes: same key + same body → the stored
/// response with `Idempotent-Replayed: true`; same key + different body → 409
/// IDEMPOTENCY_CONFLICT; a concurrent duplicate waits for the first to finish (up to
/// `inProgressWaitSeconds`), then gets its stored response, else 409 REQUEST_IN_PROGRESS.
/// Place it after the access guard so the scope includes the authenticated principal.
///
/// With `deferredClaim`, the key is not claimed up front (one commit) before the handler's own
/// transaction (a second commit): a read-only lookup answers replays and conflicts, and an unused
/// key goes to the handler as `RequestContext.deferredIdempotencyClaim`; the handler writes the key,
/// completed, inside its own transaction (`IdempotencyStore.insertCompleted`). Concurrent duplicates
/// may then both EXECUTE up to that write, but only one commits; the others roll back and replay the
/// winner. So a handler may accept a deferred claim only when executing twice has no external effect
/// (e.g. the simulator, cash); otherwise it throws `IdempotencyClaimRequired` and gets a classic claim.
public struct IdempotencyMiddleware: Middleware {
    public static let keyLengthMax = 255
    public let store: any IdempotencyStore
    public let inProgressWaitSeconds: Double
    public let pollIntervalMilliseconds: Int
    public let hash: @Sendable ([UInt8]) -> [UInt8]
    /// Opt-in per route: hand the handler a deferred claim instead of claiming first (see above).
    public let deferredClaim: Bool

    public init(store: any IdempotencyStore, hash: @escaping @Sendable ([UInt8]) -> [UInt8],
                inProgressWaitSeconds: Double = 30, pollIntervalMilliseconds: Int = 10, deferredClaim: Bool = false) {
        self.store = store
        self.hash = hash
        self.inProgressWaitSeconds = inProgressWaitSeconds
        self.pollIntervalMilliseconds = pollIntervalMilliseconds
        self.deferredClaim = deferredClaim
    }

    public func respond(to request: Request, context: RequestContext, next: Handler) async throws -> Response {
        guard request.method == .post, let key = request.headers["Idempotency-Key"] else {
            return try await next(request, context)
        }
        guard !key.isEmpty, key.utf8.count <= IdempotencyMiddleware.keyLengthMax,
              key.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) else {
            let constraint = key.isEmpty ? "minLength" : key.utf8.count > IdempotencyMiddleware.keyLengthMax ? "maxLength" : "format"
            throw AtlasError.invalidField("Idempotency-Key", "Idempotency-Key must be 1 to 255 printable ASCII characters",
                                          constraint: constraint)
        }
        let scope = IdempotencyMiddleware.scope(for: context)
        let fingerprint = Encoding.hex(hash(Array("\(request.method.rawValue) \(request.path)\n".utf8) + request.body))
        var first: IdempotencyBeginResult?
        if deferredClaim {
            switch try await store.lookup(scope: scope, key: key, fingerprint: fingerprint) {
            case .absent:
                let deferred = DeferredIdempotencyClaim(scope: scope, key: key, fingerprint: fingerprint)
                if let response = try await runDeferred(deferred, request: request, context: context, next: next) {
                    return response
                }
            case .found(let result): first = result
            case .unsupported: break
            }
        }
        return try await claimAndRun(scope: scope, key: key, fingerprint: fingerprint, first: first,
                                     request: request, context: context, next: next)
    }

    /// The classic path: claim the key (or replay / conflict / wait), then run the handler as the owner.
    private func claimAndRun(scope: String, key: String, fingerprint: String, first: IdempotencyBeginResult?,
                             request: Request, context: RequestContext, next: Handler) async throws -> Response {
        let deadline = Date().addingTimeInterval(inProgressWaitSeconds)
        var pending = first
        while true {
            let result: IdempotencyBeginResult
            if let taken = pending {
                result = taken
                pending = nil
            } else {
                result = try await store.begin(scope: scope, key: key, fingerprint: fingerprint)
            }
            switch result {
            case .claimed(let claim):
                return try await run(claim, request: request, context: context, next: next)
            case .replay(let stored):
                return IdempotencyMiddleware.replayed(stored)
            case .conflict:
                throw IdempotencyMiddleware.conflictError
            case .inProgress:
                guard Date() < deadline else {
                    throw AtlasError(kind: .requestInProgress, status: 409, code: "REQUEST_IN_PROGRESS",
                                     message: "A request with this Idempotency-Key is still in progress")
                }
                try await Task.sleep(for: .milliseconds(pollIntervalMilliseconds))
            }
        }
    }

    /// Runs the handler on a deferred claim. nil: the handler refused it or lost the key to a duplicate;
    /// the caller continues on the classic path (which replays the winner or claims the key).
    private func runDeferred(_ deferred: DeferredIdempotencyClaim, request: Request, context: RequestContext,
                             next: Handler) async throws -> Response? {
        var context = context
        context.deferredIdempotencyClaim = deferred
        let response: Response
        do {
            response = try await next(request, context)
        } catch is IdempotencyClaimRequired {
            return nil
        } catch is IdempotencyDeferredClaimLost {
            return nil
        } catch let error as AtlasError where !IdempotencyMiddleware.isPreExecution(error) && error.status < 500 {
            // A business outcome without the handler's write: store it the classic way (or yield to a winner).
            response = context.errorRenderer.render(error, requestId: request.requestId)
        }
        // 5xx and unknown errors propagate above: nothing was stored, a retry runs again.
        if response.status >= 500 || deferred.completion.isCommitted { return response }
        return try await storeOutcome(response, of: deferred)
    }

    /// Stores a deferred request's outcome that its handler did not write: claim, then complete at once.
    /// When a duplicate got the key first, its answer is the key's answer.
    private func storeOutcome(_ response: Response, of deferred: DeferredIdempotencyClaim) async throws -> Response {
        switch try await store.begin(scope: deferred.scope, key: deferred.key, fingerprint: deferred.fingerprint) {
        case .claimed(let claim):
            do {
                try await store.complete(claim, response: StoredResponse(response), executor: nil)
            } catch {
                await store.abandon(claim)
                throw error
            }
            return response
        case .replay(let stored): return IdempotencyMiddleware.replayed(stored)
        case .conflict: throw IdempotencyMiddleware.conflictError
        case .inProgress: return response
        }
    }

    static func replayed(_ stored: StoredResponse) -> Response {
        var response = stored.response
        response.headers.set("Idempotent-Replayed", "true")
        return response
    }

    static var conflictError: AtlasError {
        AtlasError(kind: .idempotencyConflict, status: 409, code: "IDEMPOTENCY_CONFLICT",
                   message: "Idempotency-Key was already used with a different request body")
    }

    private func run(_ claim: IdempotencyClaim, request: Request, context: RequestContext, next: Handler) async throws
        -> Response {
        var context = context
        context.idempotencyClaim = claim
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as AtlasError where !IdempotencyMiddleware.isPreExecution(error) && error.status < 500 {
            // A business outcome (decline, busy terminal, state conflict) is the request's answer: store it.
            response = context.errorRenderer.render(error, requestId: request.requestId)
        } catch {
            // Validation/auth failures did not execute; 5xx and unknown errors may be retried.
            await store.abandon(claim)
            throw error
        }
        if response.status >= 500 {
            await store.abandon(claim)
        } else if !claim.completion.isCommitted, try await !store.isCompleted(claim) {
            // The read is skipped when the handler completed the claim in its own, committed transaction.
            try await store.complete(claim, response: StoredResponse(response), executor: nil)
        }
        return response
    }

    /// Validation and auth failures happen before execution and are not cached (the spec's reading).
    static func isPreExecution(_ error: AtlasError) -> Bool {
        [.missingField, .invalidField, .invalidAmount, .invalidCurrency, .malformedBody, .unsupportedMediaType,
         .unauthorized, .forbidden, .rateLimited].contains(error.kind)
    }

    static func scope(for context: RequestContext) -> String {
        guard let principal = context.principal else { return "anonymous" }
        let terminal = principal.terminalId ?? "-"
        return "\(principal.tenant.merchantId)|\(principal.tenant.mode.rawValue)|\(principal.id)|\(terminal)"
    }
}
