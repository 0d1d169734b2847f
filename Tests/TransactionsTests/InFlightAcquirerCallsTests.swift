import AcquirerContract
import Foundation
import Testing
@testable import Transactions

/// An abort that arrives between the terminal claim and the acquirer call still cancels that call (it took
/// effect only after the whole call before: `abortInFlightTransaction` waited 3 s under load).
@Suite struct InFlightAcquirerCallsTests {
    static func neverEndingCall() -> Task<AcquirerOutcome, any Error> {
        Task {
            try await Task.sleep(for: .seconds(600))
            return .timeout
        }
    }

    @Test func anAbortBeforeTheCallStartedCancelsItAsItRegisters() async {
        let calls = InFlightAcquirerCalls()
        calls.abort("txn_1")
        let task = Self.neverEndingCall()
        calls.register("txn_1", task)
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test func anAbortDuringTheCallCancelsIt() async {
        let calls = InFlightAcquirerCalls()
        let task = Self.neverEndingCall()
        calls.register("txn_2", task)
        calls.abort("txn_2")
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test func anEndedSaleForgetsItsEarlyAbort() async throws {
        let calls = InFlightAcquirerCalls()
        calls.abort("txn_3")
        calls.saleEnded("txn_3")
        let task = Self.neverEndingCall()
        calls.register("txn_3", task)
        try await Task.sleep(for: .milliseconds(50))
        #expect(!task.isCancelled)
        task.cancel()
    }
}
