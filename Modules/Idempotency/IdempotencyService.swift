import Foundation
public import IdempotencyContract
public import Kernel

/// The idempotency platform module: durable Idempotency-Keys in PostgreSQL, the middleware that runs a
/// handler inside its key's scope, and the key writer a handler's own statement composes.
public final class IdempotencyService: IdempotencyProvider {
    /// How often expired keys are deleted.
    public static let purgeIntervalSeconds = 3_600

    public static var migrations: [Migration] { IdempotencySchema.migrations }

    let store: PostgresIdempotencyStore
    let crypto: any CryptoService
    let logger: Logger

    /// `batching`: concurrent claims and lookups share statements (off only to measure it).
    public init(database: any Database, clock: any WallClock, crypto: any CryptoService, logger: Logger,
                batching: Bool = true) {
        store = PostgresIdempotencyStore(database: database, clock: clock, crypto: crypto, logger: logger,
                                         batching: batching)
        self.crypto = crypto
        self.logger = logger
    }

    /// For a handler's statement that writes deferred keys with its own rows.
    public var keyWriter: any IdempotencyKeyWriter { store }

    /// The middleware for idempotent POST routes; `deferredClaim` hands the handler an unclaimed key.
    public func middleware(deferredClaim: Bool = false) -> any Middleware { idempotencyMiddleware(deferredClaim: deferredClaim) }

    func idempotencyMiddleware(deferredClaim: Bool) -> IdempotencyMiddleware {
        let crypto = crypto
        return IdempotencyMiddleware(store: store, hash: { crypto.sha256($0) }, deferredClaim: deferredClaim)
    }

    /// Deletes expired keys every `purgeIntervalSeconds` until cancelled.
    public func runBackgroundTasks() async {
        while !Task.isCancelled {
            do {
                let purged = try await store.purgeExpired()
                if purged > 0 { logger.info("purged expired idempotency keys", ["count": .int(Int64(purged))]) }
            } catch {
                logger.warning("idempotency purge failed", ["error": .string(String(describing: error))])
            }
            do { try await Task.sleep(for: .seconds(Self.purgeIntervalSeconds)) } catch { return }
        }
    }

    public func purgeExpired() async throws -> Int { try await store.purgeExpired() }
}
