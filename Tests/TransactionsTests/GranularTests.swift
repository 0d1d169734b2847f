import AtlasTestSupport
import Foundation
import Kernel
import Testing
@testable import Transactions

/// Granular mode over HTTP (`POST /v1/transaction/initiate` → `/complete`), real PostgreSQL, through the Auth guard
/// and the idempotency middleware.
@Suite struct GranularTests {
    static let sale: JSONValue = ["type": "SALE", "amount": 2500, "currency": "NZD"]

    static func initiate(_ fixture: TransactionFixture, _ body: JSONValue = sale, key: String? = nil,
                         idempotencyKey: String? = nil) async -> Response {
        await fixture.post("/v1/transaction/initiate", body, key: key ?? fixture.testKey, idempotencyKey: idempotencyKey)
    }

    static func complete(_ fixture: TransactionFixture, _ id: String, _ code: String = "00", authorization: String? = "A1B2C3",
                         idempotencyKey: String? = nil) async -> Response {
        var body: [String: JSONValue] = ["transactionId": .string(id), "responseCode": .string(code)]
        if let authorization { body["authorizationCode"] = .string(authorization) }
        return await fixture.post("/v1/transaction/complete", .object(body), key: fixture.testKey, idempotencyKey: idempotencyKey)
    }

    func pendingCount(_ fixture: TransactionFixture) async throws -> Int64 {
        try await fixture.count("SELECT count(*) AS n FROM transactions_granular_pending")
    }

    @Test func initiateReturnsTheEMVDataAndCompleteApprovesLikeASale() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let initiated = await Self.initiate(fixture)
        #expect(initiated.status == 200, "\(initiated.bodyText)")
        #expect(initiated.string("status") == "AWAITING_COMPLETION")
        let id = try #require(initiated.string("transactionId"))
        let emv = initiated.json["emv"] ?? .null
        let cryptogram = try #require(emv["applicationCryptogram"]?.stringValue)
        #expect(cryptogram.count == 16 && cryptogram.allSatisfy(\.isHexDigit))
        #expect(emv["applicationId"] == "A0000000031010")
        #expect(emv["maskedPan"] == "************4242")
        #expect(emv["tags"]?["9F02"] == "000000002500")
        #expect(emv["iccData"]?.stringValue?.contains("9F2608" + cryptogram) == true)
        #expect(!initiated.bodyText.contains("4242424242424242"))
        let expiresAt = try #require(initiated.string("expiresAt"))
        #expect(expiresAt == Timestamp.iso8601(fixture.clock.now().addingTimeInterval(GranularState.completionTimeoutSeconds)))
        // Nothing final yet: no row, no event; GET shows the pending transaction.
        #expect(try await fixture.transactionCount() == 0)
        #expect(try await fixture.count("SELECT count(*) AS n FROM event_log") == 0)
        #expect(await fixture.get("/v1/transaction/\(id)").string("status") == "AWAITING_COMPLETION")

