import Foundation

/// One dedicated OS thread that runs the blocking libpq calls of one connection.
///
/// WHY: `PQexecParams`, `PQconnectdb` and friends block the calling thread for the whole network round
/// trip. Running them on the Swift cooperative pool (one thread per core, 2 here) or on an HTTP event
/// loop would stall every other task while the database thinks. A thread per connection is simple,
/// bounded by the pool's `connectionsMax`, and keeps libpq's "one thread at a time per PGconn" rule
/// trivially true. Callers suspend on a continuation and are resumed when the job finishes.
final class BlockingWorker: @unchecked Sendable {
    /// A connection is leased to one task at a time, so more than a couple of queued jobs is a bug.
    static let queuedJobsMax = 8

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var jobs: [() -> Void] = []
    private var stopping = false

    init(name: String) {
        let thread = Thread { [self] in self.loop() }
        thread.name = name
        thread.start()
    }

    /// Runs `body` on the worker thread and returns its result, or nil when the worker is stopped/full.
    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T? {
        await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            let accepted = submit { continuation.resume(returning: body()) }
            if !accepted { continuation.resume(returning: nil) }
        }
    }

    /// Queues `job`; returns false when the worker is stopping or its queue is full.
    func submit(_ job: @escaping () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping, jobs.count < Self.queuedJobsMax else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    /// Lets queued jobs finish, then ends the thread.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty && stopping {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
