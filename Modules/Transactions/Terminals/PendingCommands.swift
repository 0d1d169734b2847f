/// The commands one terminal was sent and has not answered, by correlation id, and who waits for each.
/// A value whose transitions return what the caller must do (resume a waiter, or nothing), so the rules are
/// tested without a socket (`PendingCommandsTests`) and every waiter is resumed exactly once: whichever of the
/// answer, the timeout or the channel's end settles a command first wins; the others find nothing to do.
///
/// WHY a separate "sent" state: the sender reserves the id, sends the command, starts its timer, and only then
/// suspends to attach its waiter; an answer (or a timeout) can arrive in between and is held until the waiter attaches.
struct PendingCommands<Waiter> {
    enum State {
        /// Reserved and sent; the sender has not attached its waiter yet.
        case sent
        case waiting(Waiter)
        /// Settled before the waiter attached: handed over at `attach`.
        case settled(CommandOutcome)
    }

    enum Admission: Equatable, Sendable {
        case admitted
        /// `capacity` commands already wait: TERMINAL_BUSY.
        case full
        /// The channel ended: TERMINAL_OFFLINE.
        case closed
    }

    /// What the caller of `settle` must do.
    enum SettleAction {
        case resume(Waiter, CommandOutcome)
        /// Held for the sender, who is about to attach.
        case held
        /// Already settled or never sent (a late or unknown answer): nothing to do.
        case ignored
    }

    let capacity: Int
    private(set) var commands: [String: State] = [:]
    private(set) var isClosed = false

    init(capacity: Int) {
        precondition(capacity > 0, "a terminal takes at least one command")
        self.capacity = capacity
    }

    var count: Int { commands.count }

    mutating func reserve(_ id: String) -> Admission {
        if isClosed { return .closed }
        guard commands.count < capacity else { return .full }
        precondition(commands[id] == nil, "correlation ids are unique")
        commands[id] = .sent
        return .admitted
    }

    /// Attaches the sender's waiter. Non-nil: the command was settled meanwhile; the caller resumes at once.
    mutating func attach(_ id: String, _ waiter: Waiter) -> CommandOutcome? {
        switch commands[id] {
        case .sent?:
            commands[id] = .waiting(waiter)
            return nil
        case .settled(let outcome)?:
            commands[id] = nil
            return outcome
        case .waiting?, nil:
            preconditionFailure("attach follows one successful reserve, once")
        }
    }

    mutating func settle(_ id: String, _ outcome: CommandOutcome) -> SettleAction {
        switch commands[id] {
        case .sent?:
            commands[id] = .settled(outcome)
            return .held
        case .waiting(let waiter)?:
            commands[id] = nil
            return .resume(waiter, outcome)
        case .settled?, nil:
            return .ignored
        }
    }

    /// The channel ended: nothing is admitted again, every waiter is handed back to be told `offline`, and a
    /// command not yet attached will find `offline` when it attaches.
    mutating func close() -> [Waiter] {
        isClosed = true
        var waiters: [Waiter] = []
        for (id, state) in commands {
            switch state {
            case .sent: commands[id] = .settled(.offline)
            case .waiting(let waiter):
                waiters.append(waiter)
                commands[id] = nil
            case .settled: break
            }
        }
        return waiters
    }
}

extension PendingCommands: Sendable where Waiter: Sendable {}
extension PendingCommands.State: Sendable where Waiter: Sendable {}
extension PendingCommands.SettleAction: Sendable where Waiter: Sendable {}
