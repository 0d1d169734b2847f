import Kernel
import Testing
@testable import Reconciliation

@Suite struct ReconciliationModuleTests {
    @Test func declaresItsName() {
        #expect(ReconciliationModule().name == "reconciliation")
    }
}
