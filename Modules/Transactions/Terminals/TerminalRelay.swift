import Foundation
import Kernel
import Synchronization

/// The cross-instance command relay (docs/terminals.md, "Several instances"). A terminal's channel lives in the one
/// `atlas serve` instance it connected to; the registry row names that instance (`relay_instance`). A POS request that
/// lands on another instance NOTIFYs the holder on the holder's LISTEN channel (`channelName`) with the command; the
/// holder acknowledges at once, runs the command over its channel and NOTIFYs the outcome back to the requester's
/// channel. Messages larger than `relayNotifyBytesMax` travel in a row (`transactions_terminal_relay_bodies`) and the
/// NOTIFY carries its id. Tenant and mode are checked on both sides: the holder only runs a command on the channel of
/// the merchant, mode and terminal the message names (a channel's address comes from its credential), a parked body
/// is only read back for the merchant and mode it was written for, and the requester only accepts a reply naming the
/// terminal it asked.
///
/// WHY an acknowledgement: a holder that crashed keeps its lease for up to `presenceLeaseSeconds`; without an ack the
/// POS would wait the whole command (up to two minutes for an input) before hearing TERMINAL_OFFLINE.
struct TerminalRelay: Sendable {
    static let channelPrefix = "transactions_relay_"

    let mailbox: RelayMailbox
    let channels: TerminalChannels
    let store: TerminalStore
    let database: any Database
    let limits: TerminalLimits
    let clock: any WallClock
    let logger: Logger

    static func channelName(_ instance: String) -> String { channelPrefix + instance }

