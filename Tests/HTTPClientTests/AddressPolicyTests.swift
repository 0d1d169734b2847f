import Testing
@testable import HTTPClient

@Suite struct AddressPolicyTests {
    let policy = AddressPolicy()

    @Test(arguments: ["127.0.0.1", "127.8.9.10", "::1", "10.0.0.1", "10.255.255.254", "172.16.0.1", "172.31.9.9",
                      "192.168.1.1", "169.254.169.254", "169.254.0.1", "100.64.0.1", "0.0.0.0", "224.0.0.1", "239.1.2.3",
                      "255.255.255.255", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1", "::ffff:127.0.0.1",
                      "::ffff:10.1.2.3", "::ffff:169.254.169.254"])
    func refusesInternalAddresses(_ text: String) throws {
        let address = try #require(IPAddress(text))
        #expect(policy.refusal(for: address) != nil)
    }

    @Test(arguments: ["8.8.8.8", "1.1.1.1", "172.32.0.1", "11.0.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
    func allowsPublicAddresses(_ text: String) throws {
        let address = try #require(IPAddress(text))
        #expect(policy.refusal(for: address) == nil)
    }

    @Test func anAllowListOpensOnlyItsRanges() throws {
        let opened = AddressPolicy(allowed: [try #require(CIDR("127.0.0.0/8")), try #require(CIDR("::1"))])
        #expect(opened.refusal(for: try #require(IPAddress("127.0.0.1"))) == nil)
        #expect(opened.refusal(for: try #require(IPAddress("::1"))) == nil)
        #expect(opened.refusal(for: try #require(IPAddress("10.0.0.1"))) != nil)
        #expect(opened.refusal(for: try #require(IPAddress("169.254.169.254"))) != nil)
    }

    @Test func parsesRanges() {
        #expect(CIDR("10.0.0.0/8")?.prefixLength == 8)
        #expect(CIDR("fc00::/7")?.prefixLength == 7)
        #expect(CIDR("10.0.0.0/33") == nil)
        #expect(CIDR("nonsense/8") == nil)
        #expect(CIDR("172.16.0.0/12")?.contains(IPAddress("172.20.1.1")!) == true)
        #expect(CIDR("172.16.0.0/12")?.contains(IPAddress("172.32.0.0")!) == false)
    }
}
