import Auth
import Bootstrap
import Foundation
import Kernel
import Postgres
import Testing
@testable import Reconciliation

/// Issue 12 part 3: one balance per card. The `/v1` STORED_VALUE tender, station top-ups and reconciled offline
/// debits move the same `reconciliation_cards.balance` (Transactions reaches it through StoredValueContract).
@Suite struct StoredValueOneBalanceTests {
    typealias Fixture = StoredValueFixture
    static let pan = "6011111111111117"

    func v1(_ fixture: Fixture, _ path: String, key: String, _ body: JSONValue) async -> Response {
        var headers = HTTPHeaders()
        headers.add("X-Api-Key", key)
        return await fixture.client.send(.post, path, headers: headers, json: body)
    }

    func sale(_ fixture: Fixture, key: String, amount: Int64, pan: String = pan) async -> Response {
        await v1(fixture, "/v1/transaction/sale", key: key, ["type": "SALE", "amount": .int(amount), "currency": "NZD",
                                                            "tender": "STORED_VALUE", "card": ["number": .string(pan)]])
    }

    @Test func aCardToppedUpAtAStationPaysAV1SaleAndOfflineDebitsReduceTheSameBalance() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let key = try await fixture.application.auth.createSecretKey(merchantId: fixture.merchantId, mode: .live).secret
        #expect(try await fixture.admin.linkCardNumber(fixture.tenant, cardId: Fixture.cardX, cardNumber: Self.pan))
        let topUp = await fixture.post("/api/cards/\(Fixture.cardX)/topup", token: "station",
                                       ["amount": 50_000, "operatorId": "opr_1", "timestamp": 1])
        #expect(topUp.json["balanceAfter"] == 400_000)

        let online = await sale(fixture, key: key, amount: 100_000)
        #expect(online.json["status"] == "APPROVED", "\(online.bodyText)")
        #expect(online.json["balance"] == 300_000)
        #expect(await fixture.card()["balance"] == 300_000)

        // The card's own log still says 350000 (the top-up's credit write is not reconciled yet, so its chain
        // continues from 350000); offline it spent 320000, more than online spending left: accepted and flagged.
        let offline = await fixture.reconcile(fixture.chain(from: 350_000, counter: 17, [(.debit, 320_000)]))
        #expect(offline.json["accepted"] == 1)
        #expect(offline.reasons == ["insufficient_balance"])
        #expect(await fixture.card()["balance"] == -20_000)
        let exposure = try await fixture.admin.exposure(fixture.tenant)
        #expect(exposure.total == 20_000)
        #expect(exposure.cards.map(\.cardId) == [Fixture.cardX])
        let shortfall = try await fixture.database.queryFirst(
            "SELECT shortfall FROM reconciliation_card_events WHERE card_id = \(Fixture.cardX) AND counter = 18")
        #expect(try shortfall?.decode("shortfall", as: Int64.self) == 20_000)

        // An online sale never takes it further down; a top-up repays the exposure first.
        let declined = await sale(fixture, key: key, amount: 1)
        #expect(declined.json["status"] == "DECLINED")
        #expect(declined.json["declineCode"] == "INSUFFICIENT_FUNDS")
        let repay = await fixture.post("/api/cards/\(Fixture.cardX)/topup", token: "station",
                                       ["amount": 30_000, "operatorId": "opr_1", "timestamp": 2])
        #expect(repay.json["balanceAfter"] == 10_000)
        // A /v1 load credits the same card.
        let load = await v1(fixture, "/v1/stored-value/load", key: key,
                            ["cardNumber": .string(Self.pan), "amount": 5_000, "currency": "NZD"])
        #expect(load.json["balance"] == 15_000, "\(load.bodyText)")
        #expect(await fixture.card()["balance"] == 15_000)

        let events = try await fixture.database.query("""
            SELECT event_type, payload->>'source' AS source FROM event_log WHERE resource_id = \(Fixture.cardX) ORDER BY seq
            """).map { "\(try $0.decode("event_type", as: String.self)):\(try $0.decode("source", as: String.self))" }
        #expect(events == ["stored_value.loaded:station", "stored_value.debited:online", "stored_value.debited:offline",
                           "stored_value.loaded:station", "stored_value.loaded:online"])
        #expect(try await fixture.admin.exposure(fixture.tenant).total == 0)
    }

    @Test func aCardKnownOnlyByItsNumberLivesInTheSameRegistry() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let key = try await fixture.application.auth.createSecretKey(merchantId: fixture.merchantId, mode: .live).secret
        let load = await v1(fixture, "/v1/stored-value/load", key: key,
                            ["cardNumber": "4111111111111111", "amount": 7_000, "currency": "NZD"])
        #expect(load.json["balance"] == 7_000, "\(load.bodyText)")
        #expect(await sale(fixture, key: key, amount: 2_000, pan: "4111111111111111").json["balance"] == 5_000)
        let row = try #require(try await fixture.database.queryFirst("""
            SELECT card_id, balance, masked_pan FROM reconciliation_cards WHERE merchant_id = \(fixture.merchantId) AND card_id LIKE 'pan%'
            """))
        #expect(try row.decode("balance", as: Int64.self) == 5_000)
        #expect(try row.decode("masked_pan", as: String.self) == "************1111")
        // Another currency on the same card is refused; another tenant's key does not see the card.
        let otherCurrency = await v1(fixture, "/v1/stored-value/load", key: key,
                                     ["cardNumber": "4111111111111111", "amount": 1, "currency": "AUD"])
        #expect(otherCurrency.status == 409)
        let otherKey = try await fixture.application.auth.createSecretKey(merchantId: fixture.otherMerchantId, mode: .live).secret
        #expect(await sale(fixture, key: otherKey, amount: 1, pan: "4111111111111111").json["status"] == "DECLINED")
    }

    @Test func aBlockedCardCannotPayOnline() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let key = try await fixture.application.auth.createSecretKey(merchantId: fixture.merchantId, mode: .live).secret
        #expect(try await fixture.admin.linkCardNumber(fixture.tenant, cardId: Fixture.cardX, cardNumber: Self.pan))
        _ = await fixture.post("/api/cards/\(Fixture.cardX)/block", token: "station", ["reason": "lost", "operatorId": "o", "timestamp": 1])
        #expect(await sale(fixture, key: key, amount: 1_000).json["status"] == "DECLINED")
        let load = await v1(fixture, "/v1/stored-value/load", key: key, ["cardNumber": .string(Self.pan), "amount": 1, "currency": "NZD"])
        #expect(load.status == 409)
        #expect(await fixture.card()["balance"] == 350_000)
    }
}
