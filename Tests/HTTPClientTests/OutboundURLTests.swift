import Kernel
import Testing

@Suite struct OutboundURLTests {
    @Test func parsesHostPortAndTarget() throws {
        let url = try #require(OutboundURL.parse("https://Hooks.Example.com:8443/atlas/in?x=1"))
        #expect(url.scheme == "https" && url.host == "hooks.example.com" && url.port == 8443)
        #expect(url.target == "/atlas/in?x=1")
        #expect(url.authority == "hooks.example.com:8443")
        let plain = try #require(OutboundURL.parse("http://example.com"))
        #expect(plain.port == 80 && plain.target == "/" && plain.authority == "example.com")
        let v6 = try #require(OutboundURL.parse("http://[::1]:9000/x"))
        #expect(v6.host == "::1" && v6.port == 9000 && v6.authority == "[::1]:9000")
    }

    @Test(arguments: ["ftp://example.com/", "example.com/hook", "https://user:pw@example.com/", "https://example.com/#frag",
                      "https://exa mple.com/", "https://:80/", "https://example.com:0/", "https://example.com:70000/",
                      "https://[::1/", "https://ex%41mple.com/", "", "https://example.com:/"])
    func refusesOtherURLs(_ text: String) {
        #expect(OutboundURL.parse(text) == nil)
    }
}
