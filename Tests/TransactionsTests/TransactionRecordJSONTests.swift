import CashRoundingContract
import Foundation
import IdempotencyContract
import Kernel
import Testing
@testable import Transactions

/// `TransactionRecord.jsonBytes` (written member by member) is `json.serialized()` byte for byte, whatever the record
/// holds: every field nil or set, a balance, rounding, metadata with text that needs escaping, extreme amounts.
@Suite struct TransactionRecordJSONTests {
    @Test func theWrittenBytesAreTheSerializedValue() {
        var records: [TransactionRecord] = []
        var random = SystemRandomNumberGenerator()
        let texts: [String?] = [nil, "", "plain", "a \"quoted\" \\ value\n\t\u{01}", "héllo ✓ 😀", "A17083"]
        for index in 0..<400 {
            let tenant = TenantContext(merchantId: "mer_\(index)", mode: index % 2 == 0 ? .test : .live)
            var record = TransactionRecord(
                id: TypedID.generate(prefix: .transaction).rawValue, tenant: tenant,
                type: TransactionType.allCases[index % TransactionType.allCases.count],
                status: TransactionStatus.allCases[index % TransactionStatus.allCases.count],
                amount: [0, 1, 2500, Int64.max / 4, -7][index % 5], tipAmount: Int64(index % 3) * 100,
                cashbackAmount: Int64(index % 4) * 50, currency: ["NZD", "USD", "JPY"][index % 3],
                tender: TenderType.allCases[index % TenderType.allCases.count], businessDate: "2026-12-05",
                createdAt: Date(timeIntervalSince1970: Double(Int64.random(in: 0...4_000_000_000, using: &random)) / 1.7))
            func text(_ offset: Int) -> String? { texts[(index + offset) % texts.count] }
            record.entryMode = text(1)
            record.referenceId = text(2)
            record.originalTransactionId = text(3)
            record.terminalId = text(4)
            record.cardScheme = text(5)
            record.maskedPan = text(0)
            record.authorizationCode = text(1)
            record.responseCode = text(2)
            record.declineCode = text(3)
            record.errorCode = text(4)
            record.balance = index % 3 == 0 ? Int64(index) * 7 : nil
            record.refundedAmount = Int64(index % 2) * 25
            record.completionTransactionId = text(5)
            record.voidTransactionId = text(0)
            record.settlementId = index % 5 == 0 ? "set_1" : nil
            if index % 4 == 0 {
                record.rounding = RoundingInfo(ledgerTotal: 1001, cashTotal: 1000, delta: -1, mode: "nearest_nickel",
                                               jurisdiction: "US-IL", complianceStatus: "PASS")
            }
            if index % 3 == 1 {
                let metadata: JSONValue = ["note": .string(text(2) ?? "n"), "b": [1, .double(2.5), true, .null], "a": [:]]
                record.metadata = metadata
            }
            records.append(record)
        }
        let mismatches = records.filter { $0.jsonBytes != $0.json.serialized() }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(1).map { String(decoding: $0.jsonBytes, as: UTF8.self) })")
        // The answer stored for replay is what storing the response keeps of it.
        for record in records.prefix(20) {
            let sale = WrittenSale(record)
            #expect(sale.storedResponse == StoredResponse(sale.response))
        }
    }
}
