import Kernel
import Testing
@testable import Transactions

/// The pending-command table's rules, without a socket: bounded, each waiter resumed once whichever of the answer,
/// the timeout or the channel's end comes first, answers that beat the waiter held for it, late answers ignored.
@Suite struct PendingCommandsTests {
    @Test func atCapacityTheNextCommandIsRefused() {
        var table = PendingCommands<Int>(capacity: 2)
        #expect(table.reserve("a") == .admitted)
        #expect(table.reserve("b") == .admitted)
        #expect(table.reserve("c") == .full)
        #expect(table.attach("a", 1) == nil)
        guard case .resume(let waiter, .timedOut) = table.settle("a", .timedOut) else { Issue.record("a waits"); return }
        #expect(waiter == 1)
        #expect(table.reserve("c") == .admitted)
    }

    @Test func theFirstSettlementWinsAndLateAnswersAreIgnored() {
        var table = PendingCommands<Int>(capacity: 4)
        _ = table.reserve("a")
        _ = table.attach("a", 7)
        guard case .resume(let waiter, let outcome) = table.settle("a", .answered(["success": true])) else {
            Issue.record("the answer resumes the waiter"); return
        }
        #expect(waiter == 7)
        #expect(outcome == .answered(["success": true]))
        guard case .ignored = table.settle("a", .timedOut) else { Issue.record("a late timeout is ignored"); return }
        guard case .ignored = table.settle("unknown", .answered(.null)) else { Issue.record("unknown ids are ignored"); return }
        #expect(table.count == 0)
    }

    @Test func anAnswerBeforeTheWaiterAttachesIsHeldForIt() {
        var table = PendingCommands<Int>(capacity: 4)
        _ = table.reserve("a")
        guard case .held = table.settle("a", .answered("fast")) else { Issue.record("held"); return }
        guard case .ignored = table.settle("a", .timedOut) else { Issue.record("settled once"); return }
        #expect(table.attach("a", 1) == .answered("fast"))
        #expect(table.count == 0)
    }

    @Test func closingHandsBackEveryWaiterAndRefusesMore() {
        var table = PendingCommands<Int>(capacity: 4)
        _ = table.reserve("a")
        _ = table.attach("a", 1)
        _ = table.reserve("b")
        #expect(table.close() == [1])
        #expect(table.attach("b", 2) == .offline)
        #expect(table.reserve("c") == .closed)
        #expect(table.count == 0)
    }

    @Test func sandboxDefaultsFitTheRequestedLength() {
        #expect(SandboxTerminal.defaultValue(["inputType": "NUMERIC", "minLength": 6]) == "123400")
        #expect(SandboxTerminal.defaultValue(["inputType": "TEXT", "maxLength": 3]) == "san")
        #expect(SandboxTerminal.scriptedValue("[sim:value=abc] Name?") == "abc")
        #expect(SandboxTerminal.scriptedValue("Name? [sim:value=abc") == nil)
    }
}