        let completed = await Self.complete(fixture, id)
        #expect(completed.status == 200, "\(completed.bodyText)")
        #expect(completed.string("status") == "APPROVED")
        #expect(completed.string("authorizationCode") == "A1B2C3")
        #expect(completed.string("responseCode") == "00")
        #expect(completed.string("maskedPan") == "************4242")
        #expect(completed.int("totalAmount") == 2500)
        // The same body as an orchestrated sale, and the same write: one row, one event, nothing pending.
        let sale = await fixture.sale(Self.sale)
        #expect(Set(completed.json.objectKeys) == Set(sale.json.objectKeys))
        #expect(try await fixture.count("SELECT count(*) AS n FROM event_log WHERE resource_id = \(id) AND event_type = 'transaction.approved'") == 1)
        #expect(try await pendingCount(fixture) == 0)
        #expect(await fixture.get("/v1/transaction/\(id)").string("status") == "APPROVED")
        let again = await Self.complete(fixture, id)
        #expect(again.status == 409)
        #expect(again.errorCode == "TRANSACTION_NOT_IN_PROGRESS")
    }

    @Test func otherResponseCodesDeclineWithTheMatchingDeclineCode() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        for (code, decline) in [("51", "INSUFFICIENT_FUNDS"), ("05", "DECLINED"), ("54", "EXPIRED_CARD"), ("Z9", "DECLINED")] {
            let id = try #require(await Self.initiate(fixture).string("transactionId"))
            let completed = await Self.complete(fixture, id, code, authorization: nil)
            #expect(completed.status == 200, "\(completed.bodyText)")
            #expect(completed.string("status") == "DECLINED")
            #expect(completed.string("responseCode") == code)
            #expect(completed.string("declineCode") == decline)
            #expect(completed.json["authorizationCode"] == .null)
        }
        #expect(try await fixture.count("SELECT count(*) AS n FROM event_log WHERE event_type = 'transaction.declined'") == 4)
    }

    @Test func pastTheDeadlineTheTransactionExpires() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let late = try #require(await Self.initiate(fixture).string("transactionId"))
        let unread = try #require(await Self.initiate(fixture).string("transactionId"))
        let swept = try #require(await Self.initiate(fixture).string("transactionId"))
        fixture.clock.advance(seconds: GranularState.completionTimeoutSeconds - 1)
        #expect(await fixture.get("/v1/transaction/\(late)").string("status") == "AWAITING_COMPLETION")
        // A hair past the deadline: timestamptz keeps microseconds, so the stored deadline may round up.
        fixture.clock.advance(seconds: 1.001)
        let refused = await Self.complete(fixture, late)
        #expect(refused.status == 409)
        #expect(refused.errorCode == "TRANSACTION_EXPIRED")
        #expect(await Self.complete(fixture, late).errorCode == "TRANSACTION_EXPIRED")
        let read = await fixture.get("/v1/transaction/\(unread)")
        #expect(read.string("status") == "ERROR")
        #expect(read.string("errorCode") == "COMPLETION_TIMEOUT")
        // The sweep ends the one nobody asked about, with its event.
        #expect(try await GranularFinisher(services: fixture.services,
                                           store: TransactionStore(database: fixture.database)).expireDue() == 1)
        #expect(await fixture.get("/v1/transaction/\(swept)").string("errorCode") == "COMPLETION_TIMEOUT")
        #expect(try await pendingCount(fixture) == 0)
        #expect(try await fixture.count("SELECT count(*) AS n FROM event_log WHERE event_type = 'transaction.failed'") == 3)
    }

    @Test func completeAnswers404And409ByState() async throws {
        let fixture = try await TransactionFixture.make(slowDelayMilliseconds: 3_000)
        defer { fixture.close() }
        let unknown = await Self.complete(fixture, TypedID.generate(prefix: .transaction).rawValue)
        #expect(unknown.status == 404)
        #expect(unknown.errorCode == "NOT_FOUND")
        let finished = try #require(await fixture.sale(Self.sale).string("transactionId"))
        #expect(await Self.complete(fixture, finished).errorCode == "TRANSACTION_NOT_IN_PROGRESS")
        // An orchestrated sale still running on its terminal is not awaiting completion.
        let running = Task { await fixture.sale(["type": "SALE", "amount": 7001, "currency": "NZD"], key: fixture.terminalKey) }
        var inFlight: String?
        for _ in 0..<200 where inFlight == nil {
            try await Task.sleep(for: .milliseconds(10))
            inFlight = try await fixture.database.queryFirst("SELECT transaction_id FROM transactions_terminal_locks")?
                .decode("transaction_id", as: String.self)
        }
        let refused = await Self.complete(fixture, try #require(inFlight))
        #expect(refused.status == 409)
        #expect(refused.errorCode == "NOT_AWAITING_COMPLETION")
        #expect(await running.value.string("status") == "APPROVED")
    }

    @Test func badInputsAreDocumented400sAndWriteNothing() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let initiates: [(JSONValue, String, String)] = [
            (["type": "REFUND", "amount": 100, "currency": "NZD", "originalTransactionId": "txn_01JRZ8Q0M5V8XK7J4W6H3T2B9C"],
             "INVALID_REQUEST", "type"),
            (["type": "CARD_READ", "amount": 0, "currency": "NZD"], "INVALID_REQUEST", "type"),
            (["type": "SALE", "amount": 100, "currency": "NZD", "tender": "CASH"], "INVALID_REQUEST", "tender"),
            (["type": "SALE", "amount": -1, "currency": "NZD"], "INVALID_AMOUNT", "amount"),
            (["type": "SALE", "amount": 100, "currency": "XXX"], "INVALID_CURRENCY", "currency"),
            (["type": "SALE", "amount": 100], "MISSING_FIELD", "currency"),
        ]
        for (body, code, field) in initiates {
            let response = await Self.initiate(fixture, body)
            #expect(response.status == 400, "\(body)")
            #expect(response.errorCode == code, "\(response.bodyText)")
            #expect(response.json["details"]?["field"]?.stringValue == field, "\(response.bodyText)")
        }
        let id = try #require(await Self.initiate(fixture).string("transactionId"))
        let completes: [(JSONValue, String, String)] = [
            (["responseCode": "00", "authorizationCode": "A1"], "MISSING_FIELD", "transactionId"),
            (["transactionId": "nope", "responseCode": "00", "authorizationCode": "A1"], "INVALID_REQUEST", "transactionId"),
            (["transactionId": .string(id), "authorizationCode": "A1"], "MISSING_FIELD", "responseCode"),
            (["transactionId": .string(id), "responseCode": "0"], "INVALID_REQUEST", "responseCode"),
            (["transactionId": .string(id), "responseCode": "0a"], "INVALID_REQUEST", "responseCode"),
            (["transactionId": .string(id), "responseCode": "00"], "MISSING_FIELD", "authorizationCode"),
            (["transactionId": .string(id), "responseCode": "00", "authorizationCode": "TOOLONG"], "INVALID_REQUEST",
             "authorizationCode"),
            (["transactionId": .string(id), "responseCode": "00", "authorizationCode": ""], "INVALID_REQUEST", "authorizationCode"),
        ]
        for (body, code, field) in completes {
            let response = await fixture.post("/v1/transaction/complete", body, key: fixture.testKey)
            #expect(response.status == 400, "\(body)")
            #expect(response.errorCode == code, "\(response.bodyText)")
            #expect(response.json["details"]?["field"]?.stringValue == field, "\(response.bodyText)")
        }
        let notJSON = await fixture.client.send(.post, "/v1/transaction/complete",
                                                headers: ["X-Api-Key": fixture.testKey, "Content-Type": "application/json"],
                                                body: Array("{".utf8))
        #expect(notJSON.status == 400)
        #expect(try await fixture.transactionCount() == 0)
        #expect(try await pendingCount(fixture) == 1)
        #expect(await fixture.get("/v1/transaction/\(id)").string("status") == "AWAITING_COMPLETION")
    }

    @Test func idempotencyKeysReplayInitiateAndComplete() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let first = await Self.initiate(fixture, idempotencyKey: "init-1")
        let replay = await Self.initiate(fixture, idempotencyKey: "init-1")
        #expect(first.status == 200)
        #expect(replay.bodyText == first.bodyText)
        #expect(replay.headers["Idempotent-Replayed"] == "true")
        #expect(try await pendingCount(fixture) == 1)
        let id = try #require(first.string("transactionId"))
        let completed = await Self.complete(fixture, id, idempotencyKey: "done-1")
        let completedAgain = await Self.complete(fixture, id, idempotencyKey: "done-1")
        #expect(completed.status == 200)
        #expect(completedAgain.bodyText == completed.bodyText)
        #expect(await Self.complete(fixture, id, "05", authorization: nil, idempotencyKey: "done-1").errorCode
                    == "IDEMPOTENCY_CONFLICT")
        #expect(try await fixture.transactionCount() == 1)
        #expect(try await fixture.count("SELECT count(*) AS n FROM event_log") == 1)
    }

    @Test func parallelCompletionsWriteOnce() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let id = try #require(await Self.initiate(fixture).string("transactionId"))
        let statuses = await withTaskGroup(of: Int.self) { group in
            for index in 0..<12 {
                group.addTask { await Self.complete(fixture, id, index % 2 == 0 ? "00" : "05").status }
            }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 200 }.count == 1)
        #expect(statuses.filter { $0 == 409 }.count == 11)
        #expect(try await fixture.transactionCount() == 1)
        #expect(try await fixture.count("SELECT count(*) AS n FROM event_log") == 1)
    }

    @Test func abortEndsAnAwaitingTransactionAndTheTerminalIsHeldUntilThen() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let initiated = await Self.initiate(fixture, key: fixture.terminalKey)
        #expect(initiated.string("terminalId") == fixture.terminalId)
        let id = try #require(initiated.string("transactionId"))
        let busy = await Self.initiate(fixture, key: fixture.terminalKey)
        #expect(busy.status == 409)
        #expect(busy.errorCode == "TERMINAL_BUSY")
        let aborted = await fixture.post("/v1/transaction/\(id)/abort", [:], key: fixture.testKey)
        #expect(aborted.status == 200)
        #expect(aborted.string("status") == "ABORTED")
        #expect(await Self.complete(fixture, id).errorCode == "TRANSACTION_NOT_IN_PROGRESS")
        #expect(await Self.initiate(fixture, key: fixture.terminalKey).status == 200)
        #expect(try await fixture.count("SELECT count(*) AS n FROM event_log WHERE event_type = 'transaction.aborted'") == 1)
    }

    @Test func liveModeHasNoTerminalToReadTheCard() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let response = await Self.initiate(fixture, key: fixture.liveKey)
        #expect(response.status == 503)
        #expect(response.errorCode == "TERMINAL_OFFLINE")
    }

    @Test func otherTenantsAndModesCannotCompleteIt() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let id = try #require(await Self.initiate(fixture).string("transactionId"))
        let live = await fixture.post("/v1/transaction/complete", ["transactionId": .string(id), "responseCode": "05"],
                                      key: fixture.liveKey)
        #expect(live.status == 404)
        #expect(await fixture.get("/v1/transaction/\(id)").string("status") == "AWAITING_COMPLETION")
    }
}

