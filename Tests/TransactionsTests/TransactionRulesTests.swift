import AcquirerContract
import CashRoundingContract
import Foundation
import Kernel
import Testing
@testable import Transactions

/// The state machine as pure functions: no database, no clock.
@Suite struct TransactionRulesTests {
    static let today = "2026-04-08"

    func original(_ type: TransactionType = .sale, status: TransactionStatus = .approved, amount: Int64 = 5000,
                  tip: Int64 = 0, refunded: Int64 = 0, completion: String? = nil, settlement: String? = nil,
                  date: String = today) -> OriginalSnapshot {
        OriginalSnapshot(id: "txn_01JQXYZ0000000000000000000", type: type, status: status, amount: amount, tipAmount: tip,
                         currency: "NZD", tender: .card, refundedAmount: refunded, completionTransactionId: completion,
                         settlementId: settlement, businessDate: date)
    }

    func code(_ body: () throws -> Void) -> (String, Int)? {
        do { try body() } catch let error as AtlasError { return (error.code, error.status) } catch { return nil }
        return nil
    }

    func check(_ type: TransactionType, _ amount: Int64, _ original: OriginalSnapshot, currency: String = "NZD",
               today: String = today) throws -> (amount: Int64, effect: OriginalEffect) {
        try TransactionRules.check(type: type, amount: amount, currency: currency, original: original, currentBusinessDate: today)
    }

    @Test func voidSameDayApprovedSale() throws {
        let result = try check(.void, 0, original())
        #expect(result.amount == 5000)
        #expect(result.effect == .void)
        #expect(try check(.void, 5000, original()).effect == .void)
    }

    @Test func voidViolations() {
        #expect(code { _ = try check(.void, 0, original(status: .voided)) }! == ("ALREADY_VOIDED", 409))
        #expect(code { _ = try check(.void, 0, original(status: .declined)) }! == ("ORIGINAL_NOT_APPROVED", 409))
        #expect(code { _ = try check(.void, 0, original(settlement: "stl_1")) }! == ("TRANSACTION_SETTLED", 409))
        #expect(code { _ = try check(.void, 0, original(date: "2026-04-07")) }! == ("VOID_WINDOW_CLOSED", 409))
        #expect(code { _ = try check(.void, 0, original(refunded: 100)) }! == ("TRANSACTION_HAS_REFUNDS", 409))
        #expect(code { _ = try check(.void, 0, original(.preAuth, completion: "txn_x")) }! == ("PRE_AUTH_ALREADY_COMPLETED", 409))
        #expect(code { _ = try check(.void, 0, original(.cardRead)) }! == ("NOT_VOIDABLE", 409))
        #expect(code { _ = try check(.void, 1234, original()) }! == ("INVALID_AMOUNT", 400))
        #expect(code { _ = try check(.void, 0, original(), currency: "USD") }! == ("CURRENCY_MISMATCH", 400))
    }

    @Test func partialAndMultipleRefundsUpToCaptured() throws {
        #expect(try check(.refund, 2000, original()).effect == .refund(refundedTotal: 2000))
        #expect(try check(.refund, 3000, original(refunded: 2000)).effect == .refund(refundedTotal: 5000))
        #expect(code { _ = try check(.refund, 1, original(refunded: 5000)) }! == ("REFUND_EXCEEDS_CAPTURED", 409))
        #expect(code { _ = try check(.refund, 5001, original()) }! == ("REFUND_EXCEEDS_CAPTURED", 409))
        // Tips are captured and refundable.
        #expect(try check(.refund, 5500, original(tip: 500)).effect == .refund(refundedTotal: 5500))
        #expect(try check(.refund, 100, original(.preAuthComplete)).effect == .refund(refundedTotal: 100))
        #expect(code { _ = try check(.refund, Int64.max, original(refunded: 10)) }! == ("REFUND_EXCEEDS_CAPTURED", 409))
    }

    @Test func refundViolations() {
        #expect(code { _ = try check(.refund, 100, original(.preAuth)) }! == ("NOT_REFUNDABLE", 409))
        #expect(code { _ = try check(.refund, 100, original(.refund)) }! == ("NOT_REFUNDABLE", 409))
        #expect(code { _ = try check(.refund, 100, original(status: .voided)) }! == ("ALREADY_VOIDED", 409))
        #expect(code { _ = try check(.refund, 100, original(status: .declined)) }! == ("ORIGINAL_NOT_APPROVED", 409))
        #expect(code { _ = try check(.refund, 100, original(), currency: "AUD") }! == ("CURRENCY_MISMATCH", 400))
    }

    @Test func completionOnceAndWithinAuthorized() throws {
        #expect(try check(.preAuthComplete, 4000, original(.preAuth)).effect == .complete)
        #expect(try check(.preAuthComplete, 5000, original(.preAuth)).amount == 5000)
        #expect(code { _ = try check(.preAuthComplete, 5001, original(.preAuth)) }! == ("COMPLETION_EXCEEDS_AUTHORIZED", 409))
        #expect(code { _ = try check(.preAuthComplete, 100, original(.preAuth, completion: "txn_1")) }! == ("PRE_AUTH_ALREADY_COMPLETED", 409))
        #expect(code { _ = try check(.preAuthComplete, 100, original(.sale)) }! == ("NOT_A_PRE_AUTH", 409))
        #expect(code { _ = try check(.preAuthComplete, 100, original(.preAuth, status: .voided)) }! == ("ALREADY_VOIDED", 409))
        #expect(code { _ = try check(.preAuthComplete, 100, original(.preAuth, status: .declined)) }! == ("ORIGINAL_NOT_APPROVED", 409))
    }

