import AtlasTestSupport
import Foundation
import Kernel
import Testing
@testable import Reconciliation

/// Settlement reads (A16, A25–A34): pagination, filters, line items, export, bad input, scopes, tenancy.
@Suite struct SettlementQueryTests {
    func count(_ value: JSONValue?) -> Int {
        if case .array(let items)? = value { return items.count }
        return -1
    }

    /// One settlement holding three sales and a refund; returns its id.
    func settledBatch(_ fixture: ReconciliationFixture) async throws -> String {
        let sale = try await fixture.sale(2500)
        fixture.clock.advance(seconds: 1)
        try await fixture.sale(1200)
        fixture.clock.advance(seconds: 1)
        try await fixture.sale(300)
        fixture.clock.advance(seconds: 1)
        try await fixture.sale(500, type: "REFUND", original: sale)
        try await fixture.settle()
        let close = await fixture.closeDay()
        guard let id = close.json["settlements"]?.item(0)?["id"]?.stringValue else { throw HarnessError(close.bodyText) }
        return id
    }

    @Test func listsNewestFirstWithCursorsAndDateFilters() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let start = fixture.clock.now()
        var ids: [String] = []
        for _ in 0..<5 {
            fixture.clock.advance(seconds: 60)
            let close = await fixture.closeDay()
            ids.append(close.json["settlements"]?.item(0)?["id"]?.stringValue ?? "")
        }
        // A25: default page, newest first.
        let all = await fixture.get("/v1/settlements")
        #expect(count(all.json["data"]) == 5)
        #expect(all.json["data"]?.item(0)?["id"]?.stringValue == ids.last)
        #expect(all.json["hasMore"] == false)
        #expect(all.json["nextCursor"] == .null)
        // A27: pages of 2 until hasMore is false, no duplicates or gaps.
        var seen: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            let page = await fixture.get("/v1/settlements?limit=2" + (cursor.map { "&cursor=" + $0 } ?? ""))
            #expect(page.status == 200)
            if case .array(let items)? = page.json["data"] { seen += items.compactMap { $0["id"]?.stringValue } }
            cursor = page.json["nextCursor"]?.stringValue
            #expect((page.json["hasMore"] == true) == (cursor != nil))
            pages += 1
        } while cursor != nil && pages < 10
        #expect(seen == ids.reversed())
        #expect(pages == 3)
        // A28: from ≤ closedAt < to (the second and third closes).
        let from = Timestamp.iso8601(start.addingTimeInterval(120))
        let to = Timestamp.iso8601(start.addingTimeInterval(240))
        let window = await fixture.get("/v1/settlements?from=\(from)&to=\(to)")
        #expect(window.json["data"]?.item(0)?["id"]?.stringValue == ids[2])
        #expect(window.json["data"]?.item(1)?["id"]?.stringValue == ids[1])
        #expect(count(window.json["data"]) == 2)
    }

    @Test func lineItemsAreAscendingPagedAndFiltered() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let id = try await settledBatch(fixture)
        let all = await fixture.get("/v1/settlements/\(id)/transactions")
        #expect(all.status == 200)
        #expect(count(all.json["data"]) == 4)
        var stamps: [String] = []
        if case .array(let items)? = all.json["data"] { stamps = items.compactMap { $0["timestamp"]?.stringValue } }
        #expect(stamps == stamps.sorted())
        let first = await fixture.get("/v1/settlements/\(id)/transactions?limit=3")
        #expect(count(first.json["data"]) == 3)
        #expect(first.json["hasMore"] == true)
        let cursor = first.string("nextCursor") ?? ""
        #expect(cursor.hasPrefix("cursor_txn_"))
        let second = await fixture.get("/v1/settlements/\(id)/transactions?limit=3&cursor=\(cursor)")
        #expect(count(second.json["data"]) == 1)
        #expect(second.json["hasMore"] == false)
        #expect(second.json["nextCursor"] == .null)
        // A31: only refunds.
        let refunds = await fixture.get("/v1/settlements/\(id)/transactions?type=REFUND")
        #expect(count(refunds.json["data"]) == 1)
        #expect(refunds.json["data"]?.item(0)?["type"] == "REFUND")
        #expect(refunds.json["data"]?.item(0)?["amount"] == 500)
    }

    @Test func exportsCSVAndJSONL() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let id = try await settledBatch(fixture)
        // A32: header exactly, one row per transaction.
        let csv = await fixture.get("/v1/settlements/\(id)/export?format=csv")
        #expect(csv.status == 200)
        #expect(csv.headers["Content-Type"]?.hasPrefix("text/csv") == true)
        let lines = csv.bodyText.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.first == "transactionId,type,status,amount,currency,cardScheme,maskedPan,authorizationCode,timestamp")
        #expect(lines.count == 5)
        #expect(lines.dropFirst().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == 9 })
        #expect(lines.dropFirst().first?.contains(",SALE,APPROVED,2500,NZD,VISA,************4242,") == true)
        // A34: one JSON object per line, keys equal to the CSV columns.
        let jsonl = await fixture.get("/v1/settlements/\(id)/export?format=jsonl")
        #expect(jsonl.status == 200)
        let objects = jsonl.bodyText.split(separator: "\n").map { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
        #expect(objects.count == 4)
        for object in objects {
            guard case .object(let fields)? = object else {
                Issue.record("not an object")
                continue
            }
            #expect(Set(fields.keys) == Set(SettlementItem.exportColumns))
        }
    }

    /// Part 4: the simulator's settlement file differs from ours on purpose (9904 one unit more, 9905 left
    /// out, a 9906 batch gains a line only the acquirer knows).
    @Test func matchingReportsEveryKindOfDifference() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        try await fixture.sale(2500)
        let mismatched = try await fixture.sale(9904)
        let omitted = try await fixture.sale(9905)
        try await fixture.sale(9906)
        try await fixture.settle()
        let close = await fixture.closeDay()
        let id = close.json["settlements"]?.item(0)?["id"]?.stringValue ?? ""
        let report = await fixture.get("/v1/settlements/\(id)/matching")
        #expect(report.status == 200)
        #expect(report.int("matched") == 2)
        #expect(report.json["missingOnTheirSide"] == [.string(omitted)])
        #expect(report.json["missingOnOurSide"] == [.string("ACQ-\(id)")])
        #expect(report.json["amountMismatches"] == [["transactionId": .string(mismatched), "ours": 9904, "theirs": 9905]])
        #expect(await fixture.get("/v1/settlements/stl_doesnotexist/matching").status == 404)
        #expect(await fixture.get("/v1/settlements/\(id)/matching", key: try await fixture.otherMerchantKey()).status == 404)
        #expect(await fixture.get("/v1/settlements/\(id)/matching", key: fixture.liveKey).status == 404)
        let readOnly = try await fixture.key(scopes: ["reconciliation:read"])
        #expect(await fixture.get("/v1/settlements/\(id)/matching", key: readOnly).errorCode == "FORBIDDEN")
    }

    /// Every bad input answers its documented 400 in the Commerce envelope (with requestId), never a 500.
    @Test func badInputIsRefused() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let id = try await settledBatch(fixture)
        let cases: [(String, Int, String)] = [
            ("/v1/settlements?limit=101", 400, "INVALID_REQUEST"),
            ("/v1/settlements?limit=0", 400, "INVALID_REQUEST"),
            ("/v1/settlements?limit=ten", 400, "INVALID_REQUEST"),
            ("/v1/settlements?from=yesterday", 400, "INVALID_REQUEST"),
            ("/v1/settlements?to=2026-13-45", 400, "INVALID_REQUEST"),
            ("/v1/settlements?currency=XYZ", 400, "INVALID_CURRENCY"),
            ("/v1/settlements?cursor=cursor_txn_01JQXYZ000123", 400, "INVALID_REQUEST"),
            ("/v1/settlements?cursor=garbage", 400, "INVALID_REQUEST"),
            ("/v1/settlements/stl_doesnotexist", 404, "NOT_FOUND"),
            ("/v1/settlements/stl_doesnotexist/transactions", 404, "NOT_FOUND"),
            ("/v1/settlements/\(id)/transactions?limit=201", 400, "INVALID_REQUEST"),
            ("/v1/settlements/\(id)/transactions?limit=0", 400, "INVALID_REQUEST"),
            ("/v1/settlements/\(id)/transactions?type=CARD_READ", 400, "INVALID_REQUEST"),
            ("/v1/settlements/\(id)/transactions?type=PRE_AUTH", 400, "INVALID_REQUEST"),
            ("/v1/settlements/\(id)/transactions?cursor=cursor_stl_x", 400, "INVALID_REQUEST"),
            ("/v1/settlements/\(id)/export", 400, "MISSING_FIELD"),
            ("/v1/settlements/\(id)/export?format=xml", 400, "INVALID_REQUEST"),
            ("/v1/settlements/stl_doesnotexist/export?format=csv", 404, "NOT_FOUND"),
            ("/v1/totals?currency=ABC", 400, "INVALID_CURRENCY"),
            ("/v1/totals?currency=nzd", 400, "INVALID_CURRENCY"),
        ]
        for (path, status, code) in cases {
            let response = await fixture.get(path)
            #expect(response.status == status, "\(path)")
            #expect(response.errorCode == code, "\(path): \(response.bodyText)")
            #expect(response.string("requestId") != nil, "\(path)")
        }
        let posts: [(JSONValue, String)] = [
            ([:], "MISSING_FIELD"),
            (["closeDay": "yes"], "INVALID_REQUEST"),
            (["closeDay": .null], "INVALID_REQUEST"),
            (["closeDay": true, "currency": "XXX"], "INVALID_CURRENCY"),
            (["closeDay": false, "currency": 12], "INVALID_REQUEST"),
        ]
        for (body, code) in posts {
            let response = await fixture.post("/v1/reconciliation", body)
            #expect(response.status == 400, "\(body)")
            #expect(response.errorCode == code, "\(body): \(response.bodyText)")
        }
        let malformed = await fixture.client.send(.post, "/v1/reconciliation",
                                                  headers: ["X-Api-Key": fixture.testKey, "Content-Type": "application/json"],
                                                  body: Array("{\"closeDay\":".utf8))
        #expect(malformed.status == 400)
        // Nothing was half-applied: still exactly the one settlement.
        #expect(count(await fixture.get("/v1/settlements").json["data"]) == 1)
    }

    @Test func scopesAreEnforced() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let id = try await settledBatch(fixture)
        let transactionsOnly = try await fixture.key(scopes: ["transactions:read", "transactions:write"])
        let readOnly = try await fixture.key(scopes: ["reconciliation:read"])
        #expect(await fixture.post("/v1/reconciliation", ["closeDay": true], key: transactionsOnly).errorCode == "FORBIDDEN")
        #expect(await fixture.post("/v1/reconciliation", ["closeDay": false], key: readOnly).errorCode == "FORBIDDEN")
        #expect(await fixture.get("/v1/totals", key: transactionsOnly).errorCode == "FORBIDDEN")
        #expect(await fixture.get("/v1/settlements", key: transactionsOnly).errorCode == "FORBIDDEN")
        #expect(await fixture.get("/v1/settlements", key: readOnly).status == 200)
        #expect(await fixture.get("/v1/settlements/\(id)", key: readOnly).status == 200)
        #expect(await fixture.get("/v1/settlements/\(id)/transactions", key: readOnly).errorCode == "FORBIDDEN")
        #expect(await fixture.get("/v1/settlements/\(id)/export?format=csv", key: readOnly).errorCode == "FORBIDDEN")
        let anonymous = await fixture.client.send(.get, "/v1/totals")
        #expect(anonymous.status == 401)
        #expect(anonymous.errorCode == "UNAUTHORIZED")
    }

    /// Another merchant and the other mode never see a settlement: 404, empty lists, zero totals.
    @Test func crossTenantAndCrossModeSeeNothing() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let id = try await settledBatch(fixture)
        try await fixture.sale(900)
        try await fixture.settle()
        let other = try await fixture.otherMerchantKey()
        for key in [other, fixture.liveKey] {
            #expect(await fixture.get("/v1/settlements/\(id)", key: key).status == 404)
            #expect(await fixture.get("/v1/settlements/\(id)/transactions", key: key).status == 404)
            #expect(await fixture.get("/v1/settlements/\(id)/export?format=csv", key: key).status == 404)
            #expect(count(await fixture.get("/v1/settlements", key: key).json["data"]) == 0)
            #expect(await fixture.get("/v1/totals?currency=NZD", key: key).int("saleCount") == 0)
        }
        // The other merchant's close does not take this merchant's open sale.
        #expect(await fixture.closeDay(key: other).status == 200)
        #expect(await fixture.get("/v1/totals?currency=NZD").int("saleCount") == 1)
    }
}
