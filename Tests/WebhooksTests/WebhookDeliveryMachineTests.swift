import Foundation
import Kernel
import Testing
@testable import Webhooks

/// The retry schedule and the delivery state machine, without a database, under a manual clock.
@Suite struct WebhookDeliveryMachineTests {
    let clock = ManualWallClock()
    let schedule = RetrySchedule()

    @Test func theScheduleIsWrittenDown() {
        // docs/webhooks.md: 60 s, 4 min, 16 min, 64 min, 4 h 16 min, 17 h 4 min between the 7 attempts.
        #expect((1...6).map { schedule.baseDelaySeconds(afterAttempt: $0) } == [60, 240, 960, 3_840, 15_360, 61_440])
        #expect(schedule.attemptsMax == 7)
        #expect(schedule.delaySeconds(afterAttempt: 1, jitterUnit: 0) == 54)
        #expect(schedule.delaySeconds(afterAttempt: 1, jitterUnit: 1) == 66)
        #expect(schedule.delaySeconds(afterAttempt: 1, jitterUnit: 0.5) == 60)
    }

    @Test func sevenAttemptsThenTheDeadLetter() {
        var machine = WebhookDeliveryMachine(schedule: schedule, nextAttemptAt: clock.now())
        for attempt in 1...7 {
            #expect(machine.start(now: clock.now()) == .send(attempt: attempt))
            let action = machine.finish(.response(status: 500, retryAfterSeconds: nil), now: clock.now(), jitterUnit: 0.5)
            if attempt < 7 {
                let delay = schedule.baseDelaySeconds(afterAttempt: attempt)
                #expect(action == .retry(at: clock.now().addingTimeInterval(delay)))
                clock.advance(seconds: delay)
            } else {
                #expect(action == .deadLetter)
                #expect(machine.status == .dead)
            }
        }
    }

    @Test func twoHundredsSucceed() {
        var machine = WebhookDeliveryMachine(schedule: schedule, nextAttemptAt: clock.now())
        _ = machine.start(now: clock.now())
        #expect(machine.finish(.response(status: 204, retryAfterSeconds: nil), now: clock.now(), jitterUnit: 0.5) == .succeeded)
        #expect(machine.status == .succeeded)
    }

    @Test func goneDisablesTheEndpoint() {
        var machine = WebhookDeliveryMachine(schedule: schedule, nextAttemptAt: clock.now())
        _ = machine.start(now: clock.now())
        #expect(machine.finish(.response(status: 410, retryAfterSeconds: nil), now: clock.now(), jitterUnit: 0.5) == .disableEndpoint)
        #expect(machine.status == .dead)
    }

    @Test(arguments: [429, 503])
    func retryAfterIsHonoured(_ status: Int) {
        var machine = WebhookDeliveryMachine(schedule: schedule, nextAttemptAt: clock.now())
        _ = machine.start(now: clock.now())
        #expect(machine.finish(.response(status: status, retryAfterSeconds: 120), now: clock.now(), jitterUnit: 0)
            == .retry(at: clock.now().addingTimeInterval(120)))
    }

    @Test func retryAfterOnOtherStatusesAndFailuresFollowsTheSchedule() {
        var machine = WebhookDeliveryMachine(schedule: schedule, nextAttemptAt: clock.now())
        _ = machine.start(now: clock.now())
        #expect(machine.finish(.response(status: 500, retryAfterSeconds: 5), now: clock.now(), jitterUnit: 0.5)
            == .retry(at: clock.now().addingTimeInterval(60)))
        clock.advance(seconds: 60)
        _ = machine.start(now: clock.now())
        #expect(machine.finish(.failure("connection refused"), now: clock.now(), jitterUnit: 0.5)
            == .retry(at: clock.now().addingTimeInterval(240)))
    }

    @Test func replayStartsANewCounter() {
        var machine = WebhookDeliveryMachine(schedule: schedule, nextAttemptAt: clock.now())
        for _ in 1...7 {
            _ = machine.start(now: machine.nextAttemptAt)
            _ = machine.finish(.failure("timed out"), now: machine.nextAttemptAt, jitterUnit: 0.5)
        }
        #expect(machine.status == .dead)
        machine.replay(now: clock.now())
        #expect(machine.status == .pending && machine.attempts == 0)
        #expect(machine.start(now: clock.now()) == .send(attempt: 1))
    }

    @Test func retryAfterHeaderParsing() {
        #expect(WebhookDeliveryMachine.retryAfterSeconds("120") == 120)
        #expect(WebhookDeliveryMachine.retryAfterSeconds(" 7 ") == 7)
        #expect(WebhookDeliveryMachine.retryAfterSeconds("Wed, 21 Oct 2015 07:28:00 GMT") == nil)
        #expect(WebhookDeliveryMachine.retryAfterSeconds("-1") == nil)
        #expect(WebhookDeliveryMachine.retryAfterSeconds(nil) == nil)
    }
}
