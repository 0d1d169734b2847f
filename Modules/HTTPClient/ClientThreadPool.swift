import Foundation

/// Up to `threadsMax` OS threads that run the client's blocking socket and TLS work, fed from one bounded
/// queue. A thread starts when a job finds none idle; all end when the client goes away (`stop`).
///
/// WHY not a concurrent DispatchQueue: on Linux a custom concurrent queue runs on libdispatch's non-overcommit
/// pool, about one thread per core (2 here), so blocking requests waited behind one another and a local
/// receiver got about 300 deliveries/s with the receiver 15% busy. WHY not a thread per request: a pool
/// bounds the threads and costs no thread creation per request. The cooperative pool is never blocked.
final class ClientThreadPool: @unchecked Sendable {
    /// Blocking socket and TLS work needs little stack (OpenSSL's handshake is the deepest).
    static let threadStackBytes = 512 << 10

    private let condition = NSCondition()
    private let threadsMax: Int
    private let queuedJobsMax: Int
    // Guarded by `condition`.
    private var jobs: [() -> Void] = []
    private var jobsHead = 0
    private var threadsStarted = 0
    private var threadsIdle = 0
    private var stopping = false

    init(threadsMax: Int, queuedJobsMax: Int) {
        precondition(threadsMax > 0 && queuedJobsMax > 0, "limits must be positive")
        self.threadsMax = threadsMax
        self.queuedJobsMax = queuedJobsMax
    }

    /// Queues `job`; false when `queuedJobsMax` jobs already wait or the pool is stopping.
    func submit(_ job: @escaping () -> Void) -> Bool {
        condition.lock()
        guard !stopping, jobs.count - jobsHead < queuedJobsMax else {
            condition.unlock()
            return false
        }
        jobs.append(job)
        let startThread = threadsIdle == 0 && threadsStarted < threadsMax
        if startThread { threadsStarted += 1 } else { condition.signal() }
        condition.unlock()
        if startThread {
            let thread = Thread { [self] in self.loop() }
            thread.name = "atlas.http-client"
            thread.stackSize = Self.threadStackBytes
            thread.start()
        }
        return true
    }

    /// Lets queued jobs finish, then ends every thread.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func loop() {
        condition.lock()
        while true {
            while jobsHead == jobs.count && !stopping {
                threadsIdle += 1
                condition.wait()
                threadsIdle -= 1
            }
            if jobsHead == jobs.count {  // stopping, nothing left
                condition.unlock()
                return
            }
            let job = jobs[jobsHead]
            jobsHead += 1
            if jobsHead == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                jobsHead = 0
            }
            condition.unlock()
            job()
            condition.lock()
        }
    }
}
