import IdempotencyContract
import Kernel

/// A write whose commit also stores the request's Idempotency-Key answer (the key's scope joins the
/// write, like a body inside `transaction`), so the work and its stored answer commit together.
enum KeyedWrite {
    /// Runs `body` in one database transaction that also completes `key` with the response `body`
    /// returns (nil: nothing to store). A deferred key lost to a duplicate that committed first rolls the
    /// transaction back; the answer is then the key's existing answer.
    static func transaction(key: (any IdempotencyScope)?, database: any Database,
                            _ body: @escaping @Sendable (any SQLExecutor) async throws -> Response?) async throws
        -> Response? {
        let response: Response?
        do {
            response = try await database.transaction { tx in
                guard let response = try await body(tx) else { return nil }
                try await complete(key, with: response, in: tx)
                return response
            }
        } catch is KeyLost {
            guard let key else { preconditionFailure("only a key can be lost") }
            return try await key.answerAfterLoss()
        }
        if response != nil { key?.committed() }
        return response
    }

    /// Inside an open transaction: completes `key` with `response`; a lost deferred key throws `KeyLost`
    /// so the transaction rolls back.
    static func complete(_ key: (any IdempotencyScope)?, with response: Response, in executor: any SQLExecutor)
        async throws {
        guard let key else { return }
        guard try await key.complete(StoredResponse(response), in: executor) else { throw KeyLost() }
    }

    /// Thrown only inside a keyed write's transaction, to roll it back; answered right outside it.
    struct KeyLost: Error {}
}
