import Crypto
import Foundation
import Kernel
import Testing
@testable import Webhooks

@Suite struct WebhookSignerTests {
    let signer = WebhookSigner(crypto: OpenSSLCryptoService())

    @Test func secretsAreWhsecAndThirtyTwoRandomBytes() throws {
        let secret = signer.newSecret()
        #expect(secret.hasPrefix("whsec_"))
        #expect(WebhookSigner.standardKey(secret).count == 32)
        #expect(signer.newSecret() != secret)
    }

    /// An independent HMAC: the message is "<t>.<body>", keyed with the secret's UTF-8 bytes.
    @Test func atlasSignatureMatchesAnIndependentHMAC() throws {
        let crypto = OpenSSLCryptoService()
        let body = Array(#"{"id":"evt_1"}"#.utf8)
        let header = signer.atlasSignature(secrets: ["whsec_a", "whsec_b"], timestamp: 1_712_572_462, body: body)
        let expectedA = Encoding.hex(crypto.hmacSHA256(key: Array("whsec_a".utf8), message: Array("1712572462.".utf8) + body))
        let expectedB = Encoding.hex(crypto.hmacSHA256(key: Array("whsec_b".utf8), message: Array("1712572462.".utf8) + body))
        #expect(header == "t=1712572462,v1=\(expectedA),v1=\(expectedB)")
    }
}
