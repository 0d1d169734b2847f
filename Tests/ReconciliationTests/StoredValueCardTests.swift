import Foundation
import Kernel
import Postgres
import Testing
@testable import Reconciliation

/// Terminal-api A13–A26: card registration, reads, top-up, block and reissue under `/api`.
@Suite struct StoredValueCardTests {
    typealias Fixture = StoredValueFixture

    @Test func a13RegisterCardAsStation() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let response = await fixture.post("/api/cards", token: "station", Fixture.cardBody("00112233aabb"))
        #expect(response.status == 201)
        #expect(response.json["status"] == "ACTIVE")
        #expect(response.json["balance"] == 0)
        #expect(response.json["cardId"] == "00112233aabb")
        #expect(response.json["userId"] == 1001)
    }

    @Test func a14RegisterSameCardTwiceIsConflict() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let response = await fixture.post("/api/cards", token: "station", Fixture.cardBody(Fixture.cardX))
        #expect(response.isTerminalError(409, "card_already_registered"))
        // Upper-case hex names the same card.
        let upper = await fixture.post("/api/cards", token: "station", Fixture.cardBody(Fixture.cardX.uppercased()))
        #expect(upper.isTerminalError(409, "card_already_registered"))
    }

    @Test func a15RegisterCardAsTerminalIsForbidden() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        for role in ["terminal", "gate", "scout"] {
            let response = await fixture.post("/api/cards", token: role, Fixture.cardBody("00112233aabb"))
            #expect(response.isTerminalError(403, "insufficient_role"), "\(role)")
        }
    }

    @Test func a16RegisterCardForUnknownOrInactiveUser() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let unknown = await fixture.post("/api/cards", token: "station", Fixture.cardBody("00112233aabb", userId: 4242))
        #expect(unknown.isTerminalError(422, "invalid_user"))
        try await fixture.admin.setMember(fixture.tenant, userId: 77, status: .suspended)
        let suspended = await fixture.post("/api/cards", token: "station", Fixture.cardBody("00112233aabb", userId: 77))
        #expect(suspended.isTerminalError(422, "invalid_user"))
        #expect(await fixture.get("/api/cards/00112233aabb", token: "station").isTerminalError(404, "card_not_found"))
    }

    @Test func registerCardMalformedBodies() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let bad: [JSONValue] = [
            ["cardId": "a1b2c3", "userId": 1001, "name": "x", "createdAt": 1, "keyVersion": 1],
            ["cardId": "zzzzzzzzzzzz", "userId": 1001, "name": "x", "createdAt": 1, "keyVersion": 1],
            ["cardId": "00112233aabb", "userId": 4_294_967_296, "name": "x", "createdAt": 1, "keyVersion": 1],
            ["cardId": "00112233aabb", "userId": -1, "name": "x", "createdAt": 1, "keyVersion": 1],
            ["cardId": "00112233aabb", "userId": 1001, "name": .string(String(repeating: "é", count: 17)), "createdAt": 1, "keyVersion": 1],
            ["cardId": "00112233aabb", "userId": 1001, "name": "x", "createdAt": 1, "keyVersion": 256],
            ["cardId": "00112233aabb", "userId": 1001, "name": "x", "keyVersion": 1],
        ]
        for body in bad {
            #expect(await fixture.post("/api/cards", token: "station", body).isTerminalError(400, "malformed_payload"), "\(body)")
        }
        #expect(await fixture.get("/api/cards/00112233aabb", token: "station").status == 404)
    }

    @Test func a17UnknownCardIsNotFound() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        #expect(await fixture.get("/api/cards/ffffffffffff", token: "station").isTerminalError(404, "card_not_found"))
        #expect(await fixture.get("/api/cards/not-a-card", token: "station").isTerminalError(404, "card_not_found"))
    }

    @Test func a18OtherTenantsCardIsNotFound() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let response = await fixture.get("/api/cards/\(Fixture.cardB)", token: "station")
        #expect(response.isTerminalError(404, "card_not_found"))
        #expect(!response.bodyText.contains("1001"))
        for path in ["topup", "block", "reissue"] {
            let body: JSONValue = ["amount": 1, "reason": "lost", "operatorId": "o", "timestamp": 1]
            #expect(await fixture.post("/api/cards/\(Fixture.cardB)/\(path)", token: "station", body).status == 404, "\(path)")
        }
        // Tenant B sees its own card and not X.
        #expect(await fixture.get("/api/cards/\(Fixture.cardB)", token: "stationB").status == 200)
        #expect(await fixture.get("/api/cards/\(Fixture.cardX)", token: "stationB").status == 404)
    }

    @Test func a19ScoutReadsButCannotWrite() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let response = await fixture.get("/api/cards/\(Fixture.cardX)", token: "scout")
        #expect(response.status == 200)
        #expect(response.json["balance"] == 350_000)
        #expect(response.json["status"] == "ACTIVE")
        #expect(response.json["counter"] == 17)
        let x = "/api/cards/\(Fixture.cardX)"
        let writes: [(String, JSONValue)] = [("\(x)/topup", ["amount": 1, "operatorId": "o", "timestamp": 1]),
                             ("\(x)/block", ["reason": "lost", "operatorId": "o", "timestamp": 1]),
                             ("\(x)/reissue", ["operatorId": "o", "timestamp": 1]),
                             ("/api/cards", Fixture.cardBody("00112233aabb")),
                             ("/api/terminal-report", ["terminalId": 1, "eventType": "tamper", "timestamp": 1])]
        for (path, body) in writes {
            #expect(await fixture.post(path, token: "scout", body).isTerminalError(403, "insufficient_role"), "\(path)")
        }
        #expect(await fixture.reconcile([], as: "scout").isTerminalError(403, "insufficient_role"))
    }

    @Test func a20TopUpAsStation() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let response = await fixture.post("/api/cards/\(Fixture.cardX)/topup", token: "station",
                                          ["amount": 100_000, "operatorId": "opr_1", "timestamp": 1_764_600_000])
        #expect(response.status == 200)
        #expect(response.json["balanceBefore"] == 350_000)
        #expect(response.json["balanceAfter"] == 450_000)
        #expect(response.json["amount"] == 100_000)
        #expect(await fixture.card()["balance"] == 450_000)
        let event = try await fixture.database.queryFirst("""
            SELECT payload->>'balanceAfter' AS balance_after FROM event_log
            WHERE event_type = 'stored_value.loaded' AND resource_id = \(Fixture.cardX)
            """)
        #expect(event?.text("balance_after") == "450000")
        #expect(await fixture.post("/api/cards/\(Fixture.cardX)/topup", token: "terminal",
                                   ["amount": 1, "operatorId": "o", "timestamp": 1]).isTerminalError(403, "insufficient_role"))
    }

    @Test func a21TopUpPastMaxBalanceIsRefused() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        try await fixture.setCard(Fixture.cardX, balance: 4_950_000, counter: 17)
        let response = await fixture.post("/api/cards/\(Fixture.cardX)/topup", token: "station",
                                          ["amount": 50_001, "operatorId": "opr_1", "timestamp": 1])
        #expect(response.isTerminalError(422, "balance_ceiling_exceeded"))
        #expect(await fixture.card()["balance"] == 4_950_000)
        #expect(try await fixture.count("log") == 0)
        let exact = await fixture.post("/api/cards/\(Fixture.cardX)/topup", token: "station",
                                       ["amount": 50_000, "operatorId": "opr_1", "timestamp": 2])
        #expect(exact.json["balanceAfter"] == 5_000_000)
        let badAmounts: [JSONValue] = [0, -5, 4_294_967_296, "100", .double(1.5)]
        for amount in badAmounts {
            let bad = await fixture.post("/api/cards/\(Fixture.cardX)/topup", token: "station",
                                         ["amount": amount, "operatorId": "opr_1", "timestamp": 3])
            #expect(bad.isTerminalError(400, "malformed_payload"), "\(amount)")
        }
        #expect(await fixture.card()["balance"] == 5_000_000)
    }

    @Test func a22TopUpOnBlockedCardIsRefused() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        try await fixture.setCard(Fixture.cardX, balance: 350_000, counter: 17, status: "BLOCKED_TAMPER")
        let response = await fixture.post("/api/cards/\(Fixture.cardX)/topup", token: "station",
                                          ["amount": 1_000, "operatorId": "opr_1", "timestamp": 1])
        #expect(response.isTerminalError(422, "card_blocked"))
        #expect(await fixture.card()["balance"] == 350_000)
    }

    @Test func a23BlockThenBlockAgain() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let path = "/api/cards/\(Fixture.cardX)/block"
        let response = await fixture.post(path, token: "station", ["reason": "lost", "operatorId": "opr_1", "timestamp": 1])
        #expect(response.status == 200)
        #expect(response.json["status"] == "BLOCKED_ADMIN")
        #expect(response.json["blockedAt"]?.intValue != nil)
        #expect(response.json["reason"] == "lost")
        #expect(await fixture.card()["status"] == "BLOCKED_ADMIN")
        let again = await fixture.post(path, token: "station", ["reason": "lost", "operatorId": "opr_1", "timestamp": 2])
        #expect(again.isTerminalError(409, "already_blocked"))
    }

    @Test func a24BlockWithUnknownReason() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let response = await fixture.post("/api/cards/\(Fixture.cardX)/block", token: "station",
                                          ["reason": "bored", "operatorId": "opr_1", "timestamp": 1])
        #expect(response.isTerminalError(400, "malformed_payload"))
        #expect(await fixture.card()["status"] == "ACTIVE")
    }

    @Test func a25ReissueActiveCardIsRefused() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        let response = await fixture.post("/api/cards/\(Fixture.cardX)/reissue", token: "station",
                                          ["operatorId": "opr_1", "timestamp": 1])
        #expect(response.isTerminalError(422, "card_not_blocked"))
    }

    @Test func a26ReissueFraudBlockedCardNeedsAuthCode() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        try await fixture.setCard(Fixture.cardX, balance: 350_000, counter: 17, status: "BLOCKED_FRAUD")
        let path = "/api/cards/\(Fixture.cardX)/reissue"
        #expect(await fixture.post(path, token: "station", ["operatorId": "opr_1", "timestamp": 1])
            .isTerminalError(403, "reissue_not_authorised"))
        #expect(await fixture.post(path, token: "station", ["operatorId": "opr_1", "authCode": "rac_guess", "timestamp": 1])
            .isTerminalError(403, "reissue_not_authorised"))
        // An expired code is refused.
        let expired = try #require(try await fixture.admin.issueReissueAuthCode(fixture.tenant, cardId: Fixture.cardX))
        try await fixture.database.execute(
            "UPDATE reconciliation_card_auth_codes SET expires_at = \(fixture.clock.now().addingTimeInterval(-1))")
        #expect(await fixture.post(path, token: "station", ["operatorId": "opr_1", "authCode": .string(expired), "timestamp": 1])
            .isTerminalError(403, "reissue_not_authorised"))
        // Another tenant's card gets no code.
        #expect(try await fixture.admin.issueReissueAuthCode(fixture.tenant, cardId: Fixture.cardB) == nil)
        let code = try #require(try await fixture.admin.issueReissueAuthCode(fixture.tenant, cardId: Fixture.cardX))
        let granted = await fixture.post(path, token: "station", ["operatorId": "opr_1", "authCode": .string(code), "timestamp": 9])
        #expect(granted.status == 200)
        #expect(granted.json["reissueGranted"] == true)
        #expect(granted.json["newKeyVersion"] == 1)
        #expect(await fixture.card()["status"] == "ACTIVE")
        #expect(await fixture.card()["counter"] == 17)
        // The code was used up.
        try await fixture.setCard(Fixture.cardX, balance: 350_000, counter: 17, status: "BLOCKED_FRAUD")
        #expect(await fixture.post(path, token: "station", ["operatorId": "opr_1", "authCode": .string(code), "timestamp": 10])
            .isTerminalError(403, "reissue_not_authorised"))
    }

    @Test func reissueAdminBlockedCardNeedsOnlyTheOperator() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.close() }
        _ = await fixture.post("/api/cards/\(Fixture.cardX)/block", token: "station", ["reason": "lost", "operatorId": "o", "timestamp": 1])
        let response = await fixture.post("/api/cards/\(Fixture.cardX)/reissue", token: "station",
                                          ["operatorId": "opr_1", "timestamp": 1_764_600_000])
        #expect(response.status == 200)
        // The chain restarts from the genesis hash at the reissue timestamp; the counter continues.
        let events = fixture.chain(from: 350_000, counter: 17, hash: CardStore.genesisHash, at: 1_764_600_000, [(.debit, 1_000)])
        let reconciled = await fixture.reconcile(events)
        #expect(reconciled.json["accepted"] == 1)
        #expect(await fixture.card()["balance"] == 349_000)
    }
}