    @Test func businessDateFollowsMerchantTimeZone() {
        let instant = Date(timeIntervalSince1970: 1_775_689_200) // 2026-04-08T23:00:00Z
        #expect(TransactionRules.businessDate(instant, timeZone: TimeZone(identifier: "UTC")!) == "2026-04-08")
        #expect(TransactionRules.businessDate(instant, timeZone: TimeZone(identifier: "Pacific/Auckland")!) == "2026-04-09")
    }

    @Test func panLuhnMaskAndScheme() {
        #expect(PAN.isValid("4242424242424242"))
        #expect(PAN.isValid("378282246310005"))
        #expect(!PAN.isValid("4242424242424241"))
        #expect(!PAN.isValid("42424242"))
        #expect(!PAN.isValid("4242-4242-4242-4242"))
        #expect(PAN.masked("4242424242424242") == "************4242")
        #expect(PAN.masked("378282246310005") == "***********0005")
        #expect(PAN.scheme("4242424242424242") == "VISA")
        #expect(PAN.scheme("5555555555554444") == "MASTERCARD")
        #expect(PAN.scheme("2221000000000009") == "MASTERCARD")
        #expect(PAN.scheme("378282246310005") == "AMEX")
        #expect(PAN.scheme("6011111111111117") == "DISCOVER")
    }

    @Test func requestValidationRules() throws {
        func validate(_ json: String) -> (String, Int)? {
            code {
                let body = try JSONDecoder().decode(SaleRequest.self, from: Data(json.utf8))
                _ = try SaleValidation.validate(body)
            }
        }
        #expect(validate(#"{"type":"SALE","amount":100,"currency":"NZD"}"#) == nil)
        #expect(validate(#"{"type":"SALE","amount":0,"currency":"NZD"}"#)! == ("INVALID_AMOUNT", 400))
        #expect(validate(#"{"type":"CARD_READ","amount":5,"currency":"NZD"}"#)! == ("INVALID_AMOUNT", 400))
        #expect(validate(#"{"type":"SALE","amount":100,"currency":"XXX"}"#)! == ("INVALID_CURRENCY", 400))
        #expect(validate(#"{"type":"REFUND","amount":100,"currency":"NZD","cashbackAmount":10,"originalTransactionId":"txn_01JQXYZ0000000000000000000"}"#)! == ("INVALID_REQUEST", 400))
        #expect(validate(#"{"type":"REFUND","amount":100,"currency":"NZD","tipAmount":10,"originalTransactionId":"txn_01JQXYZ0000000000000000000"}"#)! == ("INVALID_REQUEST", 400))
        #expect(validate(#"{"type":"SALE","amount":100,"currency":"NZD","originalTransactionId":"txn_01JQXYZ0000000000000000000"}"#)! == ("INVALID_REQUEST", 400))
        #expect(validate(#"{"type":"VOID","amount":0,"currency":"NZD","originalTransactionId":"bogus"}"#)! == ("INVALID_REQUEST", 400))
        #expect(validate(#"{"type":"PRE_AUTH","amount":100,"currency":"NZD","tender":"CASH"}"#)! == ("INVALID_REQUEST", 400))
        #expect(validate(#"{"type":"SALE","amount":100,"currency":"NZD","tender":"CASH","cashbackAmount":5}"#)! == ("INVALID_REQUEST", 400))
        #expect(validate(#"{"type":"SALE","amount":100,"currency":"NZD","entryMode":"SWIPE"}"#)! == ("INVALID_REQUEST", 400))
        #expect(validate(#"{"type":"SALE","amount":100,"currency":"NZD","metadata":[1]}"#)! == ("INVALID_REQUEST", 400))
        #expect(validate(#"{"type":"SALE","amount":100,"currency":"NZD","metadata":{"a":{"b":1}}}"#)! == ("INVALID_REQUEST", 400))
        #expect(validate(#"{"type":"SALE","amount":100,"currency":"NZD","card":{"number":"4242424242424241"}}"#)! == ("INVALID_CARD_NUMBER", 400))
    }

    @Test func simulatorIsDeterministic() async throws {
        let simulator = SimulatedAcquirer()
        func send(_ card: String?, _ amount: Int64) async throws -> AcquirerOutcome {
            try await simulator.send(AcquirerRequest(operation: .authorize, transactionId: "txn_1", amountMinorUnits: amount,
                                                     currency: "NZD", cardNumber: card, originalAuthorizationCode: nil))
        }
        #expect(try await send("4242424242424242", 100) == (try await send("4242424242424242", 100)))
        #expect(try await send("4000000000000002", 100) == .declined(responseCode: "05", declineCode: "DECLINED"))
        #expect(try await send("4000000000009995", 100) == .declined(responseCode: "51", declineCode: "INSUFFICIENT_FUNDS"))
        #expect(try await send("4000000000000069", 100) == .declined(responseCode: "54", declineCode: "EXPIRED_CARD"))
        #expect(try await send("4000000000000119", 100) == .processingError)
        #expect(try await send(nil, SimulatedAcquirer.declineAmount) == .declined(responseCode: "05", declineCode: "DECLINED"))
        #expect(try await send(nil, SimulatedAcquirer.insufficientFundsAmount) == .declined(responseCode: "51", declineCode: "INSUFFICIENT_FUNDS"))
        #expect(try await send(nil, SimulatedAcquirer.timeoutAmount) == .timeout)
    }
}
