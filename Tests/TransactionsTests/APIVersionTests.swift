import AccessContract
import Auth
import Foundation
import Kernel
import Testing
@testable import Transactions

/// Spec §9 and A43: `Atlas-API-Version` accepted and echoed, the merchant's default when absent, an unknown
/// version refused before anything runs, and a deprecated version's answers carrying Deprecation and Sunset.
@Suite struct APIVersionTests {
    static let sale: JSONValue = ["type": "SALE", "amount": 1200, "currency": "NZD"]
    static let sunset = "Fri, 09 Apr 2027 00:00:00 GMT"

    func sale(_ fixture: TransactionFixture, version: String?) async -> Response {
        var headers = HTTPHeaders()
        headers.add("X-Api-Key", fixture.testKey)
        if let version { headers.add("Atlas-API-Version", version) }
        return await fixture.client.send(.post, "/v1/transaction/sale", headers: headers, json: Self.sale)
    }

    @Test func versionIsEchoedAndDeprecatedVersionsAnnounceTheirSunset() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let plain = await sale(fixture, version: nil)
        #expect(plain.status == 200)
        #expect(plain.headers["Atlas-API-Version"] == "2026-04-09")
        #expect(plain.headers["Sunset"] == nil)
        let pinned = await sale(fixture, version: "2026-04-09")
        #expect(pinned.headers["Atlas-API-Version"] == "2026-04-09")
        let old = await sale(fixture, version: "2026-03-01")
        #expect(old.status == 200)
        #expect(old.headers["Atlas-API-Version"] == "2026-03-01")
        #expect(old.headers["Deprecation"] == "@1775692800")
        #expect(old.headers["Sunset"] == Self.sunset)
        // Errors carry the version too.
        var headers = HTTPHeaders()
        headers.add("X-Api-Key", fixture.testKey)
        headers.add("Atlas-API-Version", "2026-03-01")
        let missing = await fixture.client.send(.get, "/v1/transaction/txn_01JQXYZ0000000000000000000", headers: headers)
        #expect(missing.status == 404)
        #expect(missing.headers["Atlas-API-Version"] == "2026-03-01")
        #expect(missing.headers["Sunset"] == Self.sunset)
        // Only the Commerce API is versioned this way.
        let payments = await fixture.client.send(.get, "/functions/v1/sessions/sess_01JQXYZ0000000000000000000",
                                                 headers: ["Authorization": "Bearer \(fixture.testKey)", "Atlas-API-Version": "2026-04-09"])
        #expect(payments.headers["Atlas-API-Version"] == nil)
    }

    @Test(arguments: ["2025-01-01", "latest", "", String(repeating: "9", count: 5_000)])
    func unknownVersionsAreRefusedBeforeAnythingRuns(version: String) async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        let refused = await sale(fixture, version: version)
        #expect(refused.status == 400)
        #expect(refused.errorCode == "INVALID_API_VERSION")
        #expect(refused.json["details"]?["field"] == "Atlas-API-Version")
        #expect(refused.string("message")?.contains("2026-04-09") == true)
        #expect(refused.string("requestId") != nil)
        #expect(try await fixture.transactionCount() == 0)
    }

    @Test func merchantDefaultAppliesWhenTheHeaderIsAbsent() async throws {
        let fixture = try await TransactionFixture.make()
        defer { fixture.close() }
        #expect(try await fixture.auth.setMerchantAPIVersion(merchantId: fixture.merchantId, version: .v2026_03_01))
        let defaulted = await sale(fixture, version: nil)
        #expect(defaulted.headers["Atlas-API-Version"] == "2026-03-01")
        #expect(defaulted.headers["Sunset"] == Self.sunset)
        let overridden = await sale(fixture, version: "2026-04-09")
        #expect(overridden.headers["Atlas-API-Version"] == "2026-04-09")
        #expect(overridden.headers["Sunset"] == nil)
        #expect(try await fixture.auth.setMerchantAPIVersion(merchantId: fixture.merchantId, version: nil))
        #expect(await sale(fixture, version: nil).headers["Atlas-API-Version"] == "2026-04-09")
        #expect(try await !fixture.auth.setMerchantAPIVersion(merchantId: "mer_missing", version: nil))
    }

    @Test func versionsOrderByDate() {
        #expect(APIVersion.v2026_03_01 < .v2026_04_09)
        #expect(CommerceAPIVersions.released.max() == CommerceAPIVersions.current)
        #expect(CommerceAPIVersions.version("2026-03-01") == .v2026_03_01)
        #expect(CommerceAPIVersions.version("2026-3-1") == nil)
    }
}
