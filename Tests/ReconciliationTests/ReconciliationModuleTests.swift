import AcquirerContract
import Foundation
import Kernel
import Testing
import Transactions
@testable import Reconciliation

/// Pure logic: the close's overall status, the simulator's settlement answers, CSV quoting.
@Suite struct ReconciliationModuleTests {
    @Test func declaresItsName() {
        #expect(ReconciliationModule().name == "reconciliation")
    }

    func settlement(_ status: SettlementStatus, submitted: Bool = true, id: String = "stl_x") -> SettlementRecord {
        SettlementRecord(id: id, tenant: TenantContext(merchantId: "mer_x", mode: .test), terminalId: "ALL",
                         totals: TransactionTotals(currency: "NZD"), status: status, submitted: submitted, closedAt: Date())
    }

    @Test func closeStatusIsSuccessOnlyWhenEverySettlementWasAccepted() {
        #expect(CloseDayRun.status([settlement(.settled)]) == "SUCCESS")
        #expect(CloseDayRun.status([settlement(.pending), settlement(.settled)]) == "SUCCESS")
        #expect(CloseDayRun.status([settlement(.failed)]) == "FAILED")
        #expect(CloseDayRun.status([settlement(.pending, submitted: false)]) == "FAILED")
        #expect(CloseDayRun.status([settlement(.partial)]) == "PARTIAL")
        #expect(CloseDayRun.status([settlement(.failed), settlement(.settled)]) == "PARTIAL")
    }

    /// claim → submit this close's and a left-over settlement → answer with this close's only.
    @Test func aCloseRunSubmitsEveryUnsubmittedSettlementThenAnswers() {
        var run = CloseDayRun()
        #expect(run.start() == .claim)
        let created = settlement(.pending, submitted: false, id: "stl_new")
        let leftOver = settlement(.pending, submitted: false, id: "stl_old")
        #expect(run.claimed([created], unsubmitted: [leftOver, created]) == .submit(leftOver))
        var settled = leftOver
        settled.status = .settled
        settled.submitted = true
        #expect(run.submitted(settled) == .submit(created))
        var partial = created
        partial.status = .partial
        partial.submitted = true
        #expect(run.submitted(partial) == .answer(status: "PARTIAL", settlements: [partial]))
    }

    /// An acquirer that cannot be reached leaves the settlement unsubmitted: the close answers FAILED.
    @Test func anUnreachableAcquirerMakesTheCloseFail() {
        var run = CloseDayRun()
        _ = run.start()
        let created = settlement(.pending, submitted: false, id: "stl_new")
        #expect(run.claimed([created], unsubmitted: [created]) == .submit(created))
        #expect(run.submitted(nil) == .answer(status: "FAILED", settlements: [created]))
    }

    /// An empty close is already settled: nothing to submit.
    @Test func anEmptyCloseAnswersAtOnce() {
        var run = CloseDayRun()
        _ = run.start()
        let empty = settlement(.settled, id: "stl_empty")
        #expect(run.claimed([empty], unsubmitted: []) == .answer(status: "SUCCESS", settlements: [empty]))
    }

    func submission(_ amounts: [Int64]) -> SettlementSubmission {
        SettlementSubmission(settlementId: "stl_01JQDAY0004200000000000000", tenant: TenantContext(merchantId: "mer_x", mode: .test),
                             currency: "NZD", closedAt: Date(timeIntervalSince1970: 1_775_689_200), netAmountMinorUnits: amounts.reduce(0, +),
                             lines: amounts.enumerated().map { SettlementLine(transactionId: "txn_\($0.offset)", type: "SALE",
                                                                              amountMinorUnits: $0.element, authorizationCode: nil) })
    }

    @Test func simulatorSettlesDeterministically() async throws {
        let simulator = SimulatedAcquirer(slowDelayMilliseconds: 0)
        let settled = try await simulator.settle(submission([2500, 1200]))
        #expect(settled.status == .settled)
        #expect(settled.acquirerBatchRef?.hasPrefix("BATCH-20260408-") == true)
        #expect(settled.fundingDate == Date(timeIntervalSince1970: 1_775_606_400 + 2 * 86_400))
        #expect(try await simulator.settle(submission([2500, 1200])) == settled)
        let failed = try await simulator.settle(submission([2500, SimulatedAcquirer.settlementFailAmount]))
        #expect(failed.status == .failed)
        #expect(failed.acquirerBatchRef == nil)
        let partial = try await simulator.settle(submission([2500, SimulatedAcquirer.settlementRejectAmount]))
        #expect(partial.status == .partial)
        #expect(partial.rejectedTransactionIds == ["txn_1"])
        let pending = try await simulator.settle(submission([SimulatedAcquirer.settlementPendingAmount]))
        #expect(pending.status == .pending)
        #expect(pending.fundingDate == nil)
    }

    @Test func matchingSortsEveryLineIntoOneCategory() throws {
        let ours = [SettlementLine(transactionId: "txn_a", type: "SALE", amountMinorUnits: 100, authorizationCode: nil),
                    SettlementLine(transactionId: "txn_b", type: "SALE", amountMinorUnits: 200, authorizationCode: nil),
                    SettlementLine(transactionId: "txn_c", type: "REFUND", amountMinorUnits: 50, authorizationCode: nil)]
        let theirs = try SettlementMatcher.parse("transactionId,type,amount\ntxn_a,SALE,100\ntxn_b,SALE,201\nACQ-1,SALE,7\n")
        let report = SettlementMatcher.match(ours: ours, theirs: theirs)
        #expect(report.matched == 1)
        #expect(report.amountMismatches == [.init(transactionId: "txn_b", ours: 200, theirs: 201)])
        #expect(report.missingOnTheirSide == ["txn_c"])
        #expect(report.missingOnOurSide == ["ACQ-1"])
    }

    @Test func aMalformedSettlementFileIsRefusedWhole() {
        #expect(throws: SettlementMatcher.InvalidFile.self) { try SettlementMatcher.parse("id,amount\ntxn_a,1\n") }
        #expect(throws: SettlementMatcher.InvalidFile.self) {
            try SettlementMatcher.parse("transactionId,type,amount\ntxn_a,SALE,100\ntxn_b,SALE\n")
        }
        #expect(throws: SettlementMatcher.InvalidFile.self) {
            try SettlementMatcher.parse("transactionId,type,amount\ntxn_a,SALE,-5\n")
        }
        #expect(throws: SettlementMatcher.InvalidFile.self) {
            try SettlementMatcher.parse("transactionId,type,amount\ntxn_a,SALE,18446744073709551616\n")
        }
        #expect(throws: SettlementMatcher.InvalidFile.self) { try SettlementMatcher.parse("") }
    }

    @Test func csvFieldsAreQuotedOnlyWhenNeeded() {
        func csvField(_ value: String) -> String {
            var body: [UInt8] = []
            SettlementExport.appendCSVField(value, to: &body)
            return String(decoding: body, as: UTF8.self)
        }
        #expect(csvField("txn_01") == "txn_01")
        #expect(csvField("a,b") == "\"a,b\"")
        #expect(csvField("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(csvField("two\r\nlines") == "\"two\r\nlines\"")
    }
}
