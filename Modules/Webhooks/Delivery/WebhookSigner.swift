import Foundation
import Kernel

/// Endpoint secrets and delivery signatures.
///
/// A secret is `whsec_` + standard base64 of 32 random bytes, so the one secret serves both schemes:
/// `Atlas-Signature` (Commerce §7) keys HMAC-SHA256 with the secret string's UTF-8 bytes, as documented;
/// Standard Webhooks v1 keys it with the base64-decoded bytes after `whsec_`, as its libraries do.
/// During a rotation both the new and the previous secret sign, so receivers can switch within 24 h.
struct WebhookSigner: Sendable {
    static let secretPrefix = "whsec_"
    static let secretRandomBytes = 32

    let crypto: any CryptoService

    func newSecret() -> String {
        Self.secretPrefix + Data(crypto.randomBytes(count: Self.secretRandomBytes)).base64EncodedString()
    }

    /// `t=<unix>,v1=<hex>[,v1=<hex>]`: HMAC-SHA256(secret, "<t>.<body>") per live secret.
    func atlasSignature(secrets: [String], timestamp: Int64, body: [UInt8]) -> String {
        precondition(!secrets.isEmpty, "at least one secret signs")
        let message = Array("\(timestamp).".utf8) + body
        let parts = secrets.map { "v1=" + Encoding.hex(crypto.hmacSHA256(key: Array($0.utf8), message: message)) }
        return (["t=\(timestamp)"] + parts).joined(separator: ",")
    }

    /// `X-Atlas-Signature` (accounting) and `x-atlas-signature` (payments): hex HMAC-SHA256(secret, raw body),
    /// keyed like `Atlas-Signature` with the secret string's UTF-8 bytes; no timestamp. During a rotation two
    /// values, comma-separated (current first).
    func bodySignature(secrets: [String], body: [UInt8]) -> String {
        precondition(!secrets.isEmpty, "at least one secret signs")
        return secrets.map { Encoding.hex(crypto.hmacSHA256(key: Array($0.utf8), message: body)) }.joined(separator: ",")
    }

    /// Standard Webhooks `webhook-signature`: space-separated `v1,<base64 HMAC(key, "<id>.<t>.<body>")>`.
    func standardSignature(secrets: [String], messageId: String, timestamp: Int64, body: [UInt8]) -> String {
        precondition(!secrets.isEmpty, "at least one secret signs")
        let message = Array("\(messageId).\(timestamp).".utf8) + body
        return secrets.map { secret in
            let key = Self.standardKey(secret)
            return "v1," + Data(crypto.hmacSHA256(key: key, message: message)).base64EncodedString()
        }.joined(separator: " ")
    }

    /// The key bytes Standard Webhooks libraries derive from a `whsec_` secret.
    static func standardKey(_ secret: String) -> [UInt8] {
        let encoded = secret.hasPrefix(secretPrefix) ? String(secret.dropFirst(secretPrefix.count)) : secret
        guard let data = Data(base64Encoded: encoded) else {
            preconditionFailure("endpoint secrets are minted as whsec_ + base64")
        }
        return Array(data)
    }
}
