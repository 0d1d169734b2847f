/// Work a module runs beside the HTTP server for the life of the process (cache invalidation,
/// buffered writes, purges). The bootstrap starts every wired module's services in `serve` and
/// stops them after the server has drained on SIGTERM; admin commands and tests do not run them.
public protocol BackgroundService: Sendable {
    /// A stable name for logs, such as "auth.audit-flush".
    var name: String { get }
    /// Runs until the surrounding task is cancelled, then returns. Never throws: a service logs its
    /// own failures and retries.
    func run() async
    /// Called once when the process stops, after `run()` was cancelled, from a task that is not
    /// cancelled: WHY a separate step is that database work in a cancelled task is cancelled too, so a
    /// last flush of buffered writes belongs here, not at the end of `run()`.
    func shutdown() async
}

extension BackgroundService {
    public func shutdown() async {}
}

/// A `BackgroundService` made from closures, for modules whose services are one loop each.
public struct BackgroundTask: BackgroundService {
    public let name: String
    private let body: @Sendable () async -> Void
    private let finalWork: @Sendable () async -> Void

    public init(name: String, shutdown: @escaping @Sendable () async -> Void = {},
                _ body: @escaping @Sendable () async -> Void) {
        self.name = name
        self.body = body
        self.finalWork = shutdown
    }

    public func run() async { await body() }
    public func shutdown() async { await finalWork() }
}
