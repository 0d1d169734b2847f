import AccessContract
import AtlasTestSupport
@testable import Auth
import Crypto
import Foundation
import Idempotency
import Kernel
import Postgres
import Testing

@Suite struct RateLimiterTests {
    @Test func gcraAllowsTheBurstThenRefusesWithRetryAfter() {
        let clock = ManualWallClock()
        let limiter = RateLimiter(clock: clock)
        let policy = RateLimitPolicy.userStandard  // 60/min, burst 10
        var remaining: [Int] = []
        for _ in 0..<10 {
            let decision = limiter.check(key: "u", policies: [policy])
            #expect(decision.allowed)
            remaining.append(decision.remaining)
        }
        #expect(remaining == remaining.sorted(by: >))
        #expect(remaining.last == 0)
        let refused = limiter.check(key: "u", policies: [policy])
        #expect(!refused.allowed)
        #expect(refused.retryAfterSeconds >= 1)
        #expect(refused.headers.contains { $0.0 == "Retry-After" })
        clock.advance(seconds: 1)
        #expect(limiter.check(key: "u", policies: [policy]).allowed)
        #expect(limiter.check(key: "other", policies: [policy]).allowed)
    }

    @Test func sixtyOneRequestsInAMinuteHitTheStandardTier() {
        let clock = ManualWallClock()
        let limiter = RateLimiter(clock: clock)
        var allowed = 0
        for _ in 0..<61 {
            if limiter.check(key: "u", policies: [.userStandard]).allowed { allowed += 1 }
            clock.advance(seconds: 0.5)
        }
        #expect(allowed < 61)
        #expect(allowed >= 30)
    }

