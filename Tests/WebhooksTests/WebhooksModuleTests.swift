import Kernel
import Testing
@testable import Webhooks

@Suite struct WebhooksModuleTests {
    @Test func declaresItsName() {
        #expect(WebhooksModule().name == "webhooks")
    }
}
