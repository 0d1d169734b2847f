import AtlasTestSupport
import Crypto
import Foundation
import Kernel
import Postgres
@testable import Idempotency

/// A fresh database with the idempotency module's table and its PostgreSQL store.
struct IdempotencyFixture {
    let database: PostgresDatabase
    let store: PostgresIdempotencyStore
    let merchantId = "mer_idempotency"

    static func make() async throws -> IdempotencyFixture {
        let database = try await TestDatabase.fresh(migrations: IdempotencyService.migrations)
        let store = PostgresIdempotencyStore(database: database, clock: SystemWallClock(), crypto: OpenSSLCryptoService(),
                                             logger: Logger(label: "test", minimumLevel: .error), batching: true)
        return IdempotencyFixture(database: database, store: store)
    }
}
