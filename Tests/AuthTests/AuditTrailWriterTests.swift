import Foundation
import Kernel
import Testing
@testable import Auth

/// The audit flush serializes rows by hand; every field must arrive exactly, whatever its characters.
@Suite struct AuditTrailWriterTests {
    @Test func hostileTextMicrosecondTimesAndNullsRoundTripThroughTheFlush() async throws {
        let fixture = try await AuthFixture.make()
        await fixture.auth.audit.flush()
        let hostile = "quote\" backslash\\ newline\n tab\t bell\u{07} del\u{7F} é 日本 👋🏽 '; DROP TABLE x; --"
        let occurredAt = Date(timeIntervalSince1970: 1_790_000_000.123456)
        let requestId = "req_" + UUID().uuidString
        await fixture.auth.audit.record(AuditEntry(
            merchantId: fixture.merchantId, mode: .test, occurredAt: occurredAt, event: "writer.test",
            principalKind: nil, principalId: hostile, credentialFingerprint: nil, ip: "::1", method: "POST",
            route: hostile, status: 418, requestId: requestId, detail: ["code": .string(hostile), "n": .int(7)]))
        await fixture.auth.audit.flush()
        let row = try #require(try await fixture.database.queryFirst("""
            SELECT principal_id, principal_kind, route, status, mode, detail->>'code' AS code, (detail->>'n')::int8 AS n,
                   (extract(epoch FROM occurred_at) * 1000000)::int8 AS at_us
            FROM auth_audit_log WHERE request_id = \(requestId)
            """))
        #expect(row.text("principal_id") == hostile)
        #expect(row.text("route") == hostile)
        #expect(row.text("code") == hostile)
        #expect(row.text("principal_kind") == nil)
        #expect(try row.decode("status", as: Int.self) == 418)
        #expect(row.text("mode") == "test")
        #expect(try row.decode("n", as: Int.self) == 7)
        #expect(try row.decode("at_us", as: Int64.self) == 1_790_000_000_123_456)
    }

    @Test func aLargeBatchLosesNoEntries() async throws {
        let fixture = try await AuthFixture.make()
        let marker = "batch-" + UUID().uuidString
        for index in 0..<(AuditTrail.batchSizeMax * 2 + 7) {
            await fixture.auth.audit.record(AuditEntry(
                merchantId: fixture.merchantId, mode: .live, occurredAt: Date(), event: "writer.batch",
                principalKind: "api_key", principalId: "\(index)", credentialFingerprint: "fp", ip: nil, method: nil,
                route: marker, status: nil, requestId: nil, detail: nil))
        }
        await fixture.auth.audit.flush()
        let row = try #require(try await fixture.database.queryFirst(
            "SELECT count(DISTINCT principal_id) AS n FROM auth_audit_log WHERE route = \(marker)"))
        #expect(try row.decode("n", as: Int.self) == AuditTrail.batchSizeMax * 2 + 7)
    }
}
