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
    /// Merchant → organization, to hold partner keys to their own organization's merchants.
    let tenants: (any TenantDirectory)?

    init(services: ModuleServices, engine: CashRoundingEngine) {
        database = services.database
        tenants = services.tenants
        clock = services.clock
        crypto = services.crypto
        logger = services.logger
        self.engine = engine
        chain = AuditChain(crypto: services.crypto)
    }

    /// `PREFIX-YYYY-MM-DD-XXXXXXXX` (8 upper-case hex digits), the documented transaction id pattern.
    func recordId(_ prefix: String, on date: Date) -> String {
        let hex = Encoding.hex(crypto.randomBytes(count: 4)).uppercased()
        return "\(prefix)-\(CivilDate(date).iso8601)-\(hex)"
    }

    /// Runs one locked append in a transaction; retries when a generated record id collides.
    func appending<T: Sendable>(_ body: @escaping @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await database.transaction(body)
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

/// The state of a sale derived from its linked records (the sale record itself is never modified).
struct SaleState: Sendable {
    let sale: ChainRecord
    let linked: [ChainRecord]

    func int(_ key: String) -> Int64 { sale.record[key]?.intValue ?? 0 }
    var ledgerTotalCents: Int64 { int("ledger_total_cents") }
    /// The engine's cash total (before any override).
    var calculatedCashTotalCents: Int64 { int("cash_total_cents") }
    var voidRecord: ChainRecord? { linked.first { $0.record["event_type"]?.stringValue == "VOID" } }
    var refunds: [ChainRecord] { linked.filter { $0.record["event_type"]?.stringValue == "REFUND" } }
    var overrides: [ChainRecord] { linked.filter { $0.record["event_type"]?.stringValue == "OVERRIDE" } }
    /// The cash total used for settlement: the latest override's `new_cash_total_cents`, else the engine's.
    var effectiveCashTotalCents: Int64 {
        overrides.last?.record["new_cash_total_cents"]?.intValue ?? calculatedCashTotalCents
    }
    var refundedCashCents: Int64 { refunds.reduce(0) { $0 + ($1.record["refund_amount_cents"]?.intValue ?? 0) } }
    var refundedLedgerCents: Int64 { refunds.reduce(0) { $0 - ($1.record["ledger_total_cents"]?.intValue ?? 0) } }
    var refundDeltaSumCents: Int64 { refunds.reduce(0) { $0 + ($1.record["rounding_delta_cents"]?.intValue ?? 0) } }
    var calculation: JSONValue { sale.record["calculation"] ?? .null }

    static func load(_ executor: any SQLExecutor, sale: ChainRecord, tenant: TenantContext) async throws -> SaleState {
        SaleState(sale: sale, linked: try await ChainStore.linked(executor, to: sale.recordId, tenant: tenant))
    }
}

extension CashRoundingResult {
    /// The `calculation` object of §1.2 (plus the cash-portion fields for split tenders).
    func calculationJSON(subtotalCents: Int64, taxTotalCents: Int64, paymentMethod: TenderType, split: Bool) -> JSONValue {
        var object: [String: JSONValue] = [
            "subtotal_cents": .int(subtotalCents), "tax_total_cents": .int(taxTotalCents),
            "ledger_total_cents": .int(ledgerTotalMinorUnits), "cash_total_cents": .int(cashTotalMinorUnits),
            "rounding_delta_cents": .int(deltaMinorUnits), "payment_method": .string(paymentMethod.rawValue),
            "cash_rounding_mode": .string(mode.rawValue), "jurisdiction": .string(jurisdictionID),
            "rounding_applied": .bool(roundingApplied),
        ]
        if let ebtComplianceFlag { object["ebt_compliance_flag"] = .string(ebtComplianceFlag) }
        if split {
            object["is_split_tender"] = .bool(true)
            object["cash_portion_cents"] = .int(cashPortionLedgerMinorUnits)
            object["cash_portion_rounded_cents"] = .int(cashPortionRoundedMinorUnits)
        }
        return .object(object)
    }
}

extension JSONValue {
    /// Returns a copy of an object with `key` set (no-op for non-objects).
    func setting(_ key: String, _ value: JSONValue) -> JSONValue {
        guard case .object(var object) = self else { return self }
        object[key] = value
        return .object(object)
    }
}
