import AtlasTestSupport
import Bootstrap
import Crypto
import Foundation
import Kernel
import Postgres
import Testing
@testable import Webhooks

/// Endpoint secrets: shown once even under Idempotency-Key replays, sealed with AES-256-GCM at rest, opened
/// only to sign, and re-sealed under a new key by `reencrypt-secrets`.
@Suite(.serialized) struct SecretsTests {
    static func keyring(_ ids: [String]) -> WebhookSecretKeyring {
        let crypto = OpenSSLCryptoService()
        let text = ids.map { "\($0):" + Data(crypto.randomBytes(count: 32)).base64EncodedString() }.joined(separator: ",")
        return WebhookSecretKeyring.parse(text)!
    }

    @Test func aReplayedCreateOrRotateAnswersTheSameEndpointWithTheSecretRedacted() async throws {
        let fixture = try await WebhooksFixture.make()
        defer { fixture.close() }
        let key = try await fixture.key()
        let body: JSONValue = ["url": "http://127.0.0.1:9/a"]
        let created = await fixture.send(.post, "/v1/webhook-endpoints", key: key, json: body, idempotencyKey: "create-1")
        let secret = try #require(created.bodyJSON?["secret"]?.stringValue)
        let id = try #require(created.bodyJSON?["id"]?.stringValue)
        let replayed = await fixture.send(.post, "/v1/webhook-endpoints", key: key, json: body, idempotencyKey: "create-1")
        #expect(replayed.status == 201 && replayed.headers["Idempotent-Replayed"] == "true")
        #expect(replayed.bodyJSON?["id"]?.stringValue == id && replayed.bodyJSON?["secret"] == .null)
        #expect(!replayed.bodyText.contains(secret))
        let rotated = await fixture.send(.post, "/v1/webhook-endpoints/\(id)/rotate-secret", key: key, idempotencyKey: "rotate-1")
        let newSecret = try #require(rotated.bodyJSON?["secret"]?.stringValue)
        let rotatedAgain = await fixture.send(.post, "/v1/webhook-endpoints/\(id)/rotate-secret", key: key, idempotencyKey: "rotate-1")
        #expect(rotatedAgain.status == 200 && rotatedAgain.headers["Idempotent-Replayed"] == "true")
        #expect(rotatedAgain.bodyJSON?["secret"] == .null && rotatedAgain.bodyJSON?["id"]?.stringValue == id)
        // One rotation happened: the secret the first answer showed is the one that signs.
        let stored = try #require(try await fixture.database.queryFirst("SELECT secret FROM webhooks_endpoints WHERE id = \(id)"))
        #expect(try stored.decode("secret", as: String.self) == newSecret)
        // Neither secret is in any stored idempotent answer.
        let answers = try await fixture.database.query("SELECT convert_from(response_body, 'UTF8') AS body FROM idempotency_keys")
        #expect(answers.count == 2)
        for row in answers {
            let text: String = try row.decode("body")
            #expect(!text.contains(secret) && !text.contains(newSecret) && !text.contains("whsec_"))
        }
        let missing = await fixture.send(.post, "/v1/webhook-endpoints/wh_0000000000000000000000000/rotate-secret", key: key,
                                         idempotencyKey: "rotate-2")
        #expect(missing.status == 404 && missing.bodyJSON?["error"] == "NOT_FOUND")
    }

    @Test func secretsAreSealedAtRestAndDeliveriesStillVerify() async throws {
        let fixture = try await WebhooksFixture.make { $0.secretKeys = Self.keyring(["k1"]) }
        defer { fixture.close() }
        let receiver = try WebhookReceiver()
        let key = try await fixture.key()
        let (endpointId, secret) = try await fixture.createEndpoint(url: receiver.url("/ok"), key: key)
        let row = try #require(try await fixture.database.queryFirst("SELECT secret FROM webhooks_endpoints WHERE id = \(endpointId)"))
        let stored: String = try row.decode("secret")
        #expect(stored.hasPrefix("enc1:k1:") && !stored.contains(secret.dropFirst(6)))
        try await fixture.fanOut([fixture.event()])
        #expect(try await fixture.deliverDue(fixture.worker) == 1)
        #expect(try receiver.verifyAll(secret: secret).hasPrefix("PASS 1"))
    }

