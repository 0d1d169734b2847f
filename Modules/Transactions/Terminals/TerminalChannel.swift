import Kernel
import Synchronization

/// One connected terminal's device channel: sends commands over its WebSocket with a correlation id and
/// hands each answer to the request waiting for it (`PendingCommands`). Sends never wait for the terminal
/// (`WebSocketConnection.send` queues); the waiting request is bounded by the command's own wait.
final class TerminalChannel: TerminalEndpoint, Sendable {
    typealias Waiter = CheckedContinuation<CommandOutcome, Never>

    /// Written into the registry row while this channel holds the terminal online.
    let id: String
    let address: TerminalAddress
    private let connection: any WebSocketConnection
    private let pending: Mutex<PendingCommands<Waiter>>

    init(id: String, address: TerminalAddress, connection: any WebSocketConnection, limits: TerminalLimits) {
        self.id = id
        self.address = address
        self.connection = connection
        pending = Mutex(PendingCommands(capacity: limits.pendingCommandsPerTerminalMax))
    }

    func run(_ command: TerminalCommand) async throws(AtlasError) -> CommandOutcome {
        let commandId = TypedID.generate(prefix: .terminalCommand).rawValue
        switch pending.withLock({ $0.reserve(commandId) }) {
        case .full: throw TerminalErrors.busy
        case .closed: return .offline
        case .admitted: break
        }
        let message: JSONValue = ["type": "command", "id": .string(commandId), "command": .string(command.kind.rawValue),
                                  "payload": command.payload]
        do {
            try connection.send(json: message)
        } catch {
            settle(commandId, .offline)
        }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: .milliseconds(command.waitMilliseconds))
            guard !Task.isCancelled, let self else { return }
            if self.settle(commandId, .timedOut) {
                // The terminal may still show the prompt: tell it to drop the command.
                try? self.connection.send(json: ["type": "cancel", "id": .string(commandId)])
            }
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { (waiter: Waiter) in
            if let early = pending.withLock({ $0.attach(commandId, waiter) }) { waiter.resume(returning: early) }
        }
    }

    /// Settles one command; true when this call settled it (false for a late or unknown answer).
    @discardableResult
    func settle(_ commandId: String, _ outcome: CommandOutcome) -> Bool {
        switch pending.withLock({ $0.settle(commandId, outcome) }) {
        case .resume(let waiter, let outcome):
            waiter.resume(returning: outcome)
            return true
        case .held: return true
        case .ignored: return false
        }
    }

    /// The channel ended (closed, dropped or replaced): every waiting command answers `offline`.
    func end() {
        for waiter in pending.withLock({ $0.close() }) { waiter.resume(returning: .offline) }
    }

    /// Closes the WebSocket (a newer connection of the same terminal took over); the session then ends the channel.
    func close(code: WebSocketCloseCode, reason: String) {
        end()
        connection.close(code: code, reason: reason)
    }

    func send(_ message: JSONValue) {
        // A full send queue cuts the connection; the session's loop then ends and marks the terminal offline.
        try? connection.send(json: message)
    }
}

/// The channels connected to this instance, one per terminal. A second connection of the same terminal replaces
/// the first (a terminal that lost its network reconnects before the server notices the old socket is dead).
final class TerminalChannels: Sendable {
    private let channels = Mutex<[TerminalAddress: TerminalChannel]>([:])

    init() {}

    /// Registers `channel`; returns the one it replaced, which the caller closes.
    func attach(_ channel: TerminalChannel) -> TerminalChannel? {
        channels.withLock { table in
            let replaced = table[channel.address]
            table[channel.address] = channel
            return replaced
        }
    }

    /// Removes `channel` when it is still the terminal's current one.
    func detach(_ channel: TerminalChannel) {
        channels.withLock { table in
            if table[channel.address] === channel { table[channel.address] = nil }
        }
    }

    func channel(for address: TerminalAddress) -> TerminalChannel? {
        channels.withLock { $0[address] }
    }

    /// Every channel connected to this instance now (the presence lease renews their rows).
    func all() -> [TerminalChannel] {
        channels.withLock { Array($0.values) }
    }
}

/// Runs one terminal's online and offline transitions one after another (each: a registry transaction, then the
/// in-process table), so the channel the registry names as holder is always the one this instance routes to, even
/// when two connections of one terminal arrive or end together. Different terminals never wait for each other.
actor TerminalTransitions {
    private var tails: [TerminalAddress: Task<Void, Never>] = [:]

    func run<T: Sendable>(_ address: TerminalAddress, _ body: @escaping @Sendable () async -> T) async -> T {
        let previous = tails[address]
        let task = Task { () async -> T in
            await previous?.value
            return await body()
        }
        let tail = Task { _ = await task.value }
        tails[address] = tail
        let result = await task.value
        if tails[address] == tail { tails[address] = nil }
        return result
    }
}
