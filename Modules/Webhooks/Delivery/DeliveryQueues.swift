import Foundation

/// The worker's claimed deliveries, per endpoint: those waiting to be sent and how many are being sent, plus
/// how many are claimed and not yet recorded in all. A value whose transitions say what to start, so its rules
/// are tested without a clock, a socket or a database.
///
/// WHY a queue per endpoint: when a claim took only as many deliveries as an endpoint had free request slots,
/// every finished request cost a claim of one delivery (three statements), and the claim loop, not the
/// endpoints, set the pace (about 400 deliveries/s). Claiming up to `heldMax` per endpoint and sending from the
/// queue keeps `sendingMax` requests open per endpoint with a claim every few dozen deliveries. A delivery
/// waits in a queue under its lease; one that waited past `staleAfterSeconds` (half the lease) is dropped
/// unsent, so another instance may take it when the lease ends rather than both sending it.
struct DeliveryQueues: Sendable {
    struct Held: Sendable {
        let delivery: ClaimedDelivery
        let claimedAt: Date
    }

    struct Endpoint: Sendable {
        var waiting: [Held] = []
        var waitingHead = 0
        var sending = 0

        var waitingCount: Int { waiting.count - waitingHead }

        mutating func popWaiting() -> Held? {
            guard waitingHead < waiting.count else { return nil }
            let held = waiting[waitingHead]
            waitingHead += 1
            if waitingHead == waiting.count {
                waiting.removeAll(keepingCapacity: true)
                waitingHead = 0
            }
            return held
        }
    }

    /// Requests open to one endpoint at once.
    let sendingMax: Int
    /// Deliveries of one endpoint held at once (waiting or being sent).
    let heldMax: Int
    /// Deliveries claimed and not yet recorded in this process (waiting, being sent or being written).
    let unrecordedMax: Int
    /// A delivery that waited this long after its claim is dropped unsent (its lease is left to run out).
    let staleAfterSeconds: Double

    private(set) var endpoints: [String: Endpoint] = [:]
    private(set) var unrecorded = 0
    /// Endpoints whose last exchange failed or took `slowExchangeSeconds` or more: a claim takes for them only
    /// what their open-request slots can send at once, so nothing of theirs waits in a queue behind a timeout.
    private(set) var slow: Set<String> = []
    static let slowExchangeSeconds = 1.0

    init(sendingMax: Int, heldMax: Int, unrecordedMax: Int, staleAfterSeconds: Double) {
        precondition(sendingMax > 0 && heldMax >= sendingMax && unrecordedMax > 0 && staleAfterSeconds > 0,
                     "queue limits must be positive, and an endpoint holds at least what it sends")
        self.sendingMax = sendingMax
        self.heldMax = heldMax
        self.unrecordedMax = unrecordedMax
        self.staleAfterSeconds = staleAfterSeconds
    }

    /// How many more deliveries a claim may take in all.
    var claimRoom: Int { unrecordedMax - unrecorded }

    /// How many more deliveries of this endpoint a claim may take.
    func room(for endpointId: String) -> Int {
        let held = endpoints[endpointId].map { $0.waitingCount + $0.sending } ?? 0
        return (slow.contains(endpointId) ? sendingMax : heldMax) - held
    }

    /// Whether the worker should claim again: some endpoint it holds is down to its open requests (its queue is
    /// empty), or it holds none.
    var wantsClaim: Bool {
        claimRoom > 0 && (endpoints.isEmpty || endpoints.values.contains { $0.waitingCount == 0 })
    }

    /// Takes newly claimed deliveries; returns those to start sending now (their endpoint had a free slot).
    mutating func claimed(_ deliveries: [ClaimedDelivery], at now: Date) -> [Held] {
        var start: [Held] = []
        for delivery in deliveries {
            var endpoint = endpoints[delivery.endpointId] ?? Endpoint()
            precondition(room(for: delivery.endpointId) > 0, "a claim stays within the endpoint's room")
            let held = Held(delivery: delivery, claimedAt: now)
            if endpoint.sending < sendingMax {
                endpoint.sending += 1
                start.append(held)
            } else {
                endpoint.waiting.append(held)
            }
            endpoints[delivery.endpointId] = endpoint
        }
        unrecorded += deliveries.count
        precondition(unrecorded <= unrecordedMax, "a claim stays within the process's room")
        return start
    }

    /// A send to `endpointId` ended (`slowOrFailed`: it failed or took `slowExchangeSeconds` or more): the next
    /// delivery to send in its slot (nil: the slot is free), and those dropped as stale on the way (to be given
    /// back unsent; they no longer count as claimed).
    mutating func sendEnded(endpointId: String, slowOrFailed: Bool, now: Date) -> (next: Held?, dropped: [Held]) {
        guard var endpoint = endpoints[endpointId] else { preconditionFailure("a send ended for an endpoint not held") }
        if slowOrFailed { slow.insert(endpointId) } else { slow.remove(endpointId) }
        precondition(endpoint.sending > 0, "a send ended that never started")
        var dropped: [Held] = []
        var next: Held?
        while let candidate = endpoint.popWaiting() {
            if now.timeIntervalSince(candidate.claimedAt) >= staleAfterSeconds {
                dropped.append(candidate)
                continue
            }
            next = candidate
            break
        }
        if next == nil { endpoint.sending -= 1 }
        endpoints[endpointId] = endpoint.sending == 0 && endpoint.waitingCount == 0 ? nil : endpoint
        unrecorded -= dropped.count
        return (next, dropped)
    }

    /// A delivery's outcome is written (or given up): it no longer counts against `unrecordedMax`.
    mutating func recorded() {
        precondition(unrecorded > 0, "recorded more deliveries than were claimed")
        unrecorded -= 1
    }
}

