import Kernel
import Testing
@testable import Rounding

@Suite struct RoundingModuleTests {
    @Test func declaresItsName() {
        #expect(RoundingModule().name == "rounding")
    }
}
