import AcquirerContract
import Foundation
import Kernel
import Postgres
import Synchronization
import Testing
import Transactions
@testable import Reconciliation

/// Close day (A14, A21–A23, A29): settlement, totals reset, acquirer outcomes, the close lock, concurrency.
@Suite struct CloseDayTests {
    @Test func dryRunChangesNothing() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        try await fixture.sale(2500)
        try await fixture.settle()
        let dry = await fixture.post("/v1/reconciliation", ["closeDay": false])
        #expect(dry.status == 200)
        #expect(dry.string("status") == "SUCCESS")
        #expect(dry.json["totals"]?["saleAmount"] == 2500)
        #expect(dry.json["totals"]?["currency"] == "NZD")
        #expect(dry.string("timestamp") != nil)
        #expect(await fixture.get("/v1/totals?currency=NZD").int("saleCount") == 1)
        #expect(await fixture.get("/v1/settlements").json["data"] == [])
    }

    @Test func closeSettlesResetsAndBlocksVoids() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let first = try await fixture.sale(2500)
        let second = try await fixture.sale(1200)
        try await fixture.sale(500, type: "REFUND", original: first)
        let voided = try await fixture.sale(800)
        try await fixture.sale(800, type: "VOID", original: voided)
        try await fixture.sale(4000, type: "PRE_AUTH")
        try await fixture.settle()

        let close = await fixture.closeDay()
        #expect(close.status == 200)
        #expect(close.string("status") == "SUCCESS")
        #expect(close.json["totals"]?["saleCount"] == 3)
        #expect(close.json["totals"]?["saleAmount"] == 4500)
        guard let settlementId = close.json["settlements"]?.item(0)?["id"]?.stringValue else {
            Issue.record("no settlement in \(close.bodyText)")
            return
        }
        // Running totals reset (A22).
        let totals = await fixture.get("/v1/totals?currency=NZD")
        #expect(totals.json == ["saleCount": 0, "saleAmount": 0, "refundCount": 0, "refundAmount": 0, "voidCount": 0,
                                "voidAmount": 0, "preAuthCount": 0, "preAuthAmount": 0, "currency": "NZD"])
        let list = await fixture.get("/v1/settlements")
        #expect(list.json["data"]?.item(0)?["id"]?.stringValue == settlementId)
        // A29: net = sales − refunds − voids; documented fields present.
        let settlement = await fixture.get("/v1/settlements/\(settlementId)")
        #expect(settlement.status == 200)
        #expect(settlement.int("netAmount") == 3200)  // 4500 − 500 − 800
        #expect(settlement.string("status") == "SETTLED")
        #expect(settlement.string("merchantId") == fixture.merchantId)
        #expect(settlement.string("terminalId") == "ALL")
        #expect(settlement.string("currency") == "NZD")
        #expect(settlement.string("acquirerBatchRef")?.hasPrefix("BATCH-") == true)
        #expect(settlement.string("fundingDate") != nil)
        #expect(try await fixture.mismatches().isEmpty)

        // Transactions consumed transaction.settled: the settled sale can no longer be voided.
        try await fixture.settle()
        let lateVoid = await fixture.post("/v1/transaction/sale", ["type": "VOID", "amount": 0, "currency": "NZD",
                                                                  "originalTransactionId": .string(second)])
        #expect(lateVoid.status == 409)
        #expect(lateVoid.errorCode == "TRANSACTION_SETTLED")
        let fetched = await fixture.get("/v1/transaction/\(second)")
        #expect(fetched.json["settled"] == true)
        // The PRE_AUTH left the period's totals but is not settled (it can still be completed or voided).
        let preAuthSettled = try await fixture.database.queryFirst("""
            SELECT count(*) AS n FROM transactions WHERE merchant_id = \(fixture.merchantId) AND type = 'PRE_AUTH'
              AND settlement_id IS NOT NULL
            """)
        #expect(try preAuthSettled?.decode("n", as: Int64.self) == 0)
    }

    /// A close with no activity still answers SUCCESS and lists one empty settlement (docs/reconciliation.md).
    @Test func closeWithoutActivityCreatesAnEmptySettlement() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let close = await fixture.closeDay()
        #expect(close.status == 200)
        #expect(close.string("status") == "SUCCESS")
        let data = await fixture.get("/v1/settlements").json["data"]
        #expect(data?.item(0)?["netAmount"] == 0)
        #expect(data?.item(0)?["status"] == "SETTLED")
        #expect(data?.item(0)?["currency"] == "NZD")
        #expect(data?.item(0)?["acquirerBatchRef"] == .null)
    }

    @Test func acquirerOutcomesReachTheSettlement() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        try await fixture.sale(SimulatedAcquirer.settlementFailAmount)
        try await fixture.settle()
        let failed = await fixture.closeDay()
        #expect(failed.string("status") == "FAILED")
        #expect(failed.json["settlements"]?.item(0)?["status"] == "FAILED")

        fixture.clock.advance(seconds: 1)
        try await fixture.sale(2500)
        try await fixture.sale(SimulatedAcquirer.settlementRejectAmount)
        try await fixture.settle()
        let partial = await fixture.closeDay()
        #expect(partial.string("status") == "PARTIAL")
        #expect(partial.json["settlements"]?.item(0)?["status"] == "PARTIAL")

        fixture.clock.advance(seconds: 1)
        try await fixture.sale(SimulatedAcquirer.settlementPendingAmount)
        try await fixture.settle()
        let pending = await fixture.closeDay()
        #expect(pending.string("status") == "SUCCESS")
        #expect(pending.json["settlements"]?.item(0)?["status"] == "PENDING")
        #expect(pending.json["settlements"]?.item(0)?["fundingDate"] == .null)
        // The close appends its transaction.settled events after answering: wait for them (30 s cap).
        try await fixture.settledEventsAppended()
        let events = try await fixture.database.queryFirst("""
            SELECT count(*) FILTER (WHERE event_type = 'settlement.created') AS created,
                   count(*) FILTER (WHERE event_type = 'settlement.updated') AS updated,
                   count(*) FILTER (WHERE event_type = 'transaction.settled') AS settled
            FROM event_log WHERE merchant_id = \(fixture.merchantId)
            """)
        #expect(try events?.decode("created", as: Int64.self) == 3)
        #expect(try events?.decode("updated", as: Int64.self) == 3)
        #expect(try events?.decode("settled", as: Int64.self) == 4)
    }

    @Test func oneSettlementPerCurrency() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        try await fixture.sale(2500)
        try await fixture.sale(700, currency: "AUD")
        try await fixture.settle()
        let close = await fixture.closeDay()
        #expect(close.status == 200)
        guard case .array(let settlements)? = close.json["settlements"] else {
            Issue.record("no settlements: \(close.bodyText)")
            return
        }
        #expect(Set(settlements.compactMap { $0["currency"]?.stringValue }) == ["AUD", "NZD"])
        #expect(await fixture.get("/v1/settlements?currency=AUD").json["data"]?.item(0)?["netAmount"] == 700)
    }

    /// A14: a second close (or a dry run) while one runs → 409 RECONCILIATION_IN_PROGRESS.
    @Test func aSecondCloseWhileOneRunsIsRefused() async throws {
        let acquirer = ScriptedSettlement()
        let fixture = try await ReconciliationFixture.make(directory: acquirer)
        defer { fixture.close() }
        try await fixture.sale(2500)
        try await fixture.settle()
        acquirer.hold()
        let running = Task { await fixture.closeDay() }
        let deadline = ContinuousClock.now + .seconds(10)
        while acquirer.calls == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        let second = await fixture.closeDay()
        #expect(second.status == 409)
        #expect(second.errorCode == "RECONCILIATION_IN_PROGRESS")
        #expect(second.string("requestId") != nil)
        let dry = await fixture.post("/v1/reconciliation", ["closeDay": false])
        #expect(dry.errorCode == "RECONCILIATION_IN_PROGRESS")
        acquirer.release()
        let first = await running.value
        #expect(first.status == 200)
        #expect(first.string("status") == "SUCCESS")
        // The lock is gone: the next close runs (empty period).
        fixture.clock.advance(seconds: 1)
        #expect(await fixture.closeDay().status == 200)
    }

    /// A settlement the acquirer never answered stays PENDING and unsubmitted; the next close submits it
    /// again under the same id (as after a crash between the claim and the answer).
    @Test func anUnansweredSettlementIsSubmittedByTheNextClose() async throws {
        let acquirer = ScriptedSettlement()
        let fixture = try await ReconciliationFixture.make(directory: acquirer)
        defer { fixture.close() }
        try await fixture.sale(2500)
        try await fixture.settle()
        acquirer.failNext()
        let first = await fixture.closeDay()
        #expect(first.status == 200)
        #expect(first.string("status") == "FAILED")
        let id = first.json["settlements"]?.item(0)?["id"]?.stringValue ?? ""
        #expect(await fixture.get("/v1/settlements/\(id)").string("status") == "PENDING")
        fixture.clock.advance(seconds: 1)
        let second = await fixture.closeDay()
        #expect(second.string("status") == "SUCCESS")
        #expect(second.json["settlements"]?.item(0)?["netAmount"] == 0)
        let resubmitted = await fixture.get("/v1/settlements/\(id)")
        #expect(resubmitted.string("status") == "SETTLED")
        #expect(resubmitted.int("netAmount") == 2500)
        #expect(acquirer.calls == 2)
    }

    /// Two closes in parallel: each answers 200 or 409, and every transaction is in exactly one settlement.
    @Test func twoClosesInParallel() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        for amount in 1...10 { try await fixture.sale(Int64(amount) * 100) }
        try await fixture.settle()
        async let one = fixture.closeDay()
        async let two = fixture.closeDay()
        let statuses = await [one.status, two.status].sorted()
        #expect(statuses == [200, 409] || statuses == [200, 200])
        let sums = try await fixture.database.queryFirst("""
            SELECT COALESCE(sum(sale_count), 0)::bigint AS sales, COALESCE(sum(sale_amount), 0)::bigint AS amount
            FROM reconciliation_settlements WHERE merchant_id = \(fixture.merchantId)
            """)
        #expect(try sums?.decode("sales", as: Int64.self) == 10)
        #expect(try sums?.decode("amount", as: Int64.self) == 5500)
        #expect(try await fixture.mismatches().isEmpty)
    }

    /// Sales during closes: every approved sale lands in exactly one settlement, none lost, none twice,
    /// and Transactions records the same settlement for each.
    @Test func salesDuringClosesEachLandInExactlyOneSettlement() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let salesCount = 80
        let closes = Statuses()
        // Secret keys allow 50 requests in flight each: the sales spread over four keys.
        var keys: [String] = []
        for _ in 0..<4 { keys.append(try await fixture.key(scopes: ["transactions:write", "transactions:read"])) }
        let salesKeys = keys
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<salesCount {
                group.addTask { try await fixture.sale(Int64(100 + index), key: salesKeys[index % salesKeys.count]) }
            }
            group.addTask {
                for _ in 0..<6 {
                    let status = await fixture.closeDay().status
                    closes.add(status)
                    try await Task.sleep(for: .milliseconds(15))
                }
            }
            try await group.waitForAll()
        }
        try await fixture.settle()
        #expect(await fixture.closeDay().status == 200)
        try await fixture.settle()
        #expect(closes.all.allSatisfy { $0 == 200 })
        let check = try await fixture.database.queryFirst("""
            SELECT (SELECT count(*) FROM reconciliation_items WHERE merchant_id = \(fixture.merchantId)) AS items,
                   (SELECT count(*) FROM reconciliation_items WHERE merchant_id = \(fixture.merchantId)
                    AND settlement_id IS NULL) AS open,
                   (SELECT COALESCE(sum(sale_count), 0)::bigint FROM reconciliation_settlements
                    WHERE merchant_id = \(fixture.merchantId)) AS settled_sales,
                   (SELECT COALESCE(sum(sale_amount), 0)::bigint FROM reconciliation_settlements
                    WHERE merchant_id = \(fixture.merchantId)) AS settled_amount,
                   (SELECT count(*) FROM transactions t JOIN reconciliation_items i ON i.transaction_id = t.id
                    WHERE t.merchant_id = \(fixture.merchantId) AND t.settlement_id IS DISTINCT FROM i.settlement_id) AS disagreeing
            """)
        let expectedAmount = Int64((0..<salesCount).reduce(0) { $0 + 100 + $1 })
        #expect(try check?.decode("items", as: Int64.self) == Int64(salesCount))
        #expect(try check?.decode("open", as: Int64.self) == 0)
        #expect(try check?.decode("settled_sales", as: Int64.self) == Int64(salesCount))
        #expect(try check?.decode("settled_amount", as: Int64.self) == expectedAmount)
        #expect(try check?.decode("disagreeing", as: Int64.self) == 0)
        #expect(try await fixture.mismatches().isEmpty)
    }

    @Test func anIdempotentCloseRunsOnce() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        try await fixture.sale(2500)
        try await fixture.settle()
        let first = await fixture.post("/v1/reconciliation", ["closeDay": true], idempotencyKey: "close-1")
        let again = await fixture.post("/v1/reconciliation", ["closeDay": true], idempotencyKey: "close-1")
        #expect(first.status == 200)
        #expect(again.bodyText == first.bodyText)
        #expect(await fixture.get("/v1/settlements").json["data"].map { value -> Int in
            if case .array(let items) = value { return items.count }
            return -1
        } == 1)
    }

    @Test func liveModeWithoutAnAcquirerAnswers503() async throws {
        let fixture = try await ReconciliationFixture.make()
        defer { fixture.close() }
        let close = await fixture.closeDay(key: fixture.liveKey)
        #expect(close.status == 503)
        #expect(close.errorCode == "ACQUIRER_NOT_CONFIGURED")
        let dry = await fixture.post("/v1/reconciliation", ["closeDay": false], key: fixture.liveKey)
        #expect(dry.status == 200)
    }
}

/// HTTP statuses collected from concurrent tasks.
final class Statuses: Sendable {
    private let values = Mutex<[Int]>([])
    func add(_ status: Int) { values.withLock { $0.append(status) } }
    var all: [Int] { values.withLock { $0 } }
}