    /// An instance id is 32 lowercase hex digits (so `channelName` is a valid LISTEN identifier).
    static func isInstanceId(_ text: String) -> Bool {
        text.utf8.count == 32 && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    // MARK: Requesting instance

    /// The terminal as reached through the relay, when another instance holds it online with a running lease.
    func remoteEndpoint(for address: TerminalAddress) async throws -> RelayedTerminal? {
        guard let target = try await store.relayTarget(address, now: clock.now()),
              target.instance != mailbox.instanceId, Self.isInstanceId(target.instance) else { return nil }
        return RelayedTerminal(relay: self, address: address, channelId: target.channelId, instance: target.instance)
    }

    /// Sends `command` to the holder and waits for its outcome: no ack within `relayAcknowledgeTimeoutMilliseconds`, or
    /// no reply within the command's wait plus `relayReplyGraceMilliseconds`, is `offline`.
    func send(_ command: TerminalCommand, to target: RelayedTerminal) async throws(AtlasError) -> CommandOutcome {
        guard await ensureListening() else { return .offline }
        let id = TypedID.generate(prefix: .terminalRelay, clock: clock).rawValue
        switch mailbox.reserve(id, expecting: target.address) {
        case .full: throw TerminalErrors.busy
        case .closed: return .offline
        case .admitted: break
        }
        defer { mailbox.forget(id) }
        let tenant = target.address.tenant
        let message: JSONValue = [
            "type": "command", "id": .string(id), "from": .string(mailbox.instanceId), "merchantId": .string(tenant.merchantId),
            "mode": .string(tenant.mode.rawValue), "terminalId": .string(target.address.terminalId),
            "channelId": .string(target.channelId), "command": .string(command.kind.rawValue), "payload": command.payload,
            "waitMs": .int(Int64(command.waitMilliseconds)),
        ]
        do {
            try await post(message, to: target.instance, tenant: tenant)
        } catch {
            logger.warning("terminal relay: could not notify the holder", ["error": .string("\(error)")])
            mailbox.settle(id, .offline)
        }
        let timer = deadlines(id, waitMilliseconds: command.waitMilliseconds)
        defer { timer.cancel() }
        return await mailbox.wait(id)
    }

    private func deadlines(_ id: String, waitMilliseconds: Int) -> Task<Void, Never> {
        let mailbox = mailbox
        let acknowledge = limits.relayAcknowledgeTimeoutMilliseconds
        let rest = max(0, waitMilliseconds + limits.relayReplyGraceMilliseconds - acknowledge)
        return Task {
            try? await Task.sleep(for: .milliseconds(acknowledge))
            guard !Task.isCancelled else { return }
            if !mailbox.isAcknowledged(id) {
                mailbox.settle(id, .offline)
                return
            }
            try? await Task.sleep(for: .milliseconds(rest))
            guard !Task.isCancelled else { return }
            mailbox.settle(id, .offline)
        }
    }

    // MARK: Listening (both sides)

    /// Starts this instance's LISTEN once (the first channel that connects, or the first relayed request); true when
    /// listening. A failed start is retried by the next caller.
    func ensureListening() async -> Bool {
        let relay = self
        let task = mailbox.listener { Task { await relay.startListening() } }
        let listening = await task.value
        if !listening { mailbox.dropListener(task) }
        return listening
    }

    private func startListening() async -> Bool {
        do {
            let stream = try await database.listen(channel: Self.channelName(mailbox.instanceId))
            let relay = self
            Task {
                for await notification in stream { await relay.receive(notification.payload) }
            }
            return true
        } catch {
            logger.error("terminal relay: cannot listen", ["error": .string("\(error)")])
            return false
        }
    }

    func receive(_ payload: String) async {
        guard let message = Self.decode(payload) else { return }
        guard message["type"]?.stringValue == "ref" else { return handle(message) }
        // A parked body: read it off the receiving loop, so one slow read does not hold up the others' notifications.
        let relay = self
        Task {
            if let loaded = await relay.load(message) { relay.handle(loaded) }
        }
    }

    private func handle(_ message: JSONValue) {
        guard let id = message["id"]?.stringValue else { return }
        switch message["type"]?.stringValue {
        case "command"?:
            let relay = self
            Task { await relay.serve(message, id: id) }
        case "ack"?:
            mailbox.acknowledge(id)
        case "reply"?:
            guard let address = Self.address(message), let outcome = message["outcome"].flatMap(Self.outcome) else { return }
            mailbox.settle(id, outcome, from: address)
        default:
            return
        }
    }

    // MARK: Holding instance

    /// Runs a relayed command on this instance's channel of the terminal the message names and replies its outcome.
    private func serve(_ message: JSONValue, id: String) async {
        guard let from = message["from"]?.stringValue, Self.isInstanceId(from), let address = Self.address(message),
              let kind = message["command"]?.stringValue.flatMap(TerminalCommandKind.init(rawValue:)),
              let wait = message["waitMs"]?.intValue, (1...Self.waitMillisecondsMax).contains(wait) else { return }
        let outcome: CommandOutcome
        if let channel = channels.channel(for: address) {
            guard mailbox.startServing(max: limits.relayServingMax) else {
                return await reply(id, .busy, address: address, to: from)
            }
            defer { mailbox.stopServing() }
            await notifyQuietly(["type": "ack", "id": .string(id)], to: from, tenant: address.tenant)
            let command = TerminalCommand(kind: kind, payload: message["payload"] ?? .null, waitMilliseconds: Int(wait))
            do throws(AtlasError) {
                outcome = try await channel.run(command)
            } catch {
                outcome = error.code == TerminalErrors.busy.code ? .busy : .offline
            }
        } else {
            // Not (or no longer) here: the channel ended or moved; the requester answers TERMINAL_OFFLINE.
            outcome = .offline
        }
        await reply(id, outcome, address: address, to: from)
    }

    /// The longest wait a relayed command may ask for (an input's longest prompt plus its grace, a card read).
    static let waitMillisecondsMax: Int64 = 600_000

    private func reply(_ id: String, _ outcome: CommandOutcome, address: TerminalAddress, to instance: String) async {
        let message: JSONValue = [
            "type": "reply", "id": .string(id), "merchantId": .string(address.tenant.merchantId),
            "mode": .string(address.tenant.mode.rawValue), "terminalId": .string(address.terminalId),
            "outcome": Self.json(outcome),
        ]
        await notifyQuietly(message, to: instance, tenant: address.tenant)
    }

    /// A failed ack or reply is logged: the requester's own deadline then answers TERMINAL_OFFLINE.
    private func notifyQuietly(_ message: JSONValue, to instance: String, tenant: TenantContext) async {
        do {
            try await post(message, to: instance, tenant: tenant)
        } catch {
            logger.warning("terminal relay: could not notify the requester", ["error": .string("\(error)")])
        }
    }

    // MARK: Messages

    /// NOTIFYs `message` to `instance`, parking it in a row first when it is over `relayNotifyBytesMax`.
    private func post(_ message: JSONValue, to instance: String, tenant: TenantContext) async throws {
        var text = String(decoding: message.serialized(), as: UTF8.self)
        if text.utf8.count > limits.relayNotifyBytesMax {
            let bodyId = TypedID.generate(prefix: .terminalRelayBody, clock: clock).rawValue
            try await store.insertRelayBody(id: bodyId, tenant: tenant, body: text, now: clock.now())
            let reference: JSONValue = ["type": "ref", "ref": .string(bodyId), "merchantId": .string(tenant.merchantId),
                                        "mode": .string(tenant.mode.rawValue)]
            text = String(decoding: reference.serialized(), as: UTF8.self)
        }
        try await database.notify(channel: Self.channelName(instance), payload: text)
    }

    /// Takes a parked message (for the merchant and mode the reference names, which the message must name too).
    private func load(_ reference: JSONValue) async -> JSONValue? {
        guard let bodyId = reference["ref"]?.stringValue, let tenant = Self.tenant(reference) else { return nil }
        do {
            guard let body = try await store.takeRelayBody(id: bodyId, tenant: tenant),
                  let message = Self.decode(body), Self.tenant(message) == tenant else { return nil }
            return message
        } catch {
            logger.warning("terminal relay: could not read a parked message", ["error": .string("\(error)")])
            return nil
        }
    }

    /// A relay message, or nil for anything else on the channel (not JSON, not an object): ignored, as a stray NOTIFY.
    static func decode(_ text: String) -> JSONValue? {
        guard let value = try? JSONValue(parsing: text), case .object = value else { return nil }
        return value
    }

    static func tenant(_ message: JSONValue) -> TenantContext? {
        guard let merchantId = message["merchantId"]?.stringValue,
              let mode = message["mode"]?.stringValue.flatMap(Mode.init(rawValue:)) else { return nil }
        return TenantContext(merchantId: merchantId, mode: mode)
    }

    static func address(_ message: JSONValue) -> TerminalAddress? {
        guard let tenant = tenant(message), let terminalId = message["terminalId"]?.stringValue else { return nil }
        return TerminalAddress(tenant: tenant, terminalId: terminalId)
    }

    static func json(_ outcome: CommandOutcome) -> JSONValue {
        switch outcome {
        case .answered(let result): ["kind": "answered", "result": result]
        case .failed(let code, let message): ["kind": "failed", "code": .string(code), "message": .string(message)]
        case .timedOut: ["kind": "timedOut"]
        case .offline: ["kind": "offline"]
        case .busy: ["kind": "busy"]
        }
    }

    static func outcome(_ value: JSONValue) -> CommandOutcome? {
        switch value["kind"]?.stringValue {
        case "answered"?: value["result"].map { CommandOutcome.answered($0) }
        case "failed"?: .failed(code: value["code"]?.stringValue ?? "UNKNOWN", message: value["message"]?.stringValue ?? "")
        case "timedOut"?: .timedOut
        case "offline"?: .offline
        case "busy"?: .busy
        default: nil
        }
    }
}

/// A terminal held by another instance, reached through the relay.
struct RelayedTerminal: TerminalEndpoint {
    let relay: TerminalRelay
    let address: TerminalAddress
    /// The holder's channel (the registry row's `channel_id`), for the health answer's registry write.
    let channelId: String
    let instance: String

