import AtlasTestSupport
import Foundation
import Kernel
import Testing
@testable import Webhooks

/// `/v1/webhook-endpoints` through the real router, access guard and database.
@Suite struct EndpointsAPITests {
    @Test func createShowsTheSecretOnceThenNever() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let key = try await fixture.key()
        let created = await fixture.send(.post, "/v1/webhook-endpoints", key: key, json: [
            "url": "https://127.0.0.1:4443/hooks", "eventTypes": ["transaction.settled"], "description": "till 1",
        ])
        #expect(created.status == 201)
        let json = try #require(created.bodyJSON)
        let id = try #require(json["id"]?.stringValue)
        #expect(TypedID(rawValue: id).matches(.webhook))
        let secret = try #require(json["secret"]?.stringValue)
        #expect(secret.hasPrefix("whsec_") && WebhookSigner.standardKey(secret).count >= 24)
        #expect(json["eventTypes"] == ["transaction.settled"] && json["status"] == "enabled" && json["livemode"] == false)
        let fetched = await fixture.send(.get, "/v1/webhook-endpoints/\(id)", key: key)
        #expect(fetched.status == 200 && fetched.bodyJSON?["secret"] == nil && fetched.bodyJSON?["url"] == "https://127.0.0.1:4443/hooks")
        let listed = await fixture.send(.get, "/v1/webhook-endpoints", key: key)
        let fetchedJSON = try #require(fetched.bodyJSON)
        #expect(listed.status == 200 && listed.bodyJSON?["data"] == .array([fetchedJSON]))
        #expect(!listed.bodyText.contains(secret) && !fetched.bodyText.contains(secret))
    }

    @Test func updateRotateDisableEnableDelete() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let key = try await fixture.key()
        let (id, secret) = try await fixture.createEndpoint(url: "http://127.0.0.1:9/a", key: key)
        let updated = await fixture.send(.patch, "/v1/webhook-endpoints/\(id)", key: key,
                                         json: ["url": "http://127.0.0.1:9/b", "eventTypes": ["*"], "description": .null])
        #expect(updated.status == 200 && updated.bodyJSON?["url"] == "http://127.0.0.1:9/b")
        #expect(updated.bodyJSON?["eventTypes"] == ["*"] && updated.bodyJSON?["description"] == .null)
        let rotated = await fixture.send(.post, "/v1/webhook-endpoints/\(id)/rotate-secret", key: key)
        let newSecret = try #require(rotated.bodyJSON?["secret"]?.stringValue)
        #expect(rotated.status == 200 && newSecret != secret && newSecret.hasPrefix("whsec_"))
        let expires = try #require(rotated.bodyJSON?["previousSecretExpiresAt"]?.stringValue)
        #expect(Timestamp.parseISO8601(expires) == Date(timeIntervalSince1970: (fixture.clock.now().timeIntervalSince1970 + 86_400).rounded(.down)))
        let disabled = await fixture.send(.post, "/v1/webhook-endpoints/\(id)/disable", key: key)
        #expect(disabled.status == 200 && disabled.bodyJSON?["status"] == "disabled")
        let test = await fixture.send(.post, "/v1/webhook-endpoints/\(id)/test", key: key)
        #expect(test.status == 409 && test.bodyJSON?["error"] == "ENDPOINT_DISABLED")
        let enabled = await fixture.send(.post, "/v1/webhook-endpoints/\(id)/enable", key: key)
        #expect(enabled.status == 200 && enabled.bodyJSON?["status"] == "enabled")
        let deleted = await fixture.send(.delete, "/v1/webhook-endpoints/\(id)", key: key)
        #expect(deleted.status == 200 && deleted.bodyJSON?["deleted"] == true)
        let gone = await fixture.send(.get, "/v1/webhook-endpoints/\(id)", key: key)
        #expect(gone.status == 404 && gone.bodyJSON?["error"] == "NOT_FOUND" && gone.bodyJSON?["requestId"] != nil)
    }

    @Test func listPages() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let key = try await fixture.key()
        var ids: [String] = []
        for index in 0..<3 {
            ids.append(try await fixture.createEndpoint(url: "http://127.0.0.1:9/\(index)", key: key).id)
            fixture.clock.advance(seconds: 1)
        }
        let first = await fixture.send(.get, "/v1/webhook-endpoints?limit=2", key: key)
        #expect(first.bodyJSON?["hasMore"] == true)
        let cursor = try #require(first.bodyJSON?["nextCursor"]?.stringValue)
        let second = await fixture.send(.get, "/v1/webhook-endpoints?limit=2&cursor=\(cursor)", key: key)
        #expect(second.bodyJSON?["hasMore"] == false && second.bodyJSON?["nextCursor"] == .null)
        guard case .array(let page1)? = first.bodyJSON?["data"], case .array(let page2)? = second.bodyJSON?["data"] else {
            Issue.record("pages are arrays")
            return
        }
        #expect((page1 + page2).compactMap { $0["id"]?.stringValue } == ids.reversed())
    }

    static let badBodies: [(JSONValue, String, String)] = {
        let url: JSONValue = "http://127.0.0.1:9/x"
        let longDescription = JSONValue.string(String(repeating: "d", count: 501))
        var bodies: [(JSONValue, String, String)] = []
        bodies.append((JSONValue.object([:]), "MISSING_FIELD", "url"))
        bodies.append((JSONValue.object(["url": .int(5)]), "INVALID_REQUEST", "url"))
        bodies.append((JSONValue.object(["url": .string("not a url")]), "INVALID_REQUEST", "url"))
        bodies.append((JSONValue.object(["url": .string("ftp://example.com/x")]), "INVALID_REQUEST", "url"))
        bodies.append((JSONValue.object(["url": url, "eventTypes": .array([])]), "INVALID_REQUEST", "eventTypes"))
        bodies.append((JSONValue.object(["url": url, "eventTypes": .array([.string("Bad Type")])]), "INVALID_REQUEST", "eventTypes"))
        bodies.append((JSONValue.object(["url": url, "eventTypes": .string("transaction.settled")]), "INVALID_REQUEST", "eventTypes"))
        bodies.append((JSONValue.object(["url": url, "description": longDescription]), "INVALID_REQUEST", "description"))
        return bodies
    }()

    @Test(arguments: badBodies)
    func badInputsAreDocumented400s(_ body: JSONValue, _ code: String, _ field: String) async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let key = try await fixture.key()
        let response = await fixture.send(.post, "/v1/webhook-endpoints", key: key, json: body)
        #expect(response.status == 400)
        #expect(response.bodyJSON?["error"]?.stringValue == code)
        #expect(response.bodyJSON?["details"]?["field"]?.stringValue == field)
        #expect(response.bodyJSON?["requestId"] != nil)
        let count = try await fixture.database.queryFirst("SELECT count(*) AS n FROM webhooks_endpoints")
        #expect(try count?.decode("n", as: Int.self) == 0)
    }

    @Test func malformedJSONAndBadIdsAndPaging() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let key = try await fixture.key()
        var headers = HTTPHeaders()
        headers.add("X-Api-Key", key)
        headers.add("Content-Type", "application/json")
        let malformed = await fixture.client.send(.post, "/v1/webhook-endpoints", headers: headers, body: Array("{".utf8))
        #expect(malformed.status == 400 && malformed.bodyJSON?["error"] == "INVALID_REQUEST")
        #expect(await fixture.send(.get, "/v1/webhook-endpoints/nope", key: key).status == 404)
        #expect(await fixture.send(.get, "/v1/webhook-endpoints?limit=0", key: key).status == 400)
        #expect(await fixture.send(.get, "/v1/webhook-endpoints?cursor=bad", key: key).status == 400)
        #expect(await fixture.send(.post, "/v1/webhook-endpoints/wh_01JQABC1234567890123456789/rotate-secret", key: key).status == 404)
    }

    /// The SSRF guard at save time, with the production configuration (no allow-list).
    @Test(arguments: ["http://127.0.0.1/x", "http://[::1]/x", "http://10.1.2.3/x", "http://169.254.169.254/latest/meta-data",
                      "http://localhost/x", "http://192.168.1.10/x", "http://[fd00:ec2::254]/"])
    func internalDestinationsAreRefusedWhenSaved(_ url: String) async throws {
        let fixture = try await WebhooksFixture.make(allowLoopback: false)
        defer { fixture.close() }
        let response = await fixture.send(.post, "/v1/webhook-endpoints", key: try await fixture.key(), json: ["url": .string(url)])
        #expect(response.status == 400)
        #expect(response.bodyJSON?["details"]?["field"] == "url" && response.bodyJSON?["details"]?["constraint"] == "destination")
    }

    @Test func liveEndpointsNeedHTTPS() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let live = try await fixture.key(mode: .live)
        let refused = await fixture.send(.post, "/v1/webhook-endpoints", key: live, json: ["url": "http://127.0.0.1:9/x"])
        #expect(refused.status == 400 && refused.bodyJSON?["details"]?["constraint"] == "https")
        let accepted = await fixture.send(.post, "/v1/webhook-endpoints", key: live, json: ["url": "https://127.0.0.1:9/x"])
        #expect(accepted.status == 201 && accepted.bodyJSON?["livemode"] == true)
    }

    @Test func accessAndIsolation() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let key = try await fixture.key()
        let (id, _) = try await fixture.createEndpoint(url: "http://127.0.0.1:9/x", key: key)
        let anonymous = await fixture.send(.get, "/v1/webhook-endpoints", key: nil)
        #expect(anonymous.status == 401 && anonymous.bodyJSON?["error"] == "UNAUTHORIZED")
        let readOnly = try await fixture.key(scopes: ["transactions:read"])
        let forbidden = await fixture.send(.get, "/v1/webhook-endpoints", key: readOnly)
        #expect(forbidden.status == 403 && forbidden.bodyJSON?["error"] == "FORBIDDEN")
        // Another merchant, and the live mode of the same merchant, see nothing of it.
        for other in [try await fixture.key(merchant: fixture.otherMerchantId), try await fixture.key(mode: .live)] {
            #expect(await fixture.send(.get, "/v1/webhook-endpoints/\(id)", key: other).status == 404)
            #expect(await fixture.send(.delete, "/v1/webhook-endpoints/\(id)", key: other).status == 404)
            #expect(await fixture.send(.get, "/v1/webhook-endpoints", key: other).bodyJSON?["data"] == .array([]))
        }
    }
}
