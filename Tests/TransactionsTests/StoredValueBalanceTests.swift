import AtlasTestSupport
import Foundation
import Kernel
import Testing
@testable import Transactions

/// Security review: voids of stored-value transactions must move exactly the money the original moved.
@Suite(.serialized) struct StoredValueBalanceTests {
    static let card: JSONValue = ["number": "6011111111111117"]

    func load(_ fixture: TransactionFixture, _ amount: Int64) async -> Response {
        await fixture.post("/v1/stored-value/load", ["cardNumber": "6011111111111117", "amount": .int(amount), "currency": "NZD"],
                           key: fixture.testKey)
    }

    func balance(_ fixture: TransactionFixture) async -> Int64? {
        await fixture.sale(["type": "BALANCE_INQUIRY", "amount": 0, "currency": "NZD", "tender": "STORED_VALUE",
                            "card": Self.card]).int("balance")
    }

    @Test func voidingAStoredValueRefundTakesTheRefundBack() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        #expect(await load(fixture, 5000).int("balance") == 5000)
        let sale = await fixture.sale(["type": "SALE", "amount": 3000, "currency": "NZD", "tender": "STORED_VALUE",
                                       "card": Self.card])
        #expect(sale.int("balance") == 2000)
        let refund = await fixture.sale(["type": "REFUND", "amount": 1000, "currency": "NZD",
                                         "originalTransactionId": .string(sale.string("transactionId") ?? "")])
        #expect(refund.int("balance") == 3000)
        let void = await fixture.sale(["type": "VOID", "amount": 0, "currency": "NZD",
                                       "originalTransactionId": .string(refund.string("transactionId") ?? "")])
        #expect(void.string("status") == "APPROVED")
        #expect(void.int("balance") == 2000)
        #expect(await balance(fixture) == 2000)
    }

    @Test func voidingAStoredValueRefundIsDeclinedWhenTheBalanceIsSpent() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        _ = await load(fixture, 3000)
        let sale = await fixture.sale(["type": "SALE", "amount": 3000, "currency": "NZD", "tender": "STORED_VALUE",
                                       "card": Self.card])
        let refund = await fixture.sale(["type": "REFUND", "amount": 3000, "currency": "NZD",
                                         "originalTransactionId": .string(sale.string("transactionId") ?? "")])
        #expect(refund.int("balance") == 3000)
        let spent = await fixture.sale(["type": "SALE", "amount": 2500, "currency": "NZD", "tender": "STORED_VALUE",
                                        "card": Self.card])
        #expect(spent.int("balance") == 500)
        let void = await fixture.sale(["type": "VOID", "amount": 0, "currency": "NZD",
                                       "originalTransactionId": .string(refund.string("transactionId") ?? "")])
        #expect(void.string("status") == "DECLINED")
        #expect(void.string("declineCode") == "INSUFFICIENT_FUNDS")
        #expect(await balance(fixture) == 500)
        let original = await fixture.get("/v1/transaction/\(refund.string("transactionId") ?? "")")
        #expect(original.string("status") == "APPROVED")
    }

    @Test func voidingAStoredValueSaleReturnsTheTipToo() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        _ = await load(fixture, 5000)
        let sale = await fixture.sale(["type": "SALE", "amount": 1000, "tipAmount": 200, "currency": "NZD",
                                       "tender": "STORED_VALUE", "card": Self.card])
        #expect(sale.int("balance") == 3800)
        let void = await fixture.sale(["type": "VOID", "amount": 0, "currency": "NZD",
                                       "originalTransactionId": .string(sale.string("transactionId") ?? "")])
        #expect(void.string("status") == "APPROVED")
        #expect(void.int("balance") == 5000)
        #expect(await balance(fixture) == 5000)
    }

    @Test func voidingARefundGivesTheRefundableAmountBack() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let sale = await fixture.sale(["type": "SALE", "amount": 10_000, "currency": "NZD"])
        let saleId = try #require(sale.string("transactionId"))
        let refund = await fixture.sale(["type": "REFUND", "amount": 10_000, "currency": "NZD",
                                         "originalTransactionId": .string(saleId)])
        #expect(refund.string("status") == "APPROVED")
        let void = await fixture.sale(["type": "VOID", "amount": 0, "currency": "NZD",
                                       "originalTransactionId": .string(refund.string("transactionId") ?? "")])
        #expect(void.string("status") == "APPROVED")
        #expect(await fixture.get("/v1/transaction/\(saleId)").int("refundedAmount") == 0)
        let again = await fixture.sale(["type": "REFUND", "amount": 10_000, "currency": "NZD",
                                        "originalTransactionId": .string(saleId)])
        #expect(again.status == 200)
        #expect(again.string("status") == "APPROVED")
    }

    /// A card's balance is bounded, so no merchant ceiling can push it into bigint overflow (was a 500).
    @Test func storedValueBalanceIsBoundedWith409() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        try await TransactionsModule.settingsStore(database: fixture.database).save(
            MerchantTransactionSettings(amountCeilingMinorUnits: Int64.max),
            for: TenantContext(merchantId: fixture.merchantId, mode: .test))
        let maximum = TransactionStore.storedValueBalanceMaxMinorUnits
        #expect(await load(fixture, maximum).status == 200)
        let over = await load(fixture, 1)
        #expect(over.status == 409)
        #expect(over.json["error"] == "STORED_VALUE_BALANCE_LIMIT")
        let huge = await load(fixture, Int64.max)
        #expect(huge.status == 409 || huge.status == 400)
        #expect(await balance(fixture) == maximum)
        let otherCurrency = await fixture.post("/v1/stored-value/load",
            ["cardNumber": "6011111111111117", "amount": 1, "currency": "AUD"], key: fixture.testKey)
        #expect(otherCurrency.status == 409)
        #expect(otherCurrency.json["error"] == "CURRENCY_MISMATCH")
    }
}
