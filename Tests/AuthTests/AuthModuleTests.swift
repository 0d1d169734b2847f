import Kernel
import Testing
@testable import Auth

@Suite struct AuthModuleTests {
    @Test func declaresItsName() {
        #expect(AuthModule().name == "auth")
    }
}
