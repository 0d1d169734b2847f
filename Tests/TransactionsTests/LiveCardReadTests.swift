import AtlasTestSupport
import Foundation
import Kernel
import Testing
@testable import Transactions

/// Live granular mode (`POST /v1/transaction/initiate` with a live credential): the card is read by the terminal over
/// its device channel (`card_read`), played here by a raw WebSocket client against a real server. Its answer is
/// checked before anything is stored; errors, malformed data and silence are 502/504 with the terminal released.
@Suite struct LiveCardReadTests {
    typealias Harness = TerminalChannelTests.Harness

    static let sale: JSONValue = ["type": "SALE", "amount": 2500, "currency": "NZD"]

    /// What a terminal answers for a tap of a Visa card on a 25.00 sale.
    static func read(amount: Int64 = 2500, extraTags: [String: JSONValue] = [:]) -> JSONValue {
        var tags: [String: JSONValue] = [
            "4F": "A0000000031010", "82": "1980", "95": "0000008000", "9A": "261203", "9C": "00",
            "9F02": .string(String(format: "%012lld", amount)), "9F03": "000000000000", "9F10": "06010A03A00000",
            "9F26": "1A2B3C4D5E6F7081", "9F27": "80", "9F36": "0042", "9F37": "DEADBEEF",
        ]
        tags.merge(extraTags) { _, new in new }
        return ["type": "result", "result": ["applicationId": "A0000000031010", "applicationLabel": "VISA CREDIT",
                                             "cardScheme": "VISA", "maskedPan": "************4242", "tags": .object(tags)]]
    }

    static func initiate(_ harness: Harness) -> Task<Response, Never> {
        Task { await harness.fixture.post("/v1/transaction/initiate", sale, key: harness.key) }
    }

    @Test func theTerminalReadsTheCardAndTheTransactionCompletes() async throws {
        let harness = try await Harness.make()
        defer { Task { await harness.close() } }
        let (client, _) = try await harness.connect()
        let initiated = Self.initiate(harness)
        let command = try await TerminalChannelTests.answerNext(client, kind: "card_read") { _ in Self.read() }
        #expect(command["payload"]?["amount"] == 2500)
        #expect(command["payload"]?["currency"] == "NZD")
        #expect(command["payload"]?["type"] == "SALE")
        let response = await initiated.value
        #expect(response.status == 200, "\(response.bodyText)")
        #expect(response.string("status") == "AWAITING_COMPLETION")
        #expect(response.json["emv"]?["maskedPan"] == "************4242")
        #expect(response.json["emv"]?["applicationCryptogram"] == "1A2B3C4D5E6F7081")
        #expect(response.json["emv"]?["tags"]?["9F02"] == "000000002500")
        #expect(response.json["livemode"] == true)
        let id = try #require(response.string("transactionId"))
        let completed = await harness.fixture.post("/v1/transaction/complete",
                                                   ["transactionId": .string(id), "responseCode": "00",
                                                    "authorizationCode": "A1B2C3"], key: harness.key)
        #expect(completed.status == 200, "\(completed.bodyText)")
        #expect(completed.string("status") == "APPROVED")
        #expect(completed.string("terminalId") == TerminalChannelTests.terminalId)
        try await onThread { try client.sendClose(code: 1000) }
    }

    /// (name, the terminal's answer, the error the POS gets)
    static let refusals: [(name: String, answer: JSONValue, code: String)] = [
        ("card removed", ["type": "result", "error": ["code": "CARD_REMOVED", "message": "Card removed"]], "TERMINAL_ERROR"),
        ("the PAN in the tags", read(extraTags: ["5A": "4242424242424242"]), "TERMINAL_ERROR"),
        ("another amount signed", read(amount: 2600), "TERMINAL_ERROR"),
        ("no cryptogram", ["type": "result", "result": ["applicationId": "A0000000031010", "applicationLabel": "VISA",
                                                        "cardScheme": "VISA", "maskedPan": "************4242",
                                                        "tags": ["9F02": "000000002500"]]], "TERMINAL_ERROR"),
        ("a full PAN as maskedPan", ["type": "result", "result": ["applicationId": "A0000000031010", "applicationLabel": "VISA",
                                                                  "cardScheme": "VISA", "maskedPan": "4242424242424242",
                                                                  "tags": ["9F02": "000000002500"]]], "TERMINAL_ERROR"),
    ]

    @Test(arguments: 0..<refusals.count) func aBadCardReadIsRefusedAndWritesNothing(index: Int) async throws {
        let (name, answer, code) = Self.refusals[index]
        let harness = try await Harness.make()
        defer { Task { await harness.close() } }
        let (client, _) = try await harness.connect()
        let initiated = Self.initiate(harness)
        _ = try await TerminalChannelTests.answerNext(client, kind: "card_read") { _ in answer }
        let response = await initiated.value
        TerminalDeviceTests.expectError(response, 502, code)
        #expect(!response.bodyText.contains("4242424242424242"), "\(name)")
        #expect(try await harness.fixture.count("SELECT count(*) AS n FROM transactions_granular_pending") == 0, "\(name)")
        #expect(try await harness.fixture.count("SELECT count(*) AS n FROM transactions_terminal_locks") == 0, "\(name)")
        // The terminal is free again: the next read goes through.
        let again = Self.initiate(harness)
        _ = try await TerminalChannelTests.answerNext(client, kind: "card_read") { _ in Self.read() }
        #expect(await again.value.string("status") == "AWAITING_COMPLETION", "\(name)")
        try await onThread { try client.sendClose(code: 1000) }
    }

    @Test func aSilentTerminalTimesOutAndAnOfflineOneIs503() async throws {
        let harness = try await Harness.make(limits: TerminalLimits(cardReadTimeoutMilliseconds: 300))
        defer { Task { await harness.close() } }
        TerminalDeviceTests.expectError(await harness.fixture.post("/v1/transaction/initiate", Self.sale, key: harness.key),
                                        503, "TERMINAL_OFFLINE")
        let (client, _) = try await harness.connect()
        let initiated = Self.initiate(harness)
        _ = try await TerminalChannelTests.answerNext(client, kind: "card_read") { _ in nil }
        TerminalDeviceTests.expectError(await initiated.value, 504, "TERMINAL_TIMEOUT")
        #expect(try await harness.fixture.count("SELECT count(*) AS n FROM transactions_terminal_locks") == 0)
        try await onThread { try client.sendClose(code: 1000) }
    }
}
