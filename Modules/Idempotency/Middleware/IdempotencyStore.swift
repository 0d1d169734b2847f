import IdempotencyContract
import Kernel

/// A request's hold on a key after a classic claim: completing it stores the answer.
struct IdempotencyClaim: Sendable, Hashable {
    let scope: String
    let key: String
    let token: String
}

enum IdempotencyBeginResult: Sendable {
    /// This request owns the key and must run, then complete or abandon the claim.
    case claimed(IdempotencyClaim)
    /// A request with this key and the same fingerprint already completed.
    case replay(StoredResponse)
    /// The key was first used with a different method, path or body.
    case conflict
    /// Another request with this key is still running.
    case inProgress
}

/// The read-only first look of a deferred key.
enum IdempotencyLookupResult: Sendable {
    /// No live row: the handler may run and write the key with its work.
    case absent
    /// A row exists: replay, conflict or in progress (never `.claimed`).
    case found(IdempotencyBeginResult)
}

/// Durable idempotency keys, scoped per merchant, mode and credential, kept 24 hours from first use.
protocol IdempotencyStore: IdempotencyKeyWriter {
    func begin(scope: String, key: String, fingerprint: String) async throws -> IdempotencyBeginResult
    /// Stores the answer; with `executor`, the write joins the caller's database transaction.
    func complete(_ claim: IdempotencyClaim, response: StoredResponse, executor: (any SQLExecutor)?) async throws
    /// Releases a claim without a stored answer.
    func abandon(_ claim: IdempotencyClaim) async
    /// True once `complete` was committed for this claim.
    func isCompleted(_ claim: IdempotencyClaim) async throws -> Bool
    /// Read-only: what a deferred key would find now.
    func lookup(scope: String, key: String, fingerprint: String) async throws -> IdempotencyLookupResult
    /// Deferred keys written, completed, in the caller's transaction; per completion, whether it won its key.
    func insertCompleted(_ completions: [IdempotencyCompletion], executor: any SQLExecutor) async throws -> [Bool]
}
