import AcquirerContract
import Auth
import Foundation
import Kernel
import Postgres
import Testing
@testable import Transactions

/// The spec's acceptance cases for POST /v1/transaction/sale, as HTTP tests against a real database.
@Suite struct SaleAcceptanceTests {
    @Test func a1MissingCredentialsIs401() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let response = await fixture.sale(["type": "SALE", "amount": 2500, "currency": "NZD"], key: "")
        let none = await fixture.client.send(.post, "/v1/transaction/sale", json: ["type": "SALE", "amount": 2500, "currency": "NZD"])
        for response in [response, none] {
            #expect(response.status == 401)
            #expect(response.errorCode == "UNAUTHORIZED")
            #expect(response.string("requestId")?.hasPrefix("req_") == true)
        }
    }

    @Test func a2KeyWithoutWriteScopeIs403() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let response = await fixture.sale(["type": "SALE", "amount": 2500, "currency": "NZD"], key: fixture.readOnlyKey)
        #expect(response.status == 403)
        #expect(response.errorCode == "FORBIDDEN")
        // The read scope is enough to read.
        #expect(await fixture.get("/v1/transactions", key: fixture.readOnlyKey).status == 200)
    }

    @Test func a3NegativeAmount() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let response = await fixture.sale(["type": "SALE", "amount": -100, "currency": "NZD"])
        #expect(response.status == 400)
        #expect(response.errorCode == "INVALID_AMOUNT")
        #expect(response.json["details"] == ["field": "amount", "value": -100, "constraint": "minimum"])
        #expect(response.string("message") == "The 'amount' field must be a positive integer")
    }

    @Test func a4MissingCurrencyOrType() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let noCurrency = await fixture.sale(["type": "SALE", "amount": 2500])
        #expect(noCurrency.status == 400)
        #expect(noCurrency.errorCode == "MISSING_FIELD")
        #expect(noCurrency.json["details"]?["field"] == "currency")
        let noType = await fixture.sale(["amount": 2500, "currency": "NZD"])
        #expect(noType.status == 400)
        #expect(noType.errorCode == "MISSING_FIELD")
        #expect(noType.json["details"]?["field"] == "type")
    }

    @Test func a5CurrencyOutsideMerchantSetAndA6Ceiling() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        try await TransactionsModule.settingsStore(database: fixture.database).save(
            MerchantTransactionSettings(currencies: ["NZD", "AUD"], amountCeilingMinorUnits: 100_000),
            for: TenantContext(merchantId: fixture.merchantId, mode: .test))
        let usd = await fixture.sale(["type": "SALE", "amount": 2500, "currency": "USD"])
        #expect(usd.status == 400)
        #expect(usd.errorCode == "INVALID_CURRENCY")
        #expect(usd.json["details"]?["field"] == "currency")
        let unknown = await fixture.sale(["type": "SALE", "amount": 2500, "currency": "ABC"])
        #expect(unknown.errorCode == "INVALID_CURRENCY")
        let tooMuch = await fixture.sale(["type": "SALE", "amount": 100_001, "currency": "NZD"])
        #expect(tooMuch.status == 400)
        #expect(tooMuch.errorCode == "INVALID_AMOUNT")
        #expect(tooMuch.json["details"]?["constraint"] == "maximum")
        // Tip and cashback count towards the ceiling.
        let withTip = await fixture.sale(["type": "SALE", "amount": 99_000, "tipAmount": 1_001, "currency": "NZD"])
        #expect(withTip.errorCode == "INVALID_AMOUNT")
        #expect(await fixture.sale(["type": "SALE", "amount": 100_000, "currency": "NZD"]).status == 200)
    }

    @Test func a7ToA10Idempotency() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let body: JSONValue = ["type": "SALE", "amount": 2500, "currency": "NZD"]
        let first = await fixture.sale(body, idempotencyKey: "8e1b8b9c-2a4d-4e9f-9b1c-7e2f8a4c2b3d")
        let second = await fixture.sale(body, idempotencyKey: "8e1b8b9c-2a4d-4e9f-9b1c-7e2f8a4c2b3d")
        #expect(first.status == 200)
        #expect(second.status == 200)
        #expect(first.body == second.body)
        #expect(second.headers["Idempotent-Replayed"] == "true")
        #expect(try await fixture.transactionCount() == 1)
        // A8: same key, different body.
        let changed = await fixture.sale(["type": "SALE", "amount": 2600, "currency": "NZD"],
                                         idempotencyKey: "8e1b8b9c-2a4d-4e9f-9b1c-7e2f8a4c2b3d")
        #expect(changed.status == 409)
        #expect(changed.errorCode == "IDEMPOTENCY_CONFLICT")
        // A9: different key, same body → a new transaction.
        let other = await fixture.sale(body, idempotencyKey: "another-key")
        #expect(other.status == 200)
        #expect(other.string("transactionId") != first.string("transactionId"))
        // A10: no key → processed.
        let keyless = await fixture.sale(body)
        #expect(keyless.status == 200)
        #expect(try await fixture.transactionCount() == 3)
        // One event in the log per transaction, written with it.
        #expect(try await fixture.count("SELECT count(*) AS n FROM event_log") == 3)
    }

    @Test func a11KeyLengthLimit() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let body: JSONValue = ["type": "SALE", "amount": 2500, "currency": "NZD"]
        #expect(await fixture.sale(body, idempotencyKey: String(repeating: "k", count: 255)).status == 200)
        let tooLong = await fixture.sale(body, idempotencyKey: String(repeating: "k", count: 256))
        #expect(tooLong.status == 400)
        #expect(tooLong.errorCode == "INVALID_REQUEST")
    }

    @Test func a12KeyReusedAfter24HoursIsNew() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let first = await fixture.sale(["type": "SALE", "amount": 2500, "currency": "NZD"], idempotencyKey: "order_12345")
        fixture.clock.advance(seconds: 24 * 3600 + 60)
        let later = await fixture.sale(["type": "SALE", "amount": 2600, "currency": "NZD"], idempotencyKey: "order_12345")
        #expect(later.status == 200)
        #expect(later.string("transactionId") != first.string("transactionId"))
        #expect(later.int("amount") == 2600)
    }

    @Test func a13SecondSaleOnBusyTerminal() async throws {
        // The slow sale holds the terminal long enough that a loaded machine still overlaps the next two.
        let fixture = try await TransactionFixture.make(slowDelayMilliseconds: 4_000)
        defer { fixture.close() }
        async let slow = fixture.sale(["type": "SALE", "amount": .int(SimulatedAcquirer.slowAmount), "currency": "NZD"],
                                      key: fixture.terminalKey)
        try await Task.sleep(for: .milliseconds(200))
        let busy = await fixture.sale(["type": "SALE", "amount": 100, "currency": "NZD"], key: fixture.terminalKey,
                                      idempotencyKey: "busy-then-retry")
        #expect(busy.status == 409)
        #expect(busy.errorCode == "TERMINAL_BUSY")
        // A merchant key naming the terminal in the body is held to the same rule.
        let named = await fixture.sale(["type": "SALE", "amount": 100, "currency": "NZD", "terminalId": .string(fixture.terminalId)])
        #expect(named.errorCode == "TERMINAL_BUSY")
        let done = await slow
        #expect(done.status == 200)
        #expect(done.string("terminalId") == fixture.terminalId)
        // Free again afterwards; TERMINAL_BUSY was not cached, so the same Idempotency-Key now runs.
        let retried = await fixture.sale(["type": "SALE", "amount": 100, "currency": "NZD"], key: fixture.terminalKey,
                                         idempotencyKey: "busy-then-retry")
        #expect(retried.status == 200)
        #expect(retried.string("status") == "APPROVED")
        // A terminal-bound key cannot act for another terminal.
        let other = await fixture.sale(["type": "SALE", "amount": 100, "currency": "NZD", "terminalId": "TID-OTHER"],
                                       key: fixture.terminalKey)
        #expect(other.status == 403)
    }

    @Test func a17FollowUpsNeedOriginal() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        for type in ["REFUND", "VOID", "PRE_AUTH_COMPLETE"] {
            let response = await fixture.sale(["type": .string(type), "amount": 500, "currency": "NZD"])
            #expect(response.status == 400)
            #expect(response.errorCode == "MISSING_FIELD")
            #expect(response.json["details"]?["field"] == "originalTransactionId")
        }
        let unknown = await fixture.sale(["type": "REFUND", "amount": 500, "currency": "NZD",
                                          "originalTransactionId": "txn_01JQXYZ0000000000000000000"])
        #expect(unknown.status == 404)
        #expect(unknown.errorCode == "NOT_FOUND")
    }

    @Test func a18CardReadAndBalanceInquiryTakeZero() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let read = await fixture.sale(["type": "CARD_READ", "amount": 0, "currency": "NZD",
                                       "card": ["number": "5555555555554444"]])
        #expect(read.status == 200)
        #expect(read.string("status") == "APPROVED")
        #expect(read.string("cardScheme") == "MASTERCARD")
        #expect(read.string("maskedPan") == "************4444")
        #expect(read.json["authorizationCode"] == .null)
        let balance = await fixture.sale(["type": "BALANCE_INQUIRY", "amount": 0, "currency": "NZD"])
        #expect(balance.status == 200)
        #expect(balance.int("balance") == SimulatedAcquirer.simulatedBalance)
        let nonZero = await fixture.sale(["type": "CARD_READ", "amount": 10, "currency": "NZD"])
        #expect(nonZero.errorCode == "INVALID_AMOUNT")
    }

    @Test func a19ReferenceIdLength() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let ok = await fixture.sale(["type": "SALE", "amount": 100, "currency": "NZD",
                                     "referenceId": .string(String(repeating: "R", count: 64))])
        #expect(ok.status == 200)
        #expect(ok.string("referenceId")?.count == 64)
        let long = await fixture.sale(["type": "SALE", "amount": 100, "currency": "NZD",
                                       "referenceId": .string(String(repeating: "R", count: 65))])
        #expect(long.status == 400)
        #expect(long.errorCode == "INVALID_REQUEST")
        #expect(long.json["details"]?["field"] == "referenceId")
    }

    @Test func a20UnknownType() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let response = await fixture.sale(["type": "CAPTURE", "amount": 100, "currency": "NZD"])
        #expect(response.status == 400)
        #expect(response.errorCode == "INVALID_REQUEST")
        #expect(response.json["details"]?["field"] == "type")
        #expect(response.json["details"]?["constraint"] == "enum")
    }

    @Test func cardExpiryOutOfRangeIs400() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        for (field, value) in [("expiryMonth", JSONValue.int(0)), ("expiryMonth", .int(13)), ("expiryYear", .int(-1)),
                               ("expiryYear", .int(1999)), ("expiryYear", .int(Int64.max))] {
            let response = await fixture.sale(["type": "SALE", "amount": 100, "currency": "NZD",
                                               "card": ["number": "4242424242424242", .init(stringLiteral: field): value]])
            #expect(response.status == 400, "\(field)=\(value)")
            #expect(response.json["error"] == "INVALID_REQUEST")
            #expect(response.json["details"]?["field"] == .string("card." + field))
        }
        let twoDigitYear = await fixture.sale(["type": "SALE", "amount": 100, "currency": "NZD",
                                               "card": ["number": "4242424242424242", "expiryMonth": 1, "expiryYear": 31]])
        #expect(twoDigitYear.status == 200)
    }

    @Test func saleResponseShape() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let response = await fixture.sale(["type": "SALE", "amount": 2500, "currency": "NZD", "tipAmount": 300,
                                           "cashbackAmount": 2000, "entryMode": "CONTACTLESS", "referenceId": "POS-INV-1",
                                           "metadata": ["orderId": "o-1", "lane": 3],
                                           "card": ["number": "4242424242424242", "expiryMonth": 12, "expiryYear": 2030]])
        #expect(response.status == 200)
        let json = response.json
        let transactionId = TypedID(rawValue: json["transactionId"]?.stringValue ?? "")
        #expect(transactionId.matches(.transaction))
        #expect(json["status"] == "APPROVED")
        #expect(json["type"] == "SALE")
        #expect(json["amount"] == 2500)
        #expect(json["tipAmount"] == 300)
        #expect(json["cashbackAmount"] == 2000)
        #expect(json["totalAmount"] == 4800)
        #expect(json["currency"] == "NZD")
        #expect(json["cardScheme"] == "VISA")
        #expect(json["maskedPan"] == "************4242")
        #expect(json["authorizationCode"]?.stringValue?.count == 6)
        #expect(json["responseCode"] == "00")
        #expect(json["entryMode"] == "CONTACTLESS")
        #expect(json["metadata"] == ["orderId": "o-1", "lane": 3])
        #expect(json["livemode"] == false)
        #expect(json["tender"] == "CARD")
        #expect(Timestamp.parseISO8601(json["timestamp"]?.stringValue ?? "") != nil)
        // GET returns the same document.
        let fetched = await fixture.get("/v1/transaction/\(json["transactionId"]?.stringValue ?? "")")
        #expect(fetched.json == json)
        #expect(await fixture.get("/v1/transaction/txn_01JQXYZ0000000000000000000").errorCode == "NOT_FOUND")
    }

    @Test func declinesTimeoutsAndErrorsAreRecorded() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let declined = await fixture.sale(["type": "SALE", "amount": 100, "currency": "NZD", "card": ["number": "4000000000000002"]])
        #expect(declined.status == 200)
        #expect(declined.string("status") == "DECLINED")
        #expect(declined.string("declineCode") == "DECLINED")
        #expect(declined.string("responseCode") == "05")
        let funds = await fixture.sale(["type": "SALE", "amount": .int(SimulatedAcquirer.insufficientFundsAmount), "currency": "NZD"])
        #expect(funds.string("declineCode") == "INSUFFICIENT_FUNDS")
        let expired = await fixture.sale(["type": "SALE", "amount": 100, "currency": "NZD", "card": ["number": "4000000000000069"]])
        #expect(expired.string("declineCode") == "EXPIRED_CARD")
        let timeout = await fixture.sale(["type": "SALE", "amount": .int(SimulatedAcquirer.timeoutAmount), "currency": "NZD"])
        #expect(timeout.string("status") == "ERROR")
        #expect(timeout.string("errorCode") == "ACQUIRER_TIMEOUT")
        let processing = await fixture.sale(["type": "SALE", "amount": 100, "currency": "NZD", "card": ["number": "4000000000000119"]])
        #expect(processing.string("errorCode") == "PROCESSING_ERROR")
        // A declined sale cannot be refunded.
        let refund = await fixture.sale(["type": "REFUND", "amount": 100, "currency": "NZD",
                                         "originalTransactionId": .string(declined.string("transactionId") ?? "")])
        #expect(refund.status == 409)
        #expect(refund.errorCode == "ORIGINAL_NOT_APPROVED")
    }

    @Test func invalidCardNumberIsNeverEchoed() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let response = await fixture.sale(["type": "SALE", "amount": 100, "currency": "NZD", "card": ["number": "4242424242424241"]])
        #expect(response.status == 400)
        #expect(response.errorCode == "INVALID_CARD_NUMBER")
        #expect(!response.bodyText.contains("424242424242"))
    }

    @Test func fullPANNeverStored() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let sale = await fixture.sale(["type": "SALE", "amount": 100, "currency": "NZD", "card": ["number": "5555555555554444"]],
                                      idempotencyKey: "pan-check")
        #expect(!sale.bodyText.contains("5555555555554444"))
        _ = await fixture.post("/v1/stored-value/load", ["cardNumber": "6011111111111117", "amount": 500, "currency": "NZD"],
                               key: fixture.testKey, idempotencyKey: "load-pan")
        for table in ["transactions", "event_log", "transactions_stored_value_cards", "idempotency_keys"] {
            let sql: SQL = "SELECT count(*) AS n FROM \(unsafeRaw: table) t WHERE row_to_json(t)::text LIKE '%5555555555554444%' OR row_to_json(t)::text LIKE '%6011111111111117%' OR encode(convert_to(row_to_json(t)::text, 'UTF8'), 'escape') LIKE '%6011111111111117%'"
            #expect(try await fixture.count(sql) == 0, "full PAN found in \(table)")
        }
        let bodies = try await fixture.database.query("SELECT response_body FROM idempotency_keys")
        for row in bodies {
            let body: [UInt8]? = try row.decode("response_body")
            let text = String(decoding: body ?? [], as: UTF8.self)
            #expect(!text.contains("5555555555554444") && !text.contains("6011111111111117"))
        }
    }

    @Test func liveModeWithoutAcquirerRefusesCards() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let card = await fixture.sale(["type": "SALE", "amount": 100, "currency": "NZD"], key: fixture.liveKey)
        #expect(card.status == 503)
        #expect(card.errorCode == "ACQUIRER_NOT_CONFIGURED")
        let cash = await fixture.sale(["type": "SALE", "amount": 100, "currency": "USD", "tender": "CASH"], key: fixture.liveKey)
        #expect(cash.status == 200)
        #expect(cash.json["livemode"] == true)
    }

    @Test func testAndLiveAreIsolated() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let testSale = await fixture.sale(["type": "SALE", "amount": 100, "currency": "NZD"])
        let id = testSale.string("transactionId") ?? ""
        #expect(await fixture.get("/v1/transaction/\(id)", key: fixture.liveKey).status == 404)
        let liveList = await fixture.get("/v1/transactions", key: fixture.liveKey)
        #expect(liveList.json["data"] == [])
        let refund = await fixture.sale(["type": "REFUND", "amount": 100, "currency": "NZD", "originalTransactionId": .string(id)],
                                        key: fixture.liveKey)
        #expect(refund.status == 404)
        // Another merchant sees nothing either.
        let organization = try await fixture.auth.createOrganization(name: "Other")
        let other = try await fixture.auth.createMerchant(organizationId: organization, name: "Other shop")
        let otherKey = try await fixture.auth.createSecretKey(merchantId: other, mode: .test).secret
        #expect(await fixture.get("/v1/transaction/\(id)", key: otherKey).status == 404)
    }
}
