import Kernel
import Testing
@testable import Transactions

@Suite struct TransactionsModuleTests {
    @Test func declaresItsName() {
        #expect(TransactionsModule().name == "transactions")
    }
}
