import Testing
@testable import Kernel

/// `ULID.generate` / `TypedID.generate` write into fixed buffers from one random draw.
@Suite struct ULIDGenerationTests {
    @Test func generatedULIDsAreValidAndCarryTheTime() {
        let unixMillis: Int64 = 1_469_918_176_385
        for _ in 0..<1_000 {
            let ulid = ULID.generate(unixMillis: unixMillis)
            #expect(ulid.utf8.count == ULID.length)
            #expect(ULID.isValid(ulid))
            #expect(ulid.hasPrefix("01ARYZ6S41"))
        }
    }

    @Test func randomPartDiffersBetweenIds() {
        let ids = Set((0..<1_000).map { _ in ULID.generate(unixMillis: 0) })
        #expect(ids.count == 1_000)
        // All 80 random bits are used: over many ids every position takes more than one character.
        let samples = (0..<256).map { _ in Array(ULID.generate(unixMillis: 0).utf8) }
        for position in 10..<ULID.length {
            #expect(Set(samples.map { $0[position] }).count > 1)
        }
    }

    @Test func encodeMatchesTheBitLayout() {
        // Values cross-checked with an independent 128-bit big-integer encoder (Python).
        #expect(ULID.encode(unixMillis: 0, randomHigh: 1, randomLow: 0) == "0000000000000G000000000000")
        #expect(ULID.encode(unixMillis: 0, randomHigh: 0, randomLow: 1) == "00000000000000000000000001")
        #expect(ULID.encode(unixMillis: 1, randomHigh: 0, randomLow: 0) == "00000000010000000000000000")
        #expect(ULID.encode(unixMillis: 0, randomHigh: 0, randomLow: 1 << 63) == "00000000000008000000000000")
    }

    @Test func typedIDsAreOneStringWithPrefix() {
        let clock = ManualWallClock()
        for prefix in [IDPrefix.transaction, .webhook, IDPrefix(rawValue: "longprefix"), IDPrefix(rawValue: "")] {
            let id = TypedID.generate(prefix: prefix, clock: clock)
            #expect(id.matches(prefix))
            #expect(id.rawValue.utf8.count == prefix.rawValue.utf8.count + 1 + ULID.length)
            #expect(id.rawValue.dropFirst(prefix.rawValue.count + 1).hasPrefix(
                String(ULID.encode(unixMillis: clock.unixMillis(), randomHigh: 0, randomLow: 0).prefix(10))))
        }
    }
}
