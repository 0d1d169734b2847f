import Foundation
import Kernel
import Postgres
@testable import Rounding
import Testing

/// Tips (A39, A40, vectors 67–68), pools, authentication (A1, A2, A15, A16, A41, A42), idempotency,
/// and the fraud score over time with a controllable clock.
@Suite struct HTTPTipAndAuthTests {
    func fixture() async throws -> RoundingFixture { try await RoundingFixture.shared.value }

    func tip(_ f: RoundingFixture, _ m: RoundingFixture.Merchant, _ transactionId: JSONValue, _ amount: JSONValue,
             path: String = "/tip/cash", employee: String = "EMP-1") async -> Response {
        await f.post(path, key: m.merchant, ["transaction_id": transactionId, "employee_id": .string(employee),
                                             "employee_name": "Sam Server", "tip_amount": amount])
    }

    /// Vectors 67, 68: dollars parsed exactly, a fractional cent rounds up (FLSA ceiling).
    @Test func tipAmountsUseTheCeiling() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let sale = try await f.sell(m)["id"]!
        let cases: [(String, Int64, Bool)] = [("3.501", 351, true), ("3.50", 350, false), ("3.5", 350, false),
                                              ("0.001", 1, true), ("12.3400000000001", 1235, true), ("7", 700, false)]
        for (text, cents, ceiling) in cases {
            let body = Array(#"{"transaction_id":"\#(sale.stringValue!)","employee_id":"EMP-1","employee_name":"Sam","tip_amount":\#(text)}"#.utf8)
            let response = await f.client.send(.post, "/api/v1/tip/cash",
                                               headers: ["x-api-key": m.merchant, "Content-Type": "application/json"], body: body)
            #expect(response.status == 200, "\(text): \(response.bodyText)")
            #expect(response.bodyJSON?["tip"]?["tip_amount_cents"] == .int(cents), "\(text)")
            #expect(response.bodyJSON?["tip"]?["flsa_ceiling_applied"] == .bool(ceiling), "\(text)")
        }
        let string = await tip(f, m, sale, "3.501", path: "/tip/credit-card")
        #expect(string.bodyJSON?["tip"]?["tip_amount_cents"] == 351)
        #expect(string.bodyJSON?["tip"]?["tip_type"] == "credit_card")
        #expect(string.bodyJSON?["tip"]?["event_type"] == "TIP_CREDIT_CARD")
        for bad: JSONValue in [0, -1, "abc", "1e3", true, 100_001] {
            let response = await tip(f, m, sale, bad)
            #expect(response.status == 400, "\(bad)")
            #expect(response.bodyJSON?["error"] == "VALIDATION_ERROR")
            #expect(response.bodyJSON?["message"]?.stringValue?.hasPrefix("tip_amount must be") == true, "\(bad)")
        }
        // A39: employee_name is required.
        let missing = await f.post("/tip/cash", key: m.merchant, ["transaction_id": sale, "employee_id": "EMP-1", "tip_amount": .double(3.5)])
        #expect(missing.isError(400, "VALIDATION_ERROR", "employee_name is required"))
        #expect(await tip(f, m, "TXN-NOPE", 1).isError(404, "NOT_FOUND", "Transaction not found"))
        #expect(await f.post("/tip/cash", key: m.auditor, ["transaction_id": sale, "employee_id": "EMP-1",
                              "employee_name": "Sam", "tip_amount": 1]).isError(403, "FORBIDDEN"))
    }

    /// A40 and pools: create, distribute exactly (largest remainder), once; adjustments count.
    @Test func tipPools() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let sale = try await f.sell(m)["id"]!
        let first = await tip(f, m, sale, "3.34")
        let second = await tip(f, m, sale, "6.66")
        let tipIds: [JSONValue] = [try #require(first.bodyJSON?["tip"]?["id"]), try #require(second.bodyJSON?["tip"]?["id"])]
        let adjust = await f.post("/tip/adjust", key: m.merchant, ["tip_id": tipIds[1], "tip_amount": "6.67",
                                  "employee_id": "MGR-1", "reason": "customer corrected the slip"])
        #expect(adjust.bodyJSON?["adjustment"]?["previous_tip_amount_cents"] == 666)
        #expect(adjust.bodyJSON?["adjustment"]?["new_tip_amount_cents"] == 667)
        let people: JSONValue = [["employeeId": "E1", "employeeName": "Ann"], ["employeeId": "E2", "employeeName": "Bo"],
                                 ["employeeId": "E3", "employeeName": "Cy"]]
        let points = await f.post("/tip/pool/create", key: m.merchant, ["pool_name": "Friday", "tip_ids": .array(tipIds),
                                  "distribution_method": "points", "participants": people])
        #expect(points.isError(400, "VALIDATION_ERROR", "distribution_method must be one of equal, weighted, hours_based"))
        let weightless = await f.post("/tip/pool/create", key: m.merchant, ["pool_name": "Friday", "tip_ids": .array(tipIds),
                                      "distribution_method": "weighted", "participants": people])
        #expect(weightless.isError(400, "VALIDATION_ERROR", "participants[0].weight is required"))
        let created = await f.post("/tip/pool/create", key: m.merchant, ["pool_name": "Friday", "tip_ids": .array(tipIds),
                                   "distribution_method": "equal", "participants": people])
        #expect(created.status == 200)
        let poolId = try #require(created.bodyJSON?["pool_id"])
        #expect(created.bodyJSON?["pool"]?["total_cents"] == 1001)
        let reuse = await f.post("/tip/pool/create", key: m.merchant, ["pool_name": "Again", "tip_ids": [tipIds[0]],
                                 "distribution_method": "equal", "participants": people])
        #expect(reuse.status == 409)
        let paid = await f.post("/tip/pool/distribute", key: m.merchant, ["pool_id": poolId])
        #expect(paid.status == 200)
        #expect(paid.bodyJSON?["total_cents"] == 1001)
        guard case .array(let payouts)? = paid.bodyJSON?["payouts"] else { Issue.record("no payouts"); return }
        #expect(payouts.map { $0["amount_cents"]?.intValue ?? 0 } == [334, 334, 333])
        #expect(await f.post("/tip/pool/distribute", key: m.merchant, ["pool_id": poolId])
            .isError(409, "CONFLICT", "Pool is already distributed"))
        #expect(await f.post("/tip/pool/distribute", key: m.merchant, ["pool_id": "POOL-NOPE"])
            .isError(404, "NOT_FOUND", "Pool not found"))
        let logs = await f.get("/admin/audit-logs?event_type=tip_payout", key: m.auditor)
        #expect(logs.bodyJSON?["count"] == 1)
        #expect(await f.get("/admin/verify-hash-chain", key: m.auditor).bodyJSON?["break_count"] == 0)
        #expect(TipHandlers.split(totalCents: 1000, shares: [750, 250, 1]).reduce(0, +) == 1000)
        #expect(TipHandlers.split(totalCents: 100, shares: [2, 1]) == [67, 33])
    }

    /// A1, A2: health and version without a key.
    @Test func healthAndVersion() async throws {
        let f = try await fixture()
        // A first pooled connection during the full suite's start-up surge can take longer than the health
        // check's 2 s (the same warm-up as PoolTests.reachableDatabaseAnswersHealthChecks).
        _ = try await f.database.query("SELECT 1")
        let health = await f.get("/health", key: nil)
        #expect(health.status == 200)
        #expect(health.bodyJSON?["status"] == "ok")
        #expect(health.bodyJSON?["database"] == "connected")
        let version = await f.get("/version", key: nil)
        #expect(version.bodyJSON?["api_version"] == "3.6.0")
        #expect(version.bodyJSON?["engine_version"] != nil)
        guard case .array(let endpoints)? = version.bodyJSON?["endpoints"] else { Issue.record("no endpoints"); return }
        #expect(endpoints.contains("POST /transaction"))
    }

    /// A15, A16, A42: missing, wrong and revoked keys get 401; an admin creates a key (201).
    @Test func authenticationErrors() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let unauthorized = "Invalid or missing API key"
        for (method, path) in [("GET", "/jurisdictions"), ("POST", "/transaction"), ("GET", "/admin/audit-logs"),
                               ("POST", "/tip/cash"), ("GET", "/admin/fraud-overview"), ("POST", "/export")] {
            let response = method == "GET" ? await f.get(path, key: nil) : await f.post(path, key: nil, [:])
            #expect(response.isError(401, "UNAUTHORIZED", unauthorized), "\(path)")
        }
        #expect(await f.get("/jurisdictions", key: "centsless_" + String(repeating: "0", count: 48))
            .isError(401, "UNAUTHORIZED", unauthorized))
        #expect(await f.get("/jurisdictions", key: "sk_test_" + String(repeating: "0", count: 48))
            .isError(401, "UNAUTHORIZED", unauthorized))
        let created = await f.post("/admin/api-keys", key: m.admin, ["role": "merchant", "merchant_id": .string(m.id)])
        #expect(created.status == 201)
        let secret = try #require(created.bodyJSON?["secret"]?.stringValue)
        let keyId = try #require(created.bodyJSON?["id"]?.stringValue)
        #expect(await f.post("/transaction", key: secret, RoundingFixture.sale(m.id)).status == 200)
        let revoke = await f.client.send(.delete, "/api/v1/admin/api-keys/\(keyId)", headers: ["x-api-key": m.admin])
        #expect(revoke.status == 200)
        #expect(await f.post("/transaction", key: secret, RoundingFixture.sale(m.id)).isError(401, "UNAUTHORIZED", unauthorized))
    }

    /// A41: a sandbox key's 1,001st request within the hour is 429.
    @Test func sandboxRateLimit() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        for index in 1...1000 {
            let response = await f.get("/jurisdictions", key: m.auditor)
            if response.status != 200 { Issue.record("request \(index) got \(response.status)"); return }
        }
        let limited = await f.get("/jurisdictions", key: m.auditor)
        #expect(limited.status == 429)
        #expect(limited.bodyJSON?["error"] == "RATE_LIMITED")
        #expect(limited.headers["Retry-After"] != nil)
    }

    /// POSTs honour Idempotency-Key: the replay is the stored response and appends nothing.
    @Test func idempotentSale() async throws {
        let f = try await fixture()
        let m = try await f.newMerchant()
        let body = RoundingFixture.sale(m.id)
        let first = await f.post("/transaction", key: m.merchant, body, headers: ["Idempotency-Key": "sale-1"])
        let replay = await f.post("/transaction", key: m.merchant, body, headers: ["Idempotency-Key": "sale-1"])
        #expect(first.status == 200)
        #expect(replay.body == first.body)
        #expect(replay.headers["Idempotent-Replayed"] == "true")
        #expect(await f.get("/admin/verify-hash-chain", key: m.auditor).bodyJSON?["total_count"] == 1)
    }

    /// The fraud score rises to CRITICAL with round-up bias, overrides and voids at shift change, and the
    /// overview ranks that merchant first; compliance turns FAIL (recorded, not blocked).
    @Test func fraudScoreAndOverview() async throws {
        // 13:55 UTC: five minutes before the 14:00 shift change.
        let f = try await RoundingFixture.make(start: Date(timeIntervalSince1970: 1_776_124_800 + 13 * 3600 + 55 * 60),
                                               connectionsMax: 4)
        defer { f.database.close() }
        let risky = try await f.newMerchant()
        let calm = try await f.newMerchant()
        _ = try await f.sell(calm)
        var ids: [JSONValue] = []
        var last = JSONValue.null
        for index in 0..<25 {
            last = try await f.sell(risky, ["cash_rounding_mode": "mandatory_round_up", "subtotal_cents": .int(Int64(501 + index * 5))])
            ids.append(last["id"]!)
        }
        #expect(last["fraud_score"] == 40)  // 100 % round-ups over 25 rounded sales: the full 40 direction points
        #expect(last["risk_level"] == "MEDIUM")
        #expect(last["compliance"]?["compliance_status"] == "PASS")
        for id in ids.prefix(5) {
            #expect(await f.post("/transaction/override", key: risky.merchant, ["transaction_id": id, "employee_id": "EMP-1",
                                 "employee_name": "Pat", "reason": "manager-discretion", "new_cash_total_cents": 100]).status == 200)
        }
        for id in ids.suffix(10) {
            #expect(await f.post("/transaction/void", key: risky.merchant, ["original_transaction_id": id,
                                 "void_reason": "customer_changed_mind", "voided_by": "EMP-1"]).status == 200)
        }
        let profile = await f.get("/merchant/\(risky.id)/risk-profile", key: risky.admin)
        #expect(profile.bodyJSON?["risk_level"] == "CRITICAL")
        #expect(profile.bodyJSON?["fraud_score"] == 90)  // 40 rounding + 15 + 10 overrides + 15 voids + 10 shift
        #expect(await f.post("/transaction/refund", key: risky.merchant, ["original_transaction_id": ids[6],
                             "refund_amount": 1, "void_reason": "wrong_item", "voided_by": "EMP-1"]).status == 200)
        #expect(profile.bodyJSON?["void_rates"]?["voids_near_shift_change"] == 10)
        #expect(profile.bodyJSON?["override_patterns"]?["reason_codes"] == ["manager-discretion": 5])
        let sale = try await f.sell(risky, ["cash_rounding_mode": "mandatory_round_up", "subtotal_cents": 601])
        #expect(sale["risk_level"] == "CRITICAL")
        #expect(sale["compliance"]?["compliance_status"] == "FAIL")
        let overview = await f.get("/admin/fraud-overview", key: calm.admin)
        guard case .array(let merchants)? = overview.bodyJSON?["merchants"] else { Issue.record("no merchants"); return }
        #expect(merchants.first?["merchant_id"] == .string(risky.id))
        #expect(merchants.first?["risk_level"] == "CRITICAL")
        #expect(merchants.last?["risk_level"] == "NONE")
        // Void window: a day later the sale can only be refunded.
        f.clock.advance(seconds: 24 * 3600 + 1)
        let late = await f.post("/transaction/void", key: risky.merchant, ["original_transaction_id": ids[5],
                                "void_reason": "pricing_error", "voided_by": "EMP-1"])
        #expect(late.isError(400, "VALIDATION_ERROR", "original_transaction_id is past the 24-hour void window; use /transaction/refund"))
        #expect(await f.get("/admin/verify-hash-chain", key: risky.admin).bodyJSON?["break_count"] == 0)
    }

    @Test func riskLevelThresholds() {
        #expect([0, 9, 10, 29, 30, 49, 50, 74, 75, 100].map { RiskLevel(score: $0).rawValue }
            == ["NONE", "NONE", "LOW", "LOW", "MEDIUM", "MEDIUM", "HIGH", "HIGH", "CRITICAL", "CRITICAL"])
        #expect(FraudScoring.isNearShiftChange(Date(timeIntervalSince1970: 14 * 3600 - 15 * 60)))
        #expect(!FraudScoring.isNearShiftChange(Date(timeIntervalSince1970: 14 * 3600 - 16 * 60)))
        #expect(FraudScoring.isNearShiftChange(Date(timeIntervalSince1970: 86_400 - 10)) == false)
        #expect(FraudScoring.isNearShiftChange(Date(timeIntervalSince1970: 22 * 3600 + 600)))
    }

    @Test func dollarParsing() {
        #expect(DollarAmount.parse("3.501")?.cents == 351)
        #expect(DollarAmount.parse("3.5000")?.cents == 350)
        #expect(DollarAmount.parse("3.5000")?.fractionRoundedUp == false)
        #expect(DollarAmount.parse("0.009")?.cents == 1)
        #expect(DollarAmount.parse("1.") == nil)
        #expect(DollarAmount.parse(".5") == nil)
        #expect(DollarAmount.parse("1e3") == nil)
        #expect(DollarAmount.format(cents: 351) == "3.51")
        #expect(DollarAmount.format(cents: 5) == "0.05")
    }
}
