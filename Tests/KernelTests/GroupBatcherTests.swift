import Kernel
import Synchronization
import Testing

/// The batcher behind idempotency claims, key lookups and sale writes: every caller gets exactly its own
/// item's result, concurrent callers share batches, and the limits hold.
@Suite struct GroupBatcherTests {
    struct Boom: Error, Equatable { let item: Int }

    /// Records each batch it is handed; blocks the first batch until released, so callers pile up behind it.
    final class Recorder: Sendable {
        let batches = Mutex<[[Int]]>([])
        let gate = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let holdFirst: Bool

        init(holdFirst: Bool) { self.holdFirst = holdFirst }

        func execute(_ items: [Int]) async -> [Result<Int, any Error>] {
            let isFirst = batches.withLock { batches in
                batches.append(items)
                return batches.count == 1
            }
            if holdFirst && isFirst { await withCheckedContinuation { continuation in gate.withLock { $0 = continuation } } }
            return items.map { $0 % 7 == 3 ? .failure(Boom(item: $0)) : .success($0 * 10) }
        }

        func release() async {
            while true {
                if let continuation = gate.withLock({ gate -> CheckedContinuation<Void, Never>? in
                    defer { gate = nil }
                    return gate
                }) {
                    continuation.resume()
                    return
                }
                await Task.yield()
            }
        }
    }

    static func submitAll(_ batcher: GroupBatcher<Int, Int>, _ items: [Int]) async -> [Int: Result<Int, Boom>] {
        await withTaskGroup(of: (Int, Result<Int, Boom>).self) { group in
            for item in items {
                group.addTask {
                    do { return (item, .success(try await batcher.submit(item))) }
                    catch { return (item, .failure(error as! Boom)) }
                }
            }
            return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
    }

    /// Holds a first batch (`first` alone) in flight, queues `items` behind it, runs `whileHeld`, releases.
    static func queueBehindAHeldBatch(_ batcher: GroupBatcher<Int, Int>, _ recorder: Recorder, first: Int, items: [Int],
                                      whileHeld: () async -> Void = {}) async -> (first: Int?, rest: [Int: Result<Int, Boom>]) {
        async let firstResult = try? batcher.submit(first)
        while recorder.batches.withLock({ $0.isEmpty }) { await Task.yield() }
        async let rest = submitAll(batcher, items)
        while batcher.queuedCount < items.count { await Task.yield() }
        await whileHeld()
        await recorder.release()
        return (await firstResult, await rest)
    }

    @Test func everyCallerGetsItsOwnResultOrError() async {
        let recorder = Recorder(holdFirst: false)
        let batcher = GroupBatcher<Int, Int>(limits: .init(batchItemsMax: 8, flushersMax: 2, queueItemsMax: 1_000)) {
            await recorder.execute($0)
        }
        let results = await Self.submitAll(batcher, Array(0..<200))
        #expect(results.count == 200)
        for (item, result) in results {
            if item % 7 == 3 { #expect(result == .failure(Boom(item: item))) } else { #expect(result == .success(item * 10)) }
        }
        let batches = recorder.batches.withLock { $0 }
        #expect(batches.flatMap { $0 }.sorted() == Array(0..<200))
        #expect(batches.allSatisfy { $0.count <= 8 })
    }

    @Test func callersArrivingDuringABatchShareTheNextOne() async {
        let recorder = Recorder(holdFirst: true)
        let batcher = GroupBatcher<Int, Int>(limits: .init(batchItemsMax: 64, flushersMax: 1, queueItemsMax: 1_000)) {
            await recorder.execute($0)
        }
        let results = await Self.queueBehindAHeldBatch(batcher, recorder, first: 1, items: Array(100..<150))
        #expect(results.first == 10)
        #expect(results.rest.count == 50)
        let batches = recorder.batches.withLock { $0 }
        // One flusher: the 50 that queued behind the held batch go out together.
        #expect(batches.count == 2)
        #expect(batches[1].sorted() == Array(100..<150))
    }

    @Test func equalDistinctKeysNeverShareABatch() async {
        let recorder = Recorder(holdFirst: true)
        let batcher = GroupBatcher<Int, Int>(limits: .init(batchItemsMax: 64, flushersMax: 1, queueItemsMax: 1_000),
                                             distinctKey: { String($0 % 5) }) { await recorder.execute($0) }
        let results = await Self.queueBehindAHeldBatch(batcher, recorder, first: 0, items: Array(1..<21))
        #expect(results.rest.count == 20)
        let batches = recorder.batches.withLock { $0 }
        #expect(batches.flatMap { $0 }.sorted() == Array(0..<21))
        for batch in batches { #expect(Set(batch.map { $0 % 5 }).count == batch.count) }
    }

    @Test func aFullQueueRunsTheItemAloneInsteadOfWaiting() async {
        let recorder = Recorder(holdFirst: true)
        let batcher = GroupBatcher<Int, Int>(limits: .init(batchItemsMax: 64, flushersMax: 1, queueItemsMax: 4)) {
            await recorder.execute($0)
        }
        // 4 fill the queue behind the held batch; a 5th finds it full and runs alone, before the release.
        let results = await Self.queueBehindAHeldBatch(batcher, recorder, first: 1, items: [11, 12, 13, 14]) {
            let alone = try? await batcher.submit(20)
            #expect(alone == 200)
            #expect(recorder.batches.withLock { $0 } == [[1], [20]])
        }
        #expect(results.rest.count == 4)
        #expect(recorder.batches.withLock { $0.last?.sorted() } == [11, 12, 13, 14])
    }

    @Test func eachAloneAnswersEveryItemWithItsOwnOutcome() async throws {
        let results = await GroupBatcher<Int, Int>.eachAlone([1, 3, 5]) { item in
            if item == 3 { throw Boom(item: item) }
            return item * 10
        }
        #expect(results.count == 3)
        #expect(try results[0].get() == 10)
        #expect(throws: Boom(item: 3)) { try results[1].get() }
        #expect(try results[2].get() == 50)
    }
}
