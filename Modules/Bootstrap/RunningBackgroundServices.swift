import Kernel
import Synchronization

/// The wired modules' background services while `atlas serve` runs. `stop()` cancels them, waits a
/// bounded time for each to return, then runs each one's `shutdown()` (final flushes) uncancelled.
public final class RunningBackgroundServices: Sendable {
    /// How long `stop()` waits for cancelled services before shutting down without them.
    public static let stopWaitSecondsDefault: Double = 10

    /// Names of the services whose `run()` has not returned yet.
    private final class Unfinished: Sendable {
        private let names: Mutex<Set<String>>
        init(_ names: [String]) { self.names = Mutex(Set(names)) }
        func finished(_ name: String) { names.withLock { _ = $0.remove(name) } }
        var current: Set<String> { names.withLock { $0 } }
    }

    private let services: [any BackgroundService]
    private let logger: Logger
    private let unfinished: Unfinished
    private let task: Task<Void, Never>

    init(_ services: [any BackgroundService], logger: Logger) {
        let unfinished = Unfinished(services.map(\.name))
        self.services = services
        self.logger = logger
        self.unfinished = unfinished
        task = Task {
            await withTaskGroup(of: Void.self) { group in
                for service in services {
                    group.addTask {
                        await service.run()
                        unfinished.finished(service.name)
                    }
                }
            }
        }
    }

    public func stop(waitSeconds: Double = RunningBackgroundServices.stopWaitSecondsDefault) async {
        task.cancel()
        let deadline = ContinuousClock.now + .seconds(waitSeconds)
        while !unfinished.current.isEmpty && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let stuck = unfinished.current
        if !stuck.isEmpty {
            logger.warning("background services did not stop in time", ["services": .string(stuck.sorted().joined(separator: ","))])
        }
        for service in services { await service.shutdown() }
    }
}
