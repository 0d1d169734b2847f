import Testing
@testable import Kernel

/// `RandomPool`: every request gets fresh bytes, across refills and for requests larger than the pool serves.
@Suite struct RandomPoolTests {
    @Test func drawsAreFreshAcrossRefillsAndLargeRequests() {
        var seen = Set<[UInt8]>()
        // Ten-byte draws, past several refills of the pool (4,096 bytes each, not a multiple of 10).
        for _ in 0..<(RandomPool.refillByteCount * 3 / 10) {
            let draw = Self.draw(10)
            #expect(seen.insert(draw).inserted)
        }
        let large = Self.draw(RandomPool.pooledRequestByteCountMax + 1)
        #expect(Set(large).count > 16)
        #expect(Self.draw(0).isEmpty)
        // Every byte value shows up over 30,000 pooled bytes: nothing handed out is stuck at zero.
        let bytes = (0..<1_000).flatMap { _ in Self.draw(30) }
        #expect(Set(bytes).count == 256)
    }

    private static func draw(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { RandomPool.fill($0) }
        return bytes
    }
}
