import AccessContract
import CashRoundingContract
import Foundation
import Kernel

/// What every Rounding handler needs: the database, clock, engine, chain and logger.
struct RoundingService: Sendable {
    /// Attempts when a freshly generated record id collides with an existing one (8 hex digits per day).
    static let recordIdAttemptsMax = 3

    let database: any Database
    let clock: any WallClock
    let crypto: any CryptoService
    let logger: Logger
    let engine: CashRoundingEngine
    let chain: AuditChain
    let eventLog: any EventLogWriter
    /// Merchant → organization, to hold partner keys to their own organization's merchants.
    let tenants: (any TenantDirectory)?

    init(services: ModuleServices, engine: CashRoundingEngine) {
        database = services.database
        tenants = services.tenants
        clock = services.clock
        crypto = services.crypto
        logger = services.logger
        self.engine = engine
        eventLog = services.eventLog
        chain = AuditChain(crypto: services.crypto, eventLog: services.eventLog)
    }

    /// `PREFIX-YYYY-MM-DD-XXXXXXXX` (8 upper-case hex digits), the documented transaction id pattern.
    func recordId(_ prefix: String, on date: Date) -> String {
        let hex = Encoding.hex(crypto.randomBytes(count: 4)).uppercased()
        return "\(prefix)-\(CivilDate(date).iso8601)-\(hex)"
    }

    /// Runs one locked append in a transaction; retries when a generated record id collides. After the commit the
    /// event log is told (the append may have written a `rounding.recorded` event: consumers wake at once).
    func appending<T: Sendable>(_ body: @escaping @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                let result = try await database.transaction(body)
                eventLog.appendCommitted()
                return result
            } catch let error as DatabaseError where error.kind == .uniqueViolation
                && error.constraint == "rounding_records_record_id" && attempt < RoundingService.recordIdAttemptsMax {
                attempt += 1
            }
        }
    }

    static func engineError(_ error: CashRoundingError) -> AtlasError {
        AtlasError.invalidField(error.field, error.description, constraint: "rule")
    }

    static func notFound(_ what: String = "Transaction") -> AtlasError { AtlasError.notFound("\(what) not found") }

    static func conflict(_ message: String) -> AtlasError { AtlasError.conflict(code: "CONFLICT", message) }
}

extension JSONValue {
    /// Returns a copy of an object with `key` set (no-op for non-objects).
    func setting(_ key: String, _ value: JSONValue) -> JSONValue {
        guard case .object(var object) = self else { return self }
        object[key] = value
        return .object(object)
    }
}
