import Foundation
import Kernel
import Testing
@testable import Webhooks

/// The worker's per-endpoint queues as a value: slots, queue depth, stale deliveries, slow endpoints.
@Suite struct DeliveryQueuesTests {
    static let start = Date(timeIntervalSince1970: 1_780_000_000)

    static func delivery(_ id: String, endpoint: String) -> ClaimedDelivery {
        ClaimedDelivery(id: id, endpointId: endpoint, flavour: .commerce, url: "https://example.com/hook", mode: .test,
                        merchantId: "mer_1", secrets: ["whsec_x"], secretError: nil, attempt: 1, eventId: "evt_\(id)",
                        eventType: "t", sequence: 1, payload: [:], occurredAt: start)
    }

    static func queues() -> DeliveryQueues {
        DeliveryQueues(sendingMax: 2, heldMax: 5, unrecordedMax: 8, staleAfterSeconds: 30)
    }

    @Test func aClaimStartsUpToTheSlotsAndQueuesTheRest() {
        var queues = Self.queues()
        let started = queues.claimed((1...5).map { Self.delivery("d\($0)", endpoint: "A") }, at: Self.start)
        #expect(started.map(\.delivery.id) == ["d1", "d2"])
        #expect(queues.room(for: "A") == 0)
        #expect(queues.room(for: "B") == 5)
        #expect(queues.claimRoom == 3)
        #expect(!queues.wantsClaim)
        // Each ended send takes the next from the queue, in claim order, until the queue is empty.
        #expect(queues.sendEnded(endpointId: "A", slowOrFailed: false, now: Self.start).next?.delivery.id == "d3")
        #expect(queues.sendEnded(endpointId: "A", slowOrFailed: false, now: Self.start).next?.delivery.id == "d4")
        #expect(queues.sendEnded(endpointId: "A", slowOrFailed: false, now: Self.start).next?.delivery.id == "d5")
        #expect(queues.wantsClaim)
        #expect(queues.sendEnded(endpointId: "A", slowOrFailed: false, now: Self.start).next == nil)
        #expect(queues.sendEnded(endpointId: "A", slowOrFailed: false, now: Self.start).next == nil)
        #expect(queues.room(for: "A") == 5)
        // Claimed deliveries count until they are recorded.
        #expect(queues.claimRoom == 3)
        for _ in 1...5 { queues.recorded() }
        #expect(queues.claimRoom == 8)
    }

    @Test func aDeliveryThatWaitedHalfItsLeaseIsGivenBackUnsent() {
        var queues = Self.queues()
        _ = queues.claimed((1...4).map { Self.delivery("d\($0)", endpoint: "A") }, at: Self.start)
        let (next, dropped) = queues.sendEnded(endpointId: "A", slowOrFailed: false, now: Self.start.addingTimeInterval(31))
        #expect(next == nil)
        #expect(dropped.map(\.delivery.id) == ["d3", "d4"])
        // The two dropped ones no longer count; the two sent ones do until recorded.
        #expect(queues.claimRoom == 8 - 2)
    }

    @Test func aSlowOrFailingEndpointIsHeldToItsSlots() {
        var queues = Self.queues()
        _ = queues.claimed([Self.delivery("d1", endpoint: "A")], at: Self.start)
        _ = queues.sendEnded(endpointId: "A", slowOrFailed: true, now: Self.start)
        #expect(queues.room(for: "A") == 2)
        _ = queues.claimed([Self.delivery("d2", endpoint: "A")], at: Self.start)
        _ = queues.sendEnded(endpointId: "A", slowOrFailed: false, now: Self.start)
        #expect(queues.room(for: "A") == 5)
    }

    @Test func theProcessLimitBoundsEveryEndpointTogether() {
        var queues = Self.queues()
        _ = queues.claimed((1...5).map { Self.delivery("a\($0)", endpoint: "A") }, at: Self.start)
        _ = queues.claimed((1...3).map { Self.delivery("b\($0)", endpoint: "B") }, at: Self.start)
        #expect(queues.claimRoom == 0)
        #expect(!queues.wantsClaim)
    }
}
