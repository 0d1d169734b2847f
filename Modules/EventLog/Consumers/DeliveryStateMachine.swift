import Kernel

/// How one page of the log reaches a consumer: the whole batch first; when it throws, event by event
/// (so the events before a poison one are applied and it alone is isolated), each retried with
/// exponential backoff, and parked after `attemptsBeforeParking`; then the cursor moves past the page.
/// A value: each transition returns the next action for the runner to perform, so it is tested without
/// a database or a clock.
struct DeliveryStateMachine: Sendable {
    typealias Limits = EventDeliveryLimits

    enum Action: Sendable, Equatable {
        /// Call the consumer with these events now.
        case deliver([LoggedEvent])
        /// Wait, then call the consumer with these events.
        case deliverAfter(milliseconds: Int, [LoggedEvent])
        /// Record the event as parked with its last error, then call `parked()`.
        case park(LoggedEvent, attempts: Int, error: String)
        /// The page is done: store the cursor at this position.
        case advance(to: EventPosition)
    }

    private enum State: Sendable {
        case idle
        case wholeBatch
        case eventByEvent(index: Int, attempt: Int)
        case parking(index: Int)
        case finished
    }

    let events: [LoggedEvent]
    let end: EventPosition
    let limits: Limits
    private var state: State = .idle

    /// `events`: the page's events this consumer wants; `end`: the position of the page's last event.
    init(events: [LoggedEvent], end: EventPosition, limits: Limits) {
        precondition(limits.attemptsBeforeParking >= 1, "at least one attempt")
        precondition(events.allSatisfy { $0.position <= end }, "the page ends after its events")
        self.events = events
        self.end = end
        self.limits = limits
    }

    mutating func start() -> Action {
        guard case .idle = state else { preconditionFailure("start once") }
        switch events.count {
        case 0: return finish()
        case 1: return deliverAlone(0, attempt: 1)
        default:
            state = .wholeBatch
            return .deliver(events)
        }
    }

    mutating func delivered() -> Action {
        switch state {
        case .wholeBatch: return finish()
        case .eventByEvent(let index, _): return next(after: index)
        case .idle, .parking, .finished: preconditionFailure("delivered() without a delivery")
        }
    }

    mutating func failed(_ error: String) -> Action {
        switch state {
        case .wholeBatch:
            return deliverAlone(0, attempt: 1)
        case .eventByEvent(let index, let attempt) where attempt >= limits.attemptsBeforeParking:
            state = .parking(index: index)
            return .park(events[index], attempts: attempt, error: error)
        case .eventByEvent(let index, let attempt):
            state = .eventByEvent(index: index, attempt: attempt + 1)
            return .deliverAfter(milliseconds: limits.retryDelayMilliseconds(afterAttempt: attempt), [events[index]])
        case .idle, .parking, .finished: preconditionFailure("failed() without a delivery")
        }
    }

    mutating func parked() -> Action {
        guard case .parking(let index) = state else { preconditionFailure("parked() without a park") }
        return next(after: index)
    }

    private mutating func deliverAlone(_ index: Int, attempt: Int) -> Action {
        state = .eventByEvent(index: index, attempt: attempt)
        return .deliver([events[index]])
    }

    private mutating func next(after index: Int) -> Action {
        index + 1 < events.count ? deliverAlone(index + 1, attempt: 1) : finish()
    }

    private mutating func finish() -> Action {
        state = .finished
        return .advance(to: end)
    }
}

/// Retries of a failing event before it is parked (see `DeliveryStateMachine`).
public struct EventDeliveryLimits: Sendable, Hashable {
    /// Deliveries of one event, the first included, before it is parked.
    public var attemptsBeforeParking: Int
    public var retryDelayFirstMilliseconds: Int
    public var retryDelayMaxMilliseconds: Int

    public init(attemptsBeforeParking: Int, retryDelayFirstMilliseconds: Int, retryDelayMaxMilliseconds: Int) {
        self.attemptsBeforeParking = attemptsBeforeParking
        self.retryDelayFirstMilliseconds = retryDelayFirstMilliseconds
        self.retryDelayMaxMilliseconds = retryDelayMaxMilliseconds
    }

    /// About 50 s of retries (0.2, 0.4, … 25.6 s) before parking: a database restart or a deploy
    /// passes without parking healthy events.
    public static let standard = EventDeliveryLimits(attemptsBeforeParking: 9, retryDelayFirstMilliseconds: 200,
                                 retryDelayMaxMilliseconds: 30_000)

    /// The wait before delivery number `attempt + 1` of one event.
    public func retryDelayMilliseconds(afterAttempt attempt: Int) -> Int {
        precondition(attempt >= 1, "a retry follows an attempt")
        let shift = min(attempt - 1, 30)
        return min(retryDelayFirstMilliseconds << shift, retryDelayMaxMilliseconds)
    }
}
