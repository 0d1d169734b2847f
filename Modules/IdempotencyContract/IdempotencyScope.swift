public import Kernel

/// The Idempotency-Key a request runs under, handed to its handler by the idempotency middleware
/// (`context.idempotency`). The handler runs inside the key's scope, like a body inside `transaction`:
/// its own write carries the key's completion, so the work and the stored answer commit together, and
/// every outcome is a value (no control flow by thrown errors).
///
/// Two ways in: on claim-first routes the key is already claimed when the handler starts
/// (`isClaimed`); on deferred routes it is not (one commit per request instead of two), and the handler
/// either writes it with its work (`pendingCompletion` / `complete(_:in:)`) or claims it first with
/// `claimBeforeSideEffects()` when running twice would have an external effect (a live card charge).
public protocol IdempotencyScope: AnyObject, Sendable {
    /// The key as the client sent it.
    var key: String { get }
    /// True once this request holds the key (claimed before the handler, or by `claimBeforeSideEffects`).
    var isClaimed: Bool { get }
    /// Claims the key now, before a side effect that must not run twice. nil: this request holds the key,
    /// go on. A response: the key's answer (a replay, 409 conflict or in progress); return it as it is.
    func claimBeforeSideEffects() async throws -> Response?
    /// The key's completion with `response`, to be written by the handler's own statement together with
    /// its rows (`IdempotencyKeyWriter.completionStatement`); nil when the key is claimed (use `complete`).
    func pendingCompletion(_ response: StoredResponse) -> IdempotencyCompletion?
    /// Inside the handler's open transaction: completes the key with `response`. False when a duplicate
    /// committed the key first (deferred keys only): the caller must roll back and answer with
    /// `answerAfterLoss()`.
    func complete(_ response: StoredResponse, in executor: any SQLExecutor) async throws -> Bool
    /// Call once the handler's write that completed the key committed (the middleware then stores nothing).
    func committed()
    /// After a lost key: the key's answer (the winner's stored response, replayed), waiting for it if needed.
    func answerAfterLoss() async throws -> Response
    /// Gives the key up without an answer (a transient refusal such as a busy terminal): a retry runs anew.
    func release() async
}

/// A deferred key's completion, written by its handler's statement. Built by the idempotency module.
public struct IdempotencyCompletion: Sendable {
    public let scope: String
    public let key: String
    public let fingerprint: String
    public let response: StoredResponse

    public init(scope: String, key: String, fingerprint: String, response: StoredResponse) {
        self.scope = scope
        self.key = key
        self.fingerprint = fingerprint
        self.response = response
    }
}

/// Writes deferred keys' completions as part of a caller's own statement (implemented by the
/// idempotency module; features never name its table).
public protocol IdempotencyKeyWriter: Sendable {
    /// `INSERT … RETURNING claim_token` of the completions, for a CTE of the caller's statement; its binds
    /// are numbered from `bindOffset + 1`. nil when `completions` is empty.
    func completionStatement(_ completions: [IdempotencyCompletion], bindOffset: Int) -> IdempotencyKeysStatement?
}

extension IdempotencyKeyWriter {
    /// The completion statement run on its own in the caller's transaction; per completion, whether it won
    /// its key (an earlier completion of the same call for the same key, or a committed key, loses).
    public func insertCompleted(_ completions: [IdempotencyCompletion], executor: any SQLExecutor) async throws
        -> [Bool] {
        guard let statement = completionStatement(completions, bindOffset: 0) else { return [] }
        let won = Set(try await executor.query(statement.sql).map { try $0.decode("claim_token", as: String.self) })
        return statement.tokens.map { token in token.map(won.contains) ?? false }
    }
}

/// A composable write of deferred keys: a completion won its key when its token is among the tokens the
/// statement returned.
public struct IdempotencyKeysStatement: Sendable {
    public let sql: SQL
    /// Per completion, the token it competes with; nil when an earlier completion of the same call has
    /// its key (it lost already).
    public let tokens: [String?]

    public init(sql: SQL, tokens: [String?]) {
        self.sql = sql
        self.tokens = tokens
    }
}

extension RequestContext {
    /// The request's Idempotency-Key scope on routes behind the idempotency middleware (nil without a key).
    public var idempotency: (any IdempotencyScope)? {
        get { value(IdempotencyScopeSlot.self) }
        set { setValue(newValue, for: IdempotencyScopeSlot.self) }
    }
}

private enum IdempotencyScopeSlot: RequestContextSlot {
    typealias Value = any IdempotencyScope
}

/// What the idempotency module provides to feature modules (registered in the contract registry).
public protocol IdempotencyProvider: Sendable {
    /// The middleware for idempotent POST routes; `deferredClaim` hands the handler an unclaimed key.
    func middleware(deferredClaim: Bool) -> any Middleware
    var keyWriter: any IdempotencyKeyWriter { get }
}

extension ModuleServices {
    /// The idempotency middleware for POST routes (claim the key, then run the handler inside its scope).
    public var idempotencyMiddleware: any Middleware { idempotencyMiddleware(deferredClaim: false) }

    /// With `deferredClaim`, the handler gets the key unclaimed and writes it with its own work.
    public func idempotencyMiddleware(deferredClaim: Bool) -> any Middleware {
        contracts.require((any IdempotencyProvider).self).middleware(deferredClaim: deferredClaim)
    }

    /// Writes deferred keys' completions inside a handler's own statement.
    public var idempotencyKeys: any IdempotencyKeyWriter { contracts.require((any IdempotencyProvider).self).keyWriter }
}
