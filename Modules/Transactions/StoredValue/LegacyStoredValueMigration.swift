import Foundation
public import Kernel
public import StoredValueContract

/// Moves the balances still held in Transactions' legacy table `transactions_stored_value_cards` into the one card
/// registry (issue 12 part 3), through `StoredValueLedger`: Transactions reads only its own table and the registry
/// writes only its own, so no module touches another's tables. `atlas admin stored-value-migrate-legacy`.
///
/// Per card, one database transaction deletes the legacy row and credits its balance to the registry card of the
/// same card-number hash (`StoredValuePAN.hash` is the one definition, so the hashes agree; a number the registry
/// does not know gets its `pan_` card, as at a first load). A crash leaves every card either moved or not moved,
/// and a second run finds nothing left to move. The credit appends `stored_value.loaded` with reference
/// `legacy-migration`, so the ledger sees the opening balance once and can tell it from a new load.
///
/// A card the registry refuses (it holds another currency, is blocked, or the sum would pass its ceiling) stays in
/// the legacy table untouched and is reported; fix it and run again.
public struct LegacyStoredValueMigration: Sendable {
    public static let reference = "legacy-migration"

    /// Every limit of a run, named.
    public struct Limits: Sendable, Hashable {
        /// Legacy rows read per keyset page.
        public var pageRowsMax = 500
        public init() {}
    }

    /// A legacy card left in place, and why.
    public struct Refusal: Sendable, Hashable {
        public let tenant: TenantContext
        public let maskedPan: String
        public let currency: String
        public let balance: Int64
        public let reason: String
    }

    public struct Report: Sendable, Hashable {
        /// Cards whose balance was credited to the registry.
        public var moved = 0
        /// Minor units moved, per currency.
        public var movedAmounts: [String: Int64] = [:]
        /// Legacy rows with balance 0: deleted, nothing credited.
        public var emptied = 0
        public var refused: [Refusal] = []

        public var json: JSONValue {
            ["moved": .int(Int64(moved)), "emptied": .int(Int64(emptied)),
             "movedAmounts": .object(movedAmounts.mapValues { .int($0) }),
             "refused": .array(refused.map { refusal in
                 ["merchantId": .string(refusal.tenant.merchantId), "mode": .string(refusal.tenant.mode.rawValue),
                  "maskedPan": .string(refusal.maskedPan), "currency": .string(refusal.currency),
                  "balance": .int(refusal.balance), "reason": .string(refusal.reason)]
             })]
        }
    }

    let database: any Database
    let ledger: any StoredValueLedger
    let limits: Limits

    public init(database: any Database, ledger: any StoredValueLedger, limits: Limits = Limits()) {
        self.database = database
        self.ledger = ledger
        self.limits = limits
    }

    /// Moves every legacy card (of one merchant when `merchantId` is given), page by page in key order.
    public func run(merchantId: String? = nil) async throws -> Report {
        var report = Report()
        var after: LegacyKey?
        while true {
            let keys = try await page(after: after, merchantId: merchantId)
            for key in keys { try await move(key, into: &report) }
            guard keys.count == limits.pageRowsMax, let last = keys.last else { return report }
            after = last
        }
    }

    struct LegacyKey: Sendable {
        let tenant: TenantContext
        let cardHash: [UInt8]
    }

    private func page(after: LegacyKey?, merchantId: String?) async throws -> [LegacyKey] {
        let sql: SQL = if let after {
            """
            SELECT merchant_id, mode, card_hash FROM transactions_stored_value_cards
            WHERE (merchant_id, mode, card_hash) > (\(after.tenant.merchantId), \(after.tenant.mode), \(after.cardHash))\
            \(and: "merchant_id = ?", merchantId)
            ORDER BY merchant_id, mode, card_hash LIMIT \(limits.pageRowsMax)
            """
        } else {
            """
            SELECT merchant_id, mode, card_hash FROM transactions_stored_value_cards WHERE true\(and: "merchant_id = ?", merchantId)
            ORDER BY merchant_id, mode, card_hash LIMIT \(limits.pageRowsMax)
            """
        }
        let rows = try await database.query(sql)
        return try rows.map { row in
            guard let mode = Mode(rawValue: try row.decode("mode", as: String.self)) else {
                throw DatabaseError(kind: .decoding, message: "unexpected mode in transactions_stored_value_cards")
            }
            return LegacyKey(tenant: TenantContext(merchantId: try row.decode("merchant_id"), mode: mode),
                             cardHash: try row.decode("card_hash"))
        }
    }

    /// Thrown inside a card's transaction to roll its delete back when the registry refuses the credit.
    private struct Refused: Error {
        let refusal: Refusal
    }

    private func move(_ key: LegacyKey, into report: inout Report) async throws {
        let ledger = ledger
        do {
            let moved = try await database.transaction { tx -> (currency: String, amount: Int64)? in
                guard let row = try await tx.queryFirst("""
                    DELETE FROM transactions_stored_value_cards
                    WHERE merchant_id = \(key.tenant.merchantId) AND mode = \(key.tenant.mode) AND card_hash = \(key.cardHash)
                    RETURNING masked_pan, currency, balance
                    """) else { return nil }  // another run moved it meanwhile
                let (maskedPan, currency, balance): (String, String, Int64) =
                    (try row.decode("masked_pan"), try row.decode("currency"), try row.decode("balance"))
                precondition(balance >= 0, "a legacy stored-value balance is never negative (CHECK)")
                guard balance > 0 else { return (currency, 0) }
                do throws(StoredValueLedgerError) {
                    _ = try await ledger.credit(panHash: key.cardHash, maskedPan: maskedPan, amount: balance, currency: currency,
                                                reference: Self.reference, tenant: key.tenant, in: tx)
                } catch {
                    // A registry that fails is not a refusal: the run stops, and this card's delete rolls back.
                    if case .unavailable = error { throw error }
                    throw Refused(refusal: Refusal(tenant: key.tenant, maskedPan: maskedPan, currency: currency,
                                                   balance: balance, reason: Self.reason(error)))
                }
                return (currency, balance)
            }
            guard let moved else { return }
            if moved.amount == 0 {
                report.emptied += 1
            } else {
                report.moved += 1
                report.movedAmounts[moved.currency, default: 0] += moved.amount
            }
        } catch let refused as Refused {
            report.refused.append(refused.refusal)
        }
    }

    static func reason(_ error: StoredValueLedgerError) -> String {
        switch error {
        case .currencyMismatch: "the registry card holds another currency"
        case .balanceLimit(let maximum): "the balance would pass the card's ceiling of \(maximum) minor units"
        case .cardBlocked: "the registry card is blocked"
        case .unavailable: "the registry is unavailable"
        }
    }
}