    func run(_ command: TerminalCommand) async throws(AtlasError) -> CommandOutcome {
        let outcome = try await relay.send(command, to: self)
        // Thrown, not returned, so the route releases the Idempotency-Key as it does for a local TERMINAL_BUSY.
        if outcome == .busy { throw TerminalErrors.busy }
        return outcome
    }
}

/// This instance's side of the relay: its id (the suffix of its LISTEN channel), the relayed commands it waits for
/// (bounded by `relayWaitingMax`), those it runs for others (bounded by `relayServingMax`), and its listener. One per
/// module value, like `TerminalChannels`.
final class RelayMailbox: Sendable {
    typealias Waiter = CheckedContinuation<CommandOutcome, Never>

    private struct State {
        var pending: PendingCommands<Waiter>
        /// Which terminal each waiting command asked: a reply naming another is ignored.
        var expected: [String: TerminalAddress] = [:]
        var acknowledged: Set<String> = []
        var serving = 0
        var listener: Task<Bool, Never>?
    }

    let instanceId: String
    private let state: Mutex<State>

    init(limits: TerminalLimits) {
        instanceId = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        state = Mutex(State(pending: PendingCommands(capacity: limits.relayWaitingMax)))
    }

    func reserve(_ id: String, expecting address: TerminalAddress) -> PendingCommands<Waiter>.Admission {
        state.withLock { state in
            let admission = state.pending.reserve(id)
            if admission == .admitted { state.expected[id] = address }
            return admission
        }
    }