/// `GranularState` without a database: every transition and the deadline.
@Suite struct GranularStateTests {
    let start = Date(timeIntervalSince1970: 1_775_000_000)

    @Test func transitionsBeforeTheDeadline() {
        var state = GranularState(startedAt: start)
        let early = state.expireIfDue(at: start.addingTimeInterval(89))
        #expect(early == GranularState.Action.none)
        let approved = state.complete(.approved(authorizationCode: "A1"), at: start.addingTimeInterval(89))
        #expect(approved == .write(.issuer(.approved(authorizationCode: "A1"))))
        #expect(state.phase == .finished(.approved))
        let twice = state.complete(.approved(authorizationCode: "A1"), at: start)
        let abortAfter = state.abort(at: start)
        #expect(twice == .refuseFinished && abortAfter == .refuseFinished)
        var aborted = GranularState(startedAt: start)
        let abort = aborted.abort(at: start)
        #expect(abort == .write(.aborted))
        #expect(aborted.phase == .finished(.aborted))
    }

    @Test func atTheDeadlineEveryTransitionExpires() {
        let deadline = start.addingTimeInterval(GranularState.completionTimeoutSeconds)
        var completing = GranularState(startedAt: start)
        let completed = completing.complete(.declined(responseCode: "05", declineCode: "DECLINED"), at: deadline)
        #expect(completed == .expire)
        #expect(completing.phase == .finished(.error))
        var aborting = GranularState(startedAt: start)
        let aborted = aborting.abort(at: deadline)
        #expect(aborted == .expire)
        var swept = GranularState(startedAt: start)
        let first = swept.expireIfDue(at: deadline)
        let second = swept.expireIfDue(at: deadline)
        #expect(first == .expire && second == .refuseFinished)
    }

