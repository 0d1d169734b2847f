import Foundation
import Kernel
import Testing
@testable import EventLog

/// The delivery rules without a database: batch first, then event by event with backoff, park, move on.
@Suite struct DeliveryStateMachineTests {
    static let limits = EventDeliveryLimits(attemptsBeforeParking: 3, retryDelayFirstMilliseconds: 100,
                                            retryDelayMaxMilliseconds: 150)

    static func events(_ count: Int) -> [LoggedEvent] {
        (1...count).map { index in
            LoggedEvent(position: EventPosition(writerTransactionId: 10, sequence: Int64(index)),
                        event: DomainEvent(type: "t", tenant: TenantContext(merchantId: "m", mode: .test),
                                           resourceId: "r\(index)", occurredAt: Date(), payload: [:]))
        }
    }

    @Test func aDeliveredBatchAdvancesToThePageEnd() {
        let events = Self.events(3)
        let end = EventPosition(writerTransactionId: 11, sequence: 9)
        var machine = DeliveryStateMachine(events: events, end: end, limits: Self.limits)
        #expect(machine.start() == .deliver(events))
        #expect(machine.delivered() == .advance(to: end))
    }

    @Test func aPageWithoutWantedEventsOnlyAdvances() {
        let end = EventPosition(writerTransactionId: 11, sequence: 9)
        var machine = DeliveryStateMachine(events: [], end: end, limits: Self.limits)
        #expect(machine.start() == .advance(to: end))
    }

    @Test func aFailedBatchIsRetriedEventByEventAndThePoisonEventIsParked() {
        let events = Self.events(3)
        let end = events[2].position
        var machine = DeliveryStateMachine(events: events, end: end, limits: Self.limits)
        #expect(machine.start() == .deliver(events))
        #expect(machine.failed("boom") == .deliver([events[0]]))
        #expect(machine.delivered() == .deliver([events[1]]))
        #expect(machine.failed("poison 1") == .deliverAfter(milliseconds: 100, [events[1]]))
        #expect(machine.failed("poison 2") == .deliverAfter(milliseconds: 150, [events[1]]))
        #expect(machine.failed("poison 3") == .park(events[1], attempts: 3, error: "poison 3"))
        #expect(machine.parked() == .deliver([events[2]]))
        #expect(machine.delivered() == .advance(to: end))
    }

    @Test func aSingleEventIsDeliveredAloneFromTheStart() {
        let events = Self.events(1)
        var machine = DeliveryStateMachine(events: events, end: events[0].position, limits: Self.limits)
        #expect(machine.start() == .deliver(events))
        #expect(machine.failed("once") == .deliverAfter(milliseconds: 100, events))
        #expect(machine.delivered() == .advance(to: events[0].position))
    }

    @Test func backoffDoublesUpToItsMaximum() {
        let limits = EventDeliveryLimits.standard
        #expect(limits.retryDelayMilliseconds(afterAttempt: 1) == 200)
        #expect(limits.retryDelayMilliseconds(afterAttempt: 2) == 400)
        #expect(limits.retryDelayMilliseconds(afterAttempt: 8) == 25_600)
        #expect(limits.retryDelayMilliseconds(afterAttempt: 9) == 30_000)
        #expect(limits.retryDelayMilliseconds(afterAttempt: 200) == 30_000)
    }

    @Test func positionsOrderByWriterTransactionThenSequence() {
        let early = EventPosition(writerTransactionId: 5, sequence: 900)
        let late = EventPosition(writerTransactionId: 6, sequence: 1)
        #expect(early < late)
        #expect(EventPosition.start < early)
    }
}
