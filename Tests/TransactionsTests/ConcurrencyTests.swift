import AcquirerContract
import Foundation
import Kernel
import Postgres
import Synchronization
import Testing
@testable import Transactions

/// Races that must never double-charge, over-refund or run two payments on one terminal.
@Suite struct ConcurrencyTests {
    @Test func hundredParallelRetriesMakeOneTransaction() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let results = Collected<Response>()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<100 {
                group.addTask {
                    results.add(await fixture.sale(["type": "SALE", "amount": 2500, "currency": "NZD"], idempotencyKey: "retry-me"))
                }
            }
        }
        let ok = results.all.filter { $0.status == 200 }
        // The API key's concurrency cap (50 in flight) may turn some retries into 429s; none may run the sale.
        #expect(results.all.allSatisfy { $0.status == 200 || $0.status == 429 })
        #expect(ok.count >= 50)
        #expect(Set(ok.map { $0.string("transactionId") ?? "" }).count == 1)
        #expect(try await fixture.transactionCount() == 1)
        #expect(try await fixture.count("SELECT count(*) AS n FROM event_log") == 1)
    }

    /// Keyless sales are batched into ONE autocommitted statement (rows CTE + event log INSERT): every row
    /// must get exactly its own event (bind numbers continue across the two INSERTs).
    @Test func parallelKeylessSalesWriteEachRowWithItsOutboxEvent() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let results = Collected<Response>()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                group.addTask {
                    results.add(await fixture.sale(["type": "SALE", "amount": .int(Int64(1000 + index)), "currency": "NZD"]))
                }
            }
        }
        #expect(results.all.allSatisfy { $0.status == 200 })
        let ids = Set(results.all.compactMap { $0.string("transactionId") })
        #expect(ids.count == 40)
        #expect(try await fixture.transactionCount() == 40)
        #expect(try await fixture.count("""
            SELECT count(*) AS n FROM event_log o JOIN transactions t ON t.id = o.resource_id
            WHERE o.merchant_id = t.merchant_id AND o.occurred_at = t.created_at
              AND (o.payload->>'amount')::bigint = t.amount AND t.merchant_id = \(fixture.merchantId)
            """) == 40)
        #expect(try await fixture.count(
            "SELECT count(DISTINCT resource_id) AS n FROM event_log WHERE merchant_id = \(fixture.merchantId)") == 40)
    }

    @Test func fiftyParallelPartialRefundsNeverExceedCaptured() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let sale = await fixture.sale(["type": "SALE", "amount": 5000, "currency": "NZD"])
        let original: JSONValue = .string(sale.string("transactionId") ?? "")
        let results = Collected<Response>()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<50 {
                group.addTask {
                    results.add(await fixture.sale(["type": "REFUND", "amount": 150, "currency": "NZD", "originalTransactionId": original],
                                                   idempotencyKey: "refund-\(index)"))
                }
            }
        }
        let approved = results.all.filter { $0.status == 200 && $0.string("status") == "APPROVED" }
        let refused = results.all.filter { $0.status == 409 }
        #expect(approved.count == 33) // 33 × 150 = 4950 ≤ 5000 < 34 × 150
        #expect(refused.allSatisfy { $0.errorCode == "REFUND_EXCEEDS_CAPTURED" })
        #expect(approved.count + refused.count == 50)
        let stored = try await fixture.database.queryFirst("""
            SELECT refunded_amount, (SELECT COALESCE(sum(amount), 0) FROM transactions WHERE type = 'REFUND' AND status = 'APPROVED') AS sum
            FROM transactions WHERE id = \(sale.string("transactionId") ?? "")
            """)
        let refunded: Int64 = try stored?.decode("refunded_amount") ?? -1
        let sum: Int64 = try stored?.decode("sum") ?? -1
        #expect(refunded == 4950)
        #expect(sum == refunded)
    }

    @Test func aTerminalNeverRunsTwoAtOnce() async throws {
        // The winner's acquirer call lasts 60 s, so every other request certainly arrives while it holds the
        // terminal, however slowly a loaded machine schedules them (a 300 ms hold let a late request find the
        // terminal free again under a full parallel test run); the winner is then aborted.
        let fixture = try await TransactionFixture.make(slowDelayMilliseconds: 60_000)
        defer { fixture.close() }
        let results = Collected<Response>()
        let answered = Counter()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<20 {
                group.addTask {
                    results.add(await fixture.sale(["type": "SALE", "amount": .int(SimulatedAcquirer.slowAmount), "currency": "NZD",
                                                    "referenceId": .string("r\(index)")], key: fixture.terminalKey))
                    answered.add()
                }
            }
            group.addTask {
                // Once all but the winner have answered, abort the winner (its id is in the lock row).
                while answered.count < 19 { try? await Task.sleep(for: .milliseconds(20)) }
                guard let row = try? await fixture.database.queryFirst("SELECT transaction_id FROM transactions_terminal_locks"),
                      let id = row.text("transaction_id") else { return }
                _ = await fixture.post("/v1/transaction/\(id)/abort", [:], key: fixture.terminalKey)
            }
        }
        let winners = results.all.filter { $0.status == 200 }
        let busy = results.all.filter { $0.errorCode == "TERMINAL_BUSY" }
        #expect(winners.count == 1)
        #expect(winners.first?.string("status") == "ABORTED")
        #expect(busy.count == 19)
        #expect(busy.allSatisfy { $0.status == 409 })
        #expect(try await fixture.count("SELECT count(*) AS n FROM transactions_terminal_locks") == 0)
    }

    @Test func batchedSalesStayIsolated() async throws {
        // Many concurrent keyless sales share group commits; each gets its own row and response.
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let keys = try await (0..<4).asyncMap { _ in try await fixture.newKey() }
        let results = Collected<Response>()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<160 {
                group.addTask {
                    let amount: Int64 = index % 10 == 0 ? -1 : Int64(100 + index)
                    results.add(await fixture.sale(["type": "SALE", "amount": .int(amount), "currency": "NZD"],
                                                   key: keys[index % 4], idempotencyKey: "batch-\(index)"))
                }
            }
        }
        let ok = results.all.filter { $0.status == 200 }
        #expect(ok.count == 144)
        #expect(results.all.filter { $0.errorCode == "INVALID_AMOUNT" }.count == 16)
        #expect(Set(ok.compactMap { $0.string("transactionId") }).count == 144)
        #expect(try await fixture.transactionCount() == 144)
        let completed = try await fixture.count("SELECT count(*) AS n FROM idempotency_keys WHERE state = 'completed'")
        let states = try await fixture.database.query("SELECT state, response_status, count(*) AS n FROM idempotency_keys GROUP BY 1, 2")
        #expect(completed == 144, "\(states.map { "\($0.values)" })")
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}

/// A counter shared by concurrent test tasks.
private final class Counter: Sendable {
    private let value = Mutex(0)
    func add() { value.withLock { $0 += 1 } }
    var count: Int { value.withLock { $0 } }
}