    /// Devices: batch uploads (`RateLimitBucket.batchUpload`) count in a bucket of their own, 40 at once then 2 a
    /// second, apart from the device's 60/min call bucket; other credentials have one bucket whatever the route.
    @Test func deviceBatchUploadsHaveTheirOwnBucket() {
        let device = Principal(kind: .device, id: "dev_1", tenant: TenantContext(merchantId: "mer_1", mode: .live),
                               scopes: ["debit"], role: "terminal", credentialFingerprint: "f")
        let apiKey = Principal(kind: .apiKey, id: "key_1", tenant: TenantContext(merchantId: "mer_1", mode: .test),
                               scopes: [], credentialFingerprint: "f")
        #expect(AuthGuard.policies(for: device) == [.deviceMinute])
        #expect(AuthGuard.policies(for: device, bucket: .batchUpload) == [.deviceBatchUpload])
        #expect(AuthGuard.policies(for: apiKey, bucket: .batchUpload) == AuthGuard.policies(for: apiKey))
        let clock = ManualWallClock()
        let limiter = RateLimiter(clock: clock)
        let batches = AuthGuard.policies(for: device, bucket: .batchUpload)
        for _ in 0..<40 { #expect(limiter.check(key: "device:dev_1", policies: batches).allowed) }
        let refused = limiter.check(key: "device:dev_1", policies: batches)
        #expect(!refused.allowed && refused.retryAfterSeconds == 1 && refused.limit == 120 && refused.remaining == 0)
        // The same key's call bucket is untouched by the uploads.
        #expect(limiter.check(key: "device:dev_1", policies: AuthGuard.policies(for: device)).remaining == 9)
        clock.advance(seconds: 1)
        #expect(limiter.check(key: "device:dev_1", policies: batches).allowed)
        #expect(limiter.check(key: "device:dev_1", policies: batches).allowed)
        #expect(!limiter.check(key: "device:dev_1", policies: batches).allowed)
    }

    @Test func concurrencySlotsAreBounded() {
        let limiter = RateLimiter(clock: ManualWallClock())
        for _ in 0..<50 { #expect(limiter.enter(key: "k", maximum: 50)) }
        #expect(!limiter.enter(key: "k", maximum: 50))
        limiter.leave(key: "k")
        #expect(limiter.enter(key: "k", maximum: 50))
    }
}

@Suite(.serialized) struct GuardedRequestTests {
    @Test func secretKeysGet429AfterAThousandAMinute() async throws {
        let fixture = try await AuthFixture.make()
        var last = Response()
        var remaining: [Int] = []
        for _ in 0..<1_000 {
            last = await fixture.get("/v1/probe/read", key: fixture.testKey)
            remaining.append(Int(last.headers["X-RateLimit-Remaining"] ?? "") ?? -1)
        }
        #expect(last.status == 200)
        #expect(remaining.first == 999 && remaining.last == 0)
        let limited = await fixture.get("/v1/probe/read", key: fixture.testKey)
        #expect(limited.status == 429)
        #expect(limited.bodyJSON?["error"] == "RATE_LIMITED")
        #expect(Int(limited.headers["Retry-After"] ?? "") != nil)
        #expect(limited.headers["X-RateLimit-Limit"] == "1000")
        #expect(await fixture.get("/v1/probe/read", key: fixture.liveKey).status == 200)
        fixture.clock.advance(seconds: 61)
        #expect(await fixture.get("/v1/probe/read", key: fixture.testKey).status == 200)
    }

    @Test func fiftyConcurrentIdenticalRequestsExecuteOnce() async throws {
        let fixture = try await AuthFixture.make()
        let headers: HTTPHeaders = ["X-Api-Key": fixture.testKey, "Idempotency-Key": "8e1b8b9c-2a4d-4e9f-9b1c-7e2f8a4c2b3d",
                                    "Content-Type": "application/json"]
        let body = Array(#"{"amount":100}"#.utf8)
        let responses = await withTaskGroup(of: Response.self) { group in
            for _ in 0..<50 { group.addTask { await fixture.client.send(.post, "/v1/probe/charge", headers: headers, body: body) } }
            var all: [Response] = []
            for await response in group { all.append(response) }
            return all
        }
        #expect(fixture.executions.current == 1)
        #expect(Set(responses.map(\.status)) == [201])
        #expect(Set(responses.map(\.bodyText)).count == 1)
        #expect(responses.filter { $0.headers["Idempotent-Replayed"] == "true" }.count == 49)

        var changed = headers
        changed.set("Content-Type", "application/json")
        let conflict = await fixture.client.send(.post, "/v1/probe/charge", headers: changed, body: Array(#"{"amount":200}"#.utf8))
        #expect(conflict.status == 409)
        #expect(conflict.bodyJSON?["error"] == "IDEMPOTENCY_CONFLICT")

        // The same key under another credential is another scope.
        var otherKey = headers
        otherKey.set("X-Api-Key", fixture.liveKey)
        #expect(await fixture.client.send(.post, "/v1/probe/charge", headers: otherKey, body: body).status == 201)
        #expect(fixture.executions.current == 2)

        // After 24 hours the key is forgotten and runs again.
        fixture.clock.advance(seconds: 24 * 3600 + 1)
        let fresh = await fixture.client.send(.post, "/v1/probe/charge", headers: headers, body: body)
        #expect(fresh.headers["Idempotent-Replayed"] == nil)
        #expect(fixture.executions.current == 3)
        #expect(try await fixture.idempotency.purgeExpired() >= 1)
    }

    @Test func idempotencyKeysLongerThan255AreRejected() async throws {
        let fixture = try await AuthFixture.make()
        let response = await fixture.client.send(.post, "/v1/probe/charge",
            headers: ["X-Api-Key": fixture.testKey, "Idempotency-Key": String(repeating: "k", count: 256)], json: ["a": 1])
        #expect(response.status == 400)
        #expect(response.bodyJSON?["details"]?["field"] == "Idempotency-Key")
        #expect(fixture.executions.current == 0)
    }

    @Test func auditTrailRecordsRequestsAndFailuresWithoutSecrets() async throws {
        let fixture = try await AuthFixture.make()
        _ = await fixture.get("/v1/probe/read", key: fixture.testKey)
        _ = await fixture.get("/v1/probe/read", key: "sk_test_" + String(repeating: "f", count: 48))
        let listing = await fixture.get("/v1/audit-log?limit=50", key: fixture.testKey)
        #expect(listing.status == 200)
        let entries = listing.bodyJSON?["data"]?.arrayValue ?? []
        #expect(entries.contains { $0["event"] == "request" && $0["route"] == "/v1/probe/read" && $0["status"] == 200 })
        #expect(!listing.bodyText.contains(fixture.testKey))
        let failures = try await fixture.database.query("SELECT * FROM auth_audit_log WHERE event = 'auth.failed'")
        #expect(failures.count == 1)
        #expect(failures.first?.text("credential_fingerprint")?.count == 12)
        let everything = try await fixture.database.query("SELECT detail::text AS d, credential_fingerprint FROM auth_audit_log")
        // Details carry at most the display prefix (e.g. "sk_test_ab12"), never a whole secret.
        #expect(!everything.contains { ($0.text("d") ?? "").contains(fixture.testKey) })
        #expect(!everything.contains { ($0.text("d") ?? "").contains(String(fixture.testKey.dropFirst(12))) })
        let badLimit = await fixture.get("/v1/audit-log?limit=500", key: fixture.testKey)
        #expect(badLimit.status == 400)
        #expect(badLimit.bodyJSON?["details"]?["field"] == "limit")
    }

    @Test func roleKeysWorkOnlyOnTheRoundingSurfaceWithRoles() async throws {
        let fixture = try await AuthFixture.make()
        let admin = try await fixture.auth.createRoleKey(merchantId: fixture.merchantId, mode: .test, role: "admin")
        let auditor = try await fixture.auth.createRoleKey(merchantId: fixture.merchantId, mode: .test, role: "auditor")
        #expect(admin.secret.hasPrefix("centsless_admin_"))
        #expect(auditor.secret.hasPrefix("centsless_"))
        let issued = await fixture.client.send(.post, "/api/v1/admin/api-keys", headers: ["x-api-key": admin.secret],
                                               json: ["role": "merchant"])
        #expect(issued.status == 201)
        let denied = await fixture.client.send(.post, "/api/v1/admin/api-keys", headers: ["x-api-key": auditor.secret],
                                               json: ["role": "merchant"])
        #expect(denied.status == 403)
        #expect(denied.bodyJSON == ["error": "FORBIDDEN", "message": "Insufficient permissions for this endpoint"])
        let badRole = await fixture.client.send(.post, "/api/v1/admin/api-keys", headers: ["x-api-key": admin.secret],
                                                json: ["role": "owner"])
        #expect(badRole.status == 400)
        #expect(badRole.bodyJSON?["error"] == "VALIDATION_ERROR")
        let secretKeyOnRounding = await fixture.client.send(.get, "/api/v1/admin/access-logs", headers: ["x-api-key": fixture.testKey])
        #expect(secretKeyOnRounding.status == 401)
        #expect(secretKeyOnRounding.bodyJSON == ["error": "UNAUTHORIZED", "message": "Invalid or missing API key"])
        let roleKeyOnCommerce = await fixture.get("/v1/probe/read", key: auditor.secret)
        #expect(roleKeyOnCommerce.status == 401)
        let auditorReads = await fixture.client.send(.get, "/api/v1/admin/access-logs", headers: ["x-api-key": auditor.secret])
        #expect(auditorReads.status == 200)
        let revokedId = try #require(issued.bodyJSON?["id"]?.stringValue)
        let revoke = await fixture.client.send(.delete, "/api/v1/admin/api-keys/\(revokedId)", headers: ["x-api-key": admin.secret])
        #expect(revoke.status == 200)
    }
}
