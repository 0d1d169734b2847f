import Foundation
import Kernel
import Synchronization
import Testing
@testable import Postgres

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
}

/// Tests run against a real PostgreSQL named by DATABASE_URL. Without it they FAIL (never skip), with a hint.
enum TestDatabase {
    static let missingURLMessage = """
        DATABASE_URL is not set. PostgresTests need a real PostgreSQL: run scripts/test.sh, or
          source scripts/lib/pg.sh && pg_local_start /tmp/atlas-pg-helper 55433
        and then swift test --filter PostgresTests
        """

    static func url() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty else {
            print(missingURLMessage)
            throw TestSetupError(description: missingURLMessage)
        }
        return url
    }

    static func make(connectionsMax: Int = 4, acquireTimeoutSeconds: Double = 10,
                     waitersMax: Int = 1_000,
                     preparedStatementsMax: Int = PostgresConfiguration.preparedStatementsMaxDefault) throws
        -> PostgresDatabase {
        PostgresDatabase(configuration: PostgresConfiguration(
            url: try url(), applicationName: "atlas-tests",
            pool: PoolLimits(connectionsMax: connectionsMax, acquireTimeoutSeconds: acquireTimeoutSeconds,
                             waitersMax: waitersMax),
            // The full suite opens hundreds of connections at its start: a connect once took more than 5 s.
            connectTimeoutSeconds: 30,
            preparedStatementsMax: preparedStatementsMax))
    }

    /// A table/channel/namespace name no other (parallel) test uses.
    static func uniqueName(_ prefix: String) -> String {
        prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
    }
}

/// Consumes a notification stream in the background so tests can wait with a timeout without
/// cancelling (and thereby terminating) the stream itself.
final class NotificationCollector: Sendable {
    private let boxed = ReceivedBox()
    private let task: Task<Void, Never>

    init(_ stream: AsyncStream<DatabaseNotification>) {
        let box = boxed
        task = Task {
            for await notification in stream { box.append(notification) }
        }
    }

    var notifications: [DatabaseNotification] { boxed.all }

    /// Waits until at least `count` notifications arrived, or the timeout passed.
    func wait(count: Int, timeoutSeconds: Double = 10) async -> [DatabaseNotification] {
        let deadline = ContinuousClock.now + .seconds(timeoutSeconds)
        while boxed.all.count < count && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return boxed.all
    }

    func stop() { task.cancel() }
}

final class ReceivedBox: Sendable {
    private let items = Mutex<[DatabaseNotification]>([])
    func append(_ item: DatabaseNotification) { items.withLock { $0.append(item) } }
    var all: [DatabaseNotification] { items.withLock { $0 } }
}

/// Waits until `condition` holds (polling), or fails after the timeout.
func eventually(timeoutSeconds: Double = 5, _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(timeoutSeconds)
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}
