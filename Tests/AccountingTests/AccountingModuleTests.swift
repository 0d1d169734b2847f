import Kernel
import Testing
@testable import Accounting

@Suite struct AccountingModuleTests {
    @Test func declaresItsName() {
        #expect(AccountingModule().name == "accounting")
    }
}