    @Test func aSecretUnderAMissingKeyFailsItsAttemptWithoutNamingTheSecret() async throws {
        let fixture = try await WebhooksFixture.make { $0.secretKeys = Self.keyring(["old"]) }
        defer { fixture.close() }
        let receiver = try WebhookReceiver()
        let key = try await fixture.key()
        let (endpointId, secret) = try await fixture.createEndpoint(url: receiver.url("/ok"), key: key)
        // The same database, read by a module whose ring lacks "old".
        let other = WebhooksModule(settings: { var s = WebhooksSettings(); s.secretKeys = Self.keyring(["new"]); return s }(),
                                   client: fixture.http)
        try await fixture.fanOut([fixture.event()])
        let worker = other.deliveryWorker(services: fixture.application.services, client: fixture.http)
        #expect(try await fixture.deliverDue(worker) == 1)
        #expect(try receiver.requests().isEmpty)
        let delivery = try #require(try await fixture.deliveryRow(endpointId: endpointId))
        let error: String = try delivery.decode("last_error")
        let status: String = try delivery.decode("status")
        #expect(error.contains("\"old\"") && !error.contains(secret) && status == "pending")
    }

    @Test func reencryptionMovesEverySecretToTheFirstKey() async throws {
        let old = Self.keyring(["old"])
        let fixture = try await WebhooksFixture.make { $0.secretKeys = old }
        defer { fixture.close() }
        let receiver = try WebhookReceiver()
        let key = try await fixture.key()
        let (endpointId, secret) = try await fixture.createEndpoint(url: receiver.url("/ok"), key: key)
        _ = await fixture.send(.post, "/v1/webhook-endpoints/\(endpointId)/rotate-secret", key: key)
        let ring = WebhookSecretKeyring(keys: Self.keyring(["new"]).keys + old.keys)
        let sealer = SecretSealer(keyring: ring, crypto: fixture.application.services.crypto)
        let store = EndpointStore(database: fixture.database)
        #expect(try await store.reencryptSecrets(sealer: sealer, batchMax: 1) == 1)
        #expect(try await store.reencryptSecrets(sealer: sealer, batchMax: 1) == 0)
        let row = try #require(try await fixture.database.queryFirst("""
            SELECT secret, previous_secret FROM webhooks_endpoints WHERE id = \(endpointId)
            """))
        #expect(try row.decode("secret", as: String.self).hasPrefix("enc1:new:"))
        #expect(try row.decode("previous_secret", as: String.self).hasPrefix("enc1:new:"))
        // The previous secret (still signing for a day) opens under the new key alone.
        let newOnly = SecretSealer(keyring: WebhookSecretKeyring(keys: Array(ring.keys.prefix(1))), crypto: sealer.crypto)
        #expect(try newOnly.open(try row.decode("previous_secret"), endpointId: endpointId) == secret)
    }

    @Test func sealerRefusesCopiesAndParsesOnlyWellFormedRings() throws {
        let crypto = OpenSSLCryptoService()
        let sealer = SecretSealer(keyring: Self.keyring(["a"]), crypto: crypto)
        let sealed = try sealer.seal("whsec_abc", endpointId: "wh_1")
        #expect(try sealer.open(sealed, endpointId: "wh_1") == "whsec_abc")
        #expect(throws: SecretSealError.corrupt) { try sealer.open(sealed, endpointId: "wh_2") }
        #expect(try sealer.open("whsec_clear", endpointId: "wh_1") == "whsec_clear")
        #expect(try SecretSealer(keyring: nil, crypto: crypto).seal("whsec_abc", endpointId: "wh_1") == "whsec_abc")
        let key = Data(crypto.randomBytes(count: 32)).base64EncodedString()
        #expect(WebhookSecretKeyring.parse("k1:\(key),k0:\(key)")?.keys.map(\.id) == ["k1", "k0"])
        for bad in ["", "k1", "k1:\(key),k1:\(key)", "k 1:\(key)", "k1:c2hvcnQ=", "toolongkeyidentifier1:\(key)"] {
            #expect(WebhookSecretKeyring.parse(bad) == nil, "\(bad.prefix(8))")
        }
    }
}
