import AtlasTestSupport
import Auth
import Bootstrap
import Foundation
import Kernel
import Postgres
import StoredValueContract
import Testing
import Transactions
@testable import Reconciliation

/// Issue 12 part 3: balances still in Transactions' legacy `transactions_stored_value_cards` move into the one card
/// registry (`atlas admin stored-value-migrate-legacy`), once, through the `StoredValueLedger` contract.
@Suite struct LegacyStoredValueMigrationTests {
    static let numbers = (fresh: "4111111111111111", known: "5555555555554444", otherCurrency: "378282246310005",
                          empty: "6011111111111117")

    func hash(_ fixture: ReconciliationFixture, _ number: String, merchantId: String? = nil) -> [UInt8] {
        StoredValuePAN.hash(number, tenant: TenantContext(merchantId: merchantId ?? fixture.merchantId, mode: .test),
                            crypto: fixture.application.services.crypto)
    }

    /// A row as the legacy table held it before the registry existed.
    func legacy(_ fixture: ReconciliationFixture, _ number: String, balance: Int64, currency: String = "NZD",
                merchantId: String? = nil) async throws {
        try await fixture.database.execute("""
            INSERT INTO transactions_stored_value_cards (merchant_id, mode, card_hash, masked_pan, currency, balance,
                created_at, updated_at)
            VALUES (\(merchantId ?? fixture.merchantId), 'test', \(hash(fixture, number, merchantId: merchantId)),
                \("************" + String(number.suffix(4))), \(currency), \(balance), now(), now())
            """)
    }

    func registryBalance(_ fixture: ReconciliationFixture, _ number: String, merchantId: String? = nil) async throws -> Int64? {
        let ledger = try #require(fixture.application.services.storedValue)
        return try await ledger.balance(panHash: hash(fixture, number, merchantId: merchantId),
                                        tenant: TenantContext(merchantId: merchantId ?? fixture.merchantId, mode: .test))?.balance
    }

    func legacyRows(_ fixture: ReconciliationFixture) async throws -> Int64 {
        try await fixture.database.queryFirst("SELECT count(*) AS n FROM transactions_stored_value_cards")?.decode("n") ?? -1
    }

    func migration(_ fixture: ReconciliationFixture) throws -> LegacyStoredValueMigration {
        LegacyStoredValueMigration(database: fixture.database, ledger: try #require(fixture.application.services.storedValue))
    }

    func load(_ fixture: ReconciliationFixture, _ number: String, _ amount: Int64, currency: String = "NZD") async throws {
        let response = await fixture.post("/v1/stored-value/load",
                                          ["cardNumber": .string(number), "amount": .int(amount), "currency": .string(currency)])
        guard response.status == 200 else { throw HarnessError("load: \(response.status) \(response.bodyText)") }
    }

    @Test func balancesMoveOnceAndRefusalsStayBehind() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let other = try await fixture.auth.createMerchant(organizationId: try await fixture.auth.createOrganization(name: "O"),
                                                          name: "Other")
        try await load(fixture, Self.numbers.known, 1_000)
        try await load(fixture, Self.numbers.otherCurrency, 400, currency: "USD")
        try await legacy(fixture, Self.numbers.fresh, balance: 5_000)
        try await legacy(fixture, Self.numbers.known, balance: 2_500)
        try await legacy(fixture, Self.numbers.otherCurrency, balance: 700)
        try await legacy(fixture, Self.numbers.empty, balance: 0)
        try await legacy(fixture, Self.numbers.fresh, balance: 300, merchantId: other)

        // One merchant only: the other's row is not touched.
        let report = try await migration(fixture).run(merchantId: fixture.merchantId)
        #expect(report.moved == 2)
        #expect(report.movedAmounts == ["NZD": 7_500])
        #expect(report.emptied == 1)
        #expect(report.refused.map(\.reason) == ["the registry card holds another currency"])
        #expect(report.refused.first?.balance == 700)
        #expect(try await registryBalance(fixture, Self.numbers.fresh) == 5_000)
        #expect(try await registryBalance(fixture, Self.numbers.known) == 3_500)
        #expect(try await registryBalance(fixture, Self.numbers.otherCurrency) == 400)
        #expect(try await registryBalance(fixture, Self.numbers.fresh, merchantId: other) == nil)
        #expect(try await legacyRows(fixture) == 2)  // the refused card and the other merchant's
        let events = try await fixture.database.queryFirst("""
            SELECT count(*) AS n FROM event_log WHERE event_type = 'stored_value.loaded'
              AND payload->>'reference' = \(LegacyStoredValueMigration.reference)
            """)?.decode("n", as: Int64.self)
        #expect(events == 2)

        // The migrated balance pays a /v1 stored-value sale like any other.
        let sale = await fixture.post("/v1/transaction/sale", [
            "type": "SALE", "amount": 4_000, "currency": "NZD", "tender": "STORED_VALUE",
            "card": ["number": .string(Self.numbers.fresh)],
        ])
        #expect(sale.string("status") == "APPROVED", "\(sale.bodyText)")
        #expect(try await registryBalance(fixture, Self.numbers.fresh) == 1_000)

        // A second run moves nothing twice; the refusal is reported again; then the other merchant's row moves.
        let again = try await migration(fixture).run(merchantId: fixture.merchantId)
        #expect(again.moved == 0 && again.emptied == 0 && again.refused.count == 1)
        let command = try #require(TransactionsModule().adminCommands.first { $0.names == ["stored-value-migrate-legacy"] })
        try await command.run(try CommandArguments(command: "stored-value-migrate-legacy", options: []),
                              fixture.application.services)
        #expect(try await registryBalance(fixture, Self.numbers.fresh, merchantId: other) == 300)
        #expect(try await legacyRows(fixture) == 1)
    }

    /// Two runs at once: every card is credited exactly once (the legacy row's delete and the credit commit together).
    @Test func parallelRunsCreditEachCardOnce() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let numbers = ["4111111111111111", "5555555555554444", "6011111111111117", "4000056655665556", "5200828282828210"]
        for (index, number) in numbers.enumerated() { try await legacy(fixture, number, balance: Int64(100 * (index + 1))) }
        let migration = try migration(fixture)
        async let first = migration.run()
        async let second = migration.run()
        let reports = try await [first, second]
        #expect(reports.map(\.moved).reduce(0, +) == numbers.count)
        for (index, number) in numbers.enumerated() {
            #expect(try await registryBalance(fixture, number) == Int64(100 * (index + 1)))
        }
        #expect(try await legacyRows(fixture) == 0)
    }
}
