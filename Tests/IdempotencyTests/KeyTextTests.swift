import Kernel
import Testing
@testable import Idempotency

/// The pieces of text the key statements are built from.
@Suite struct KeyTextTests {
    /// A scope is `merchant|mode|principal|terminal`; its first two parts name the tenant, as a split on `|` did.
    @Test func aScopesTenantIsItsFirstTwoParts() {
        let scopes = ["mer_1|live|key_1|-", "mer_1|test", "mer_é|test|p|t|x", "a||x", "|live|x", "nobar", "", "m|"]
        for scope in scopes {
            let parts = scope.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
            let expected = parts.count >= 2 ? (String(parts[0]), String(parts[1])) : ("-", "test")
            let tenant = PostgresIdempotencyStore.tenant(of: scope)
            #expect(tenant.merchantId == expected.0 && tenant.mode == expected.1, "\(scope)")
        }
    }

    /// The usual headers' constant text is what serializing them writes; other sets are serialized.
    @Test func storedHeadersAreTheirJSON() {
        for headers in [["Content-Type": "application/json"], ["Content-Type": "text/csv"],
                        ["Content-Type": "application/json", "Location": "/v1/x"], [:]] {
            let serialized = String(decoding: JSONValue.object(headers.mapValues { .string($0) }).serialized(), as: UTF8.self)
            #expect(PostgresIdempotencyStore.headersJSON(headers) == serialized)
        }
    }
}
