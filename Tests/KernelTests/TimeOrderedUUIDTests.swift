import Foundation
import Kernel
import Testing

/// `TimeOrderedUUID`: RFC 9562 version 7; the first 48 bits are the clock's Unix milliseconds, so later ids sort later.
@Suite struct TimeOrderedUUIDTests {
    @Test func versionVariantAndTimePrefix() throws {
        let clock = ManualWallClock(Date(timeIntervalSince1970: 1_764_806_400.1235))
        let id = TimeOrderedUUID.make(clock: clock)
        let uuid = try #require(UUID(uuidString: id))
        #expect(id == id.lowercased())
        #expect(id == uuid.uuidString.lowercased())
        #expect(uuid.uuid.6 >> 4 == 7)
        #expect(uuid.uuid.8 >> 6 == 0b10)
        let millis = [uuid.uuid.0, uuid.uuid.1, uuid.uuid.2, uuid.uuid.3, uuid.uuid.4, uuid.uuid.5]
            .reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(millis == 1_764_806_400_123)
        #expect(TimeOrderedUUID.make(clock: clock) != id)
    }

    @Test func laterIdsSortLaterAsText() {
        let clock = ManualWallClock(Date(timeIntervalSince1970: 1_764_806_400))
        var ids: [String] = []
        for _ in 0..<50 {
            ids.append(TimeOrderedUUID.make(clock: clock))
            clock.advance(seconds: 0.002)
        }
        #expect(ids == ids.sorted())
    }
}