    @Test func validationAndDeclineCodes() throws {
        #expect(IssuerResponseCodes.declineCode(for: "51") == "INSUFFICIENT_FUNDS")
        #expect(IssuerResponseCodes.declineCode(for: "Q1") == "DECLINED")
        let id = "txn_01JRZ8Q0M5V8XK7J4W6H3T2B9C"
        #expect(try GranularValidation.validate(CompleteRequest(transactionId: id, responseCode: "51", authorizationCode: nil))
                    .answer == .declined(responseCode: "51", declineCode: "INSUFFICIENT_FUNDS"))
        #expect(throws: AtlasError.self) {
            try GranularValidation.validate(CompleteRequest(transactionId: id, responseCode: "00", authorizationCode: "abc"))
        }
    }

    @Test func simulatedChipDataIsDeterministicTLV() {
        let request = CardReadRequest(transactionId: "txn_01JRZ8Q0M5V8XK7J4W6H3T2B9C", type: .sale, amountMinorUnits: 2500,
                                      cashbackMinorUnits: 0, cardNumber: "5555555555554444", date: start)
        let first = SimulatedCardReader.read(request)
        #expect(first == SimulatedCardReader.read(request))
        #expect(first.applicationId == "A0000000041010")
        #expect(first.maskedPan == "************4444")
        #expect(first.iccData.hasPrefix("4F07A0000000041010"))
        #expect(!first.iccData.contains("5555555555554444"))
    }
}

extension JSONValue {
    /// The member names of an object (empty for anything else).
    var objectKeys: [String] {
        if case .object(let members) = self { return Array(members.keys) }
        return []
    }
}
