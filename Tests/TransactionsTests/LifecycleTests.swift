import AcquirerContract
import CashRoundingContract
import Foundation
import Kernel
import Postgres
import Testing
@testable import Transactions

/// Refund, void and completion flows, cash rounding, stored value, listing, and abort over HTTP (the payments API: PaymentsAPITests).
@Suite struct LifecycleTests {
    func id(_ response: Response) -> JSONValue { .string(response.string("transactionId") ?? "") }

    @Test func refundsArePartialMultipleAndCapped() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let sale = await fixture.sale(["type": "SALE", "amount": 5000, "tipAmount": 500, "currency": "NZD"])
        let first = await fixture.sale(["type": "REFUND", "amount": 2000, "currency": "NZD", "originalTransactionId": id(sale)])
        #expect(first.status == 200)
        #expect(first.string("status") == "APPROVED")
        #expect(first.string("authorizationCode")?.hasPrefix("R") == true)
        #expect(first.string("maskedPan") == sale.string("maskedPan"))
        let second = await fixture.sale(["type": "REFUND", "amount": 3500, "currency": "NZD", "originalTransactionId": id(sale)])
        #expect(second.status == 200)
        let third = await fixture.sale(["type": "REFUND", "amount": 1, "currency": "NZD", "originalTransactionId": id(sale)])
        #expect(third.status == 409)
        #expect(third.errorCode == "REFUND_EXCEEDS_CAPTURED")
        let original = await fixture.get("/v1/transaction/\(sale.string("transactionId") ?? "")")
        #expect(original.int("refundedAmount") == 5500)
        // With refunds against it the sale can no longer be voided.
        let void = await fixture.sale(["type": "VOID", "amount": 0, "currency": "NZD", "originalTransactionId": id(sale)])
        #expect(void.errorCode == "TRANSACTION_HAS_REFUNDS")
        let mismatch = await fixture.sale(["type": "REFUND", "amount": 1, "currency": "AUD", "originalTransactionId": id(first)])
        #expect(mismatch.status == 400)
        #expect(mismatch.errorCode == "CURRENCY_MISMATCH")
    }

    @Test func voidSameDayOnceThenBlocked() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let sale = await fixture.sale(["type": "SALE", "amount": 1200, "currency": "NZD"])
        let void = await fixture.sale(["type": "VOID", "amount": 1200, "currency": "NZD", "originalTransactionId": id(sale)])
        #expect(void.status == 200)
        #expect(void.string("status") == "APPROVED")
        #expect(void.int("amount") == 1200)
        #expect(void.json["originalTransactionId"] == id(sale))
        let original = await fixture.get("/v1/transaction/\(sale.string("transactionId") ?? "")")
        #expect(original.string("status") == "VOIDED")
        #expect(original.json["voidTransactionId"] == id(void))
        let again = await fixture.sale(["type": "VOID", "amount": 0, "currency": "NZD", "originalTransactionId": id(sale)])
        #expect(again.status == 409)
        #expect(again.errorCode == "ALREADY_VOIDED")
        let refund = await fixture.sale(["type": "REFUND", "amount": 100, "currency": "NZD", "originalTransactionId": id(sale)])
        #expect(refund.errorCode == "ALREADY_VOIDED")
        // Next business day: no void, refund instead.
        let yesterday = await fixture.sale(["type": "SALE", "amount": 900, "currency": "NZD"])
        fixture.clock.advance(seconds: 86_400)
        let late = await fixture.sale(["type": "VOID", "amount": 0, "currency": "NZD", "originalTransactionId": id(yesterday)])
        #expect(late.status == 409)
        #expect(late.errorCode == "VOID_WINDOW_CLOSED")
        // Settled: no void.
        let settled = await fixture.sale(["type": "SALE", "amount": 800, "currency": "NZD"])
        try await fixture.database.execute("UPDATE transactions SET settlement_id = 'stl_1' WHERE id = \(settled.string("transactionId") ?? "")")
        let settledVoid = await fixture.sale(["type": "VOID", "amount": 0, "currency": "NZD", "originalTransactionId": id(settled)])
        #expect(settledVoid.errorCode == "TRANSACTION_SETTLED")
    }

    @Test func preAuthCompletionOnceWithinAuthorized() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let auth = await fixture.sale(["type": "PRE_AUTH", "amount": 10_000, "currency": "NZD"])
        #expect(auth.string("status") == "APPROVED")
        let over = await fixture.sale(["type": "PRE_AUTH_COMPLETE", "amount": 10_001, "currency": "NZD", "originalTransactionId": id(auth)])
        #expect(over.status == 409)
        #expect(over.errorCode == "COMPLETION_EXCEEDS_AUTHORIZED")
        let complete = await fixture.sale(["type": "PRE_AUTH_COMPLETE", "amount": 8_000, "tipAmount": 500, "currency": "NZD",
                                           "originalTransactionId": id(auth)])
        #expect(complete.status == 200)
        #expect(complete.string("status") == "APPROVED")
        #expect(complete.int("totalAmount") == 8_500)
        let twice = await fixture.sale(["type": "PRE_AUTH_COMPLETE", "amount": 100, "currency": "NZD", "originalTransactionId": id(auth)])
        #expect(twice.errorCode == "PRE_AUTH_ALREADY_COMPLETED")
        let refund = await fixture.sale(["type": "REFUND", "amount": 8_500, "currency": "NZD", "originalTransactionId": id(complete)])
        #expect(refund.status == 200)
        let notSale = await fixture.sale(["type": "PRE_AUTH_COMPLETE", "amount": 100, "currency": "NZD", "originalTransactionId": id(refund)])
        #expect(notSale.errorCode == "NOT_A_PRE_AUTH")
        let preAuthRefund = await fixture.sale(["type": "REFUND", "amount": 100, "currency": "NZD", "originalTransactionId": id(auth)])
        #expect(preAuthRefund.errorCode == "NOT_REFUNDABLE")
    }

    @Test func cashIsRoundedThroughTheRoundingContract() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let location: JSONValue = ["state": "AZ", "zipCode": "85001"]
        // Settings are cached per process for 30 s, so the merchant location is saved before the first sale.
        try await TransactionsModule.settingsStore(database: fixture.database).save(
            MerchantTransactionSettings(location: CashRoundingLocation(zipCode: "85001", state: "AZ")),
            for: TenantContext(merchantId: fixture.merchantId, mode: .test))
        let sale = await fixture.sale(["type": "SALE", "amount": 1003, "tipAmount": 0, "currency": "USD", "tender": "CASH",
                                       "location": location])
        #expect(sale.status == 200)
        #expect(sale.string("tender") == "CASH")
        #expect(sale.json["maskedPan"] == .null)
        let expected = fixture.rounding.roundCash(amountMinorUnits: 1003, currency: .usd,
                                                  location: CashRoundingLocation(zipCode: "85001", state: "AZ"), on: fixture.clock.now())
        let rounding = sale.json["rounding"]
        #expect(rounding?["ledgerTotal"] == 1003)
        #expect(rounding?["cashTotal"]?.intValue == expected.cashTotalMinorUnits)
        #expect(rounding?["roundingDelta"]?.intValue == expected.deltaMinorUnits)
        #expect(rounding?["jurisdiction"]?.stringValue == expected.jurisdictionID)
        #expect((rounding?["cashTotal"]?.intValue ?? 0) - 1003 == rounding?["roundingDelta"]?.intValue)
        // Merchant location is the fallback when the request has none.
        let fallback = await fixture.sale(["type": "SALE", "amount": 1003, "currency": "USD", "tender": "CASH"])
        #expect(fallback.json["rounding"] == rounding)
        // A void mirrors the original's rounding; a refund is rounded on its own.
        let void = await fixture.sale(["type": "VOID", "amount": 0, "currency": "USD", "originalTransactionId": id(sale)])
        #expect(void.json["rounding"] == rounding)
        #expect(void.string("tender") == "CASH")
        let refund = await fixture.sale(["type": "REFUND", "amount": 501, "currency": "USD", "originalTransactionId": id(fallback)])
        #expect(refund.json["rounding"]?["ledgerTotal"] == 501)
    }

    @Test func storedValueBalanceIsHeldByAtlas() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let card: JSONValue = ["number": "6011111111111117"]
        let load = await fixture.post("/v1/stored-value/load", ["cardNumber": "6011111111111117", "amount": 5000, "currency": "NZD"],
                                      key: fixture.testKey)
        #expect(load.status == 200)
        #expect(load.int("balance") == 5000)
        #expect(load.string("maskedPan") == "************1117")
        let sale = await fixture.sale(["type": "SALE", "amount": 3000, "currency": "NZD", "tender": "STORED_VALUE", "card": card])
        #expect(sale.string("status") == "APPROVED")
        #expect(sale.int("balance") == 2000)
        let short = await fixture.sale(["type": "SALE", "amount": 3000, "currency": "NZD", "tender": "STORED_VALUE", "card": card])
        #expect(short.string("status") == "DECLINED")
        #expect(short.string("declineCode") == "INSUFFICIENT_FUNDS")
        let inquiry = await fixture.sale(["type": "BALANCE_INQUIRY", "amount": 0, "currency": "NZD", "tender": "STORED_VALUE", "card": card])
        #expect(inquiry.int("balance") == 2000)
        let refund = await fixture.sale(["type": "REFUND", "amount": 1000, "currency": "NZD", "originalTransactionId": id(sale)])
        #expect(refund.int("balance") == 3000)
        let unknown = await fixture.sale(["type": "BALANCE_INQUIRY", "amount": 0, "currency": "NZD", "tender": "STORED_VALUE",
                                          "card": ["number": "4242424242424242"]])
        #expect(unknown.string("declineCode") == "UNKNOWN_CARD")
        let noCard = await fixture.sale(["type": "SALE", "amount": 10, "currency": "NZD", "tender": "STORED_VALUE"])
        #expect(noCard.errorCode == "MISSING_FIELD")
    }

    @Test func listPagesFiltersAndLimits() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        var ids: [String] = []
        for index in 0..<5 {
            fixture.clock.advance(seconds: 1)
            let type: JSONValue = index == 4 ? "PRE_AUTH" : "SALE"
            ids.append(await fixture.sale(["type": type, "amount": .int(Int64(100 + index)), "currency": "NZD"]).string("transactionId") ?? "")
        }
        var seen: [String] = []
        var cursor: String? = nil
        var pages = 0
        repeat {
            let page = await fixture.get("/v1/transactions?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""))
            #expect(page.status == 200)
            let data = page.json["data"]
            if case .array(let items)? = data { seen += items.compactMap { $0["transactionId"]?.stringValue } }
            cursor = page.json["nextCursor"]?.stringValue
            #expect((page.json["hasMore"] == true) == (cursor != nil))
            pages += 1
        } while cursor != nil && pages < 10
        #expect(seen == Array(ids.reversed()))
        #expect(pages == 3)
        let preAuths = await fixture.get("/v1/transactions?type=PRE_AUTH")
        #expect(preAuths.json["data"].map { if case .array(let a) = $0 { a.count } else { -1 } } == 1)
        let approved = await fixture.get("/v1/transactions?status=APPROVED&limit=100")
        #expect(approved.status == 200)
        for bad in ["limit=0", "limit=101", "type=CAPTURE", "status=NOPE", "from=yesterday", "cursor=bogus"] {
            let response = await fixture.get("/v1/transactions?\(bad)")
            #expect(response.status == 400, "\(bad)")
            #expect(response.errorCode == "INVALID_REQUEST")
        }
        let from = Timestamp.iso8601(fixture.clock.now().addingTimeInterval(-1.5), fractionalSeconds: true)
        let recent = await fixture.get("/v1/transactions?from=\(from)")
        #expect(recent.json["data"].map { if case .array(let a) = $0 { a.count } else { -1 } } == 2)
        let terminalSale = await fixture.sale(["type": "SALE", "amount": 1, "currency": "NZD"], key: fixture.terminalKey)
        let byTerminal = await fixture.get("/v1/transactions?terminalId=\(fixture.terminalId)")
        #expect(byTerminal.json["data"] == [terminalSale.json])
    }

    /// The abort answers long before the acquirer's slow call would end: it cancels the call. (A 10 s call and a
    /// 5 s bound left too little room when the whole suite loads two cores; 30 s and 15 s keep the distinction.)
    @Test func abortInFlightTransaction() async throws {
        let fixture = try await TransactionFixture.make(slowDelayMilliseconds: 30_000)
        defer { fixture.close() }
        async let slow = fixture.sale(["type": "SALE", "amount": .int(SimulatedAcquirer.slowAmount), "currency": "NZD"],
                                      key: fixture.terminalKey)
        var inFlightId: String?
        for _ in 0..<50 where inFlightId == nil {
            try await Task.sleep(for: .milliseconds(20))
            inFlightId = try await fixture.database.queryFirst("SELECT transaction_id FROM transactions_terminal_locks")?
                .decode("transaction_id")
        }
        let id = try #require(inFlightId)
        let status = await fixture.get("/v1/transaction/\(id)")
        #expect(status.string("status") == "IN_PROGRESS")
        let started = ContinuousClock.now
        let aborted = await fixture.post("/v1/transaction/\(id)/abort", [:], key: fixture.terminalKey)
        #expect(aborted.status == 200)
        #expect(aborted.string("status") == "ABORTED")
        #expect(ContinuousClock.now - started < .seconds(15), "the abort did not wait for the acquirer")
        let result = await slow
        #expect(result.string("status") == "ABORTED")
        #expect(result.string("transactionId") == id)
        let again = await fixture.post("/v1/transaction/\(id)/abort", [:], key: fixture.terminalKey)
        #expect(again.status == 409)
        #expect(again.errorCode == "TRANSACTION_NOT_IN_PROGRESS")
        let missing = await fixture.post("/v1/transaction/txn_01JQXYZ0000000000000000000/abort", [:], key: fixture.terminalKey)
        #expect(missing.status == 404)
    }
}
