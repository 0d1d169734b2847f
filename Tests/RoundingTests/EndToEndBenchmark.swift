import Foundation
import Kernel
import Postgres
import Testing

/// `POST /transaction` requests per second end to end: in-process router → Auth's access guard (key
/// lookup, rate limit, audit) → idempotency middleware → engine → locked chain append in PostgreSQL.
/// No sockets. Runs only when ROUNDING_E2E_REQUESTS is set (bench/rounding.sh sets it).
@Suite struct EndToEndBenchmark {
    static let requests = Int(ProcessInfo.processInfo.environment["ROUNDING_E2E_REQUESTS"] ?? "") ?? 0
    /// In-flight requests; the pool has 8 connections.
    static let concurrency = 16

    @Test(.enabled(if: requests > 0)) func postTransactionThroughput() async throws {
        let f = try await RoundingFixture.make(connectionsMax: 8)
        defer { f.database.close() }
        for merchantCount in [1, 8] {
            var merchants: [RoundingFixture.Merchant] = []
            for _ in 0..<merchantCount { merchants.append(try await f.newMerchant(mode: .live)) }
            let total = Self.requests
            let started = ContinuousClock.now
            let failures = await withTaskGroup(of: Int.self) { group in
                var next = 0
                var failed = 0
                func launch(_ index: Int) {
                    let merchant = merchants[index % merchants.count]
                    group.addTask {
                        let response = await f.post("/transaction", key: merchant.merchant,
                                                    RoundingFixture.sale(merchant.id, ["subtotal_cents": .int(Int64(500 + index % 100))]))
                        return response.status == 200 ? 0 : 1
                    }
                }
                while next < min(Self.concurrency, total) { launch(next); next += 1 }
                for await result in group {
                    failed += result
                    if next < total { launch(next); next += 1 }
                }
                return failed
            }
            let elapsed = ContinuousClock.now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print(String(format: "POST /transaction end to end: %d requests, %d merchant(s), concurrency %d: %.0f req/s (%.2f ms of wall time per request)",
                         total, merchantCount, Self.concurrency, Double(total) / seconds, seconds * 1000 / Double(total)))
            #expect(failures == 0)
        }
    }
}