    func acknowledge(_ id: String) {
        state.withLock { state in
            if state.expected[id] != nil { state.acknowledged.insert(id) }
        }
    }

    func isAcknowledged(_ id: String) -> Bool {
        state.withLock { $0.acknowledged.contains(id) }
    }

    /// Settles a waiting command; with `from`, only when the reply names the terminal the command was sent to.
    func settle(_ id: String, _ outcome: CommandOutcome, from address: TerminalAddress? = nil) {
        let action = state.withLock { state -> PendingCommands<Waiter>.SettleAction in
            if let address, state.expected[id] != address { return .ignored }
            return state.pending.settle(id, outcome)
        }
        if case .resume(let waiter, let outcome) = action { waiter.resume(returning: outcome) }
    }

    func wait(_ id: String) async -> CommandOutcome {
        await withCheckedContinuation { (waiter: Waiter) in
            if let early = state.withLock({ $0.pending.attach(id, waiter) }) { waiter.resume(returning: early) }
        }
    }

    func forget(_ id: String) {
        state.withLock { state in
            state.expected[id] = nil
            state.acknowledged.remove(id)
        }
    }

    /// Relayed commands this instance waits for now.
    var waitingCount: Int { state.withLock { $0.pending.count } }

    func startServing(max: Int) -> Bool {
        state.withLock { state in
            guard state.serving < max else { return false }
            state.serving += 1
            return true
        }
    }

    func stopServing() {
        state.withLock { $0.serving -= 1 }
    }

    /// The listener's start, created by `start` the first time.
    func listener(_ start: () -> Task<Bool, Never>) -> Task<Bool, Never> {
        state.withLock { state in
            if let listener = state.listener { return listener }
            let listener = start()
            state.listener = listener
            return listener
        }
    }

    func dropListener(_ task: Task<Bool, Never>) {
        state.withLock { state in
            if state.listener == task { state.listener = nil }
        }
    }
}

extension IDPrefix {
    /// A relayed command's correlation id between instances.
    static let terminalRelay = IDPrefix(rawValue: "rly")
    /// A relay message parked in `transactions_terminal_relay_bodies`.
    static let terminalRelayBody = IDPrefix(rawValue: "rlb")
}
