import Foundation
import IdempotencyContract
public import Kernel

/// Applies the Idempotency-Key contract to POST routes: same key + same body → the stored response
/// with `Idempotent-Replayed: true`; same key + different body → 409 IDEMPOTENCY_CONFLICT; a concurrent
/// duplicate waits for the first to finish (up to `inProgressWaitSeconds`), then gets its stored
/// response, else 409 REQUEST_IN_PROGRESS. Place it after the access guard so the scope includes the
/// authenticated principal. The handler runs inside a `KeyScope` (`context.idempotency`).
///
/// With `deferredClaim`, the key is neither claimed (a commit) nor read (a round trip) before the handler: it
/// reaches the handler unclaimed, and the handler writes it, completed, with its own work. A replay, a
/// conflicting body and concurrent duplicates all EXECUTE up to that write, but only the first commits; the
/// others write nothing and answer with the key's answer (the stored response replayed, 409 conflict).
/// WHY no read first: nearly every key is new, and the read cost each of them a round trip for the rare
/// replay. An answer that did not go through the key's write (a validation error, a 5xx) is checked against
/// the key before it is sent, so a replay answers with its stored response whatever the handler meets now.
/// A handler whose work must not run twice (a live card charge) claims first with `claimBeforeSideEffects()`.
public struct IdempotencyMiddleware: Middleware, RouteSchemaContributor {
    public static let keyLengthMax = 255
    let store: any IdempotencyStore
    let waiting: KeyWaiting
    let hash: @Sendable ([UInt8]) -> [UInt8]
    /// Opt-in per route: hand the handler an unclaimed key (see above).
    let deferredClaim: Bool

    init(store: any IdempotencyStore, hash: @escaping @Sendable ([UInt8]) -> [UInt8], waiting: KeyWaiting = KeyWaiting(),
         deferredClaim: Bool = false) {
        self.store = store
        self.hash = hash
        self.waiting = waiting
        self.deferredClaim = deferredClaim
    }

    /// The route's API document lists the optional Idempotency-Key header and its replay and conflict answers.
    /// Called when the route is registered, so a route that streams its body is refused at startup.
    public func contribute(to schema: inout RouteSchema) {
        if let refusal = Self.streamedRouteRefusal(schema) { preconditionFailure(refusal) }
        schema.acceptsIdempotencyKey = true
    }

    /// Why a route cannot sit behind this middleware, or nil. A replay answers with the stored body, so only a
    /// finished body can be stored; a streamed one (`RouteSchema.streamsBody`) is produced while it is sent and
    /// never held whole. Storing it would keep an empty or a cut body, or buffer the export the stream exists to
    /// avoid. A programmer error: the process stops at startup (`IdempotencyTests` checks this function and
    /// the product's route table).
    public static func streamedRouteRefusal(_ schema: RouteSchema) -> String? {
        guard schema.streamsBody else { return nil }
        let name = schema.operationId ?? schema.summary
        return "route \(name) streams its body (Response.streamed) and cannot take an Idempotency-Key: "
            + "a streamed body is never stored for replay; serve it from a GET, or answer with a finished body"
    }

    public func respond(to request: Request, context: RequestContext, next: Handler) async throws -> Response {
        guard request.method == .post, let key = request.headers["Idempotency-Key"] else {
            return try await next(request, context)
        }
        try Self.validate(key)
        let scopeName = Self.scope(for: context)
        let fingerprint = Encoding.hex(hash(Array("\(request.method.rawValue) \(request.path)\n".utf8) + request.body))
        if deferredClaim {
            let scope = KeyScope(scope: scopeName, key: key, fingerprint: fingerprint, claim: nil, store: store,
                                 waiting: waiting)
            return try await run(scope, request: request, context: context, next: next)
        }
        switch try await waiting.claim(scope: scopeName, key: key, fingerprint: fingerprint, first: nil, store: store) {
        case .claimed(let claim):
            let scope = KeyScope(scope: scopeName, key: key, fingerprint: fingerprint, claim: claim, store: store,
                                 waiting: waiting)
            return try await run(scope, request: request, context: context, next: next)
        case .answer(let response):
            return response
        }
    }

    /// Runs the handler inside `scope`, then stores its answer unless the handler's own commit did.
    private func run(_ scope: KeyScope, request: Request, context: RequestContext, next: Handler) async throws -> Response {
        var context = context
        context.idempotency = scope
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as AtlasError where !Self.isPreExecution(error) && error.status < 500 && !scope.isSettled {
            // A business outcome (decline, busy terminal, state conflict) is the request's answer: store it.
            response = context.errorRenderer.render(error, requestId: request.requestId)
        } catch {
            // Validation/auth failures did not execute; 5xx and unknown errors may be retried. Unless the key
            // already has an answer: a deferred key was not read before the handler ran.
            if let answer = try await scope.existingAnswer() { return answer }
            await scope.abandonClaim()
            throw error
        }
        return try await scope.settle(response)
    }

    static func validate(_ key: String) throws(AtlasError) {
        guard !key.isEmpty, key.utf8.count <= keyLengthMax,
              key.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) else {
            let constraint = key.isEmpty ? "minLength" : key.utf8.count > keyLengthMax ? "maxLength" : "format"
            throw AtlasError.invalidField("Idempotency-Key", "Idempotency-Key must be 1 to 255 printable ASCII characters",
                                          constraint: constraint)
        }
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

/// How a request waits for a key another request holds: poll until it completes or the wait ends.
struct KeyWaiting: Sendable {
    var inProgressWaitSeconds: Double = 30
    var pollIntervalMilliseconds: Int = 10

    enum Outcome: Sendable {
        /// This request holds the key now.
        case claimed(IdempotencyClaim)
        /// The key's answer for this request: a replay (or an error thrown: conflict, still in progress).
        case answer(Response)
    }

    /// Claims the key, or waits for its holder and answers with its response. `first`: a result already read.
    func claim(scope: String, key: String, fingerprint: String, first: IdempotencyBeginResult?,
               store: any IdempotencyStore) async throws -> Outcome {
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
            case .claimed(let claim): return .claimed(claim)
            case .replay(let stored): return .answer(Self.replayed(stored))
            case .conflict: throw Self.conflictError
            case .inProgress:
                guard Date() < deadline else { throw Self.inProgressError }
                try await Task.sleep(for: .milliseconds(pollIntervalMilliseconds))
            }
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

    static var inProgressError: AtlasError {
        AtlasError(kind: .requestInProgress, status: 409, code: "REQUEST_IN_PROGRESS",
                   message: "A request with this Idempotency-Key is still in progress")
    }
}
