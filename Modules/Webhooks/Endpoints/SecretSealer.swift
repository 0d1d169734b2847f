import Foundation
import Kernel

/// The keys that encrypt endpoint signing secrets at rest (`ATLAS_WEBHOOK_SECRET_KEYS`, read by the bootstrap).
///
/// WHY a ring, not one key: rotation. The first key seals every secret written from now on; every key in
/// the ring opens. To rotate, put a new key first and keep the old ones, run `atlas admin webhooks
/// reencrypt-secrets` (it re-seals every stored secret under the first key), then drop the old keys.
public struct WebhookSecretKeyring: Sendable {
    public struct Key: Sendable {
        /// Stored beside each ciphertext, so the ring knows which key opens it: 1 to 16 of [A-Za-z0-9_-].
        public let id: String
        /// 32 bytes (AES-256).
        let bytes: [UInt8]
    }

    /// At most this many keys (old ones are dropped after a re-encryption).
    public static let keysMax = 8
    public static let keyIdLengthMax = 16

    public let keys: [Key]

    /// `id:base64(32 bytes)[,id:base64…]`, the sealing key first; nil when malformed (the caller names the
    /// variable; the text, which holds key material, is never echoed).
    public static func parse(_ text: String) -> WebhookSecretKeyring? {
        var keys: [Key] = []
        for item in text.split(separator: ",") {
            let parts = item.trimmingCharacters(in: .whitespaces).split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, isKeyId(parts[0]), !keys.contains(where: { $0.id == parts[0] }),
                  let bytes = Data(base64Encoded: parts[1]), bytes.count == 32 else { return nil }
            keys.append(Key(id: parts[0], bytes: Array(bytes)))
        }
        guard !keys.isEmpty, keys.count <= keysMax else { return nil }
        return WebhookSecretKeyring(keys: keys)
    }

    static func isKeyId(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= keyIdLengthMax && text.utf8.allSatisfy {
            (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 45 || $0 == 95
        }
    }
}

/// Why a stored secret could not be opened; says which key, never anything of the secret.
enum SecretSealError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Sealed under a key id the ring does not hold (dropped too early, or the variable is unset).
    case keyUnavailable(String)
    /// The ciphertext does not open under its key (altered, or copied from another endpoint).
    case corrupt
    case sealingFailed

    var description: String {
        switch self {
        case .keyUnavailable(let id): "the webhook secret key \"\(id)\" is not configured (ATLAS_WEBHOOK_SECRET_KEYS)"
        case .corrupt: "a stored webhook secret does not decrypt"
        case .sealingFailed: "a webhook secret could not be encrypted"
        }
    }
}

/// Seals endpoint secrets for the `secret`/`previous_secret` columns and opens them to sign.
///
/// Stored form: `enc1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`, AES-256-GCM with the endpoint id as
/// associated data (a ciphertext copied onto another endpoint does not open). Without a keyring, secrets are
/// stored as they are (`whsec_…`): development and tests; `atlas serve` warns. A `whsec_` value is always read
/// as clear text, so rows written before a keyring was configured keep working until re-encrypted.
struct SecretSealer: Sendable {
    static let sealedPrefix = "enc1:"

    let keyring: WebhookSecretKeyring?
    let crypto: any CryptoService

    func seal(_ secret: String, endpointId: String) throws(SecretSealError) -> String {
        guard let key = keyring?.keys.first else { return secret }
        guard let box = try? crypto.sealAES256GCM(key: key.bytes, plaintext: Array(secret.utf8),
                                                  associatedData: Array(endpointId.utf8)) else { throw .sealingFailed }
        return Self.sealedPrefix + key.id + ":" + Data(box).base64EncodedString()
    }

    func open(_ stored: String, endpointId: String) throws(SecretSealError) -> String {
        guard stored.hasPrefix(Self.sealedPrefix) else { return stored }
        let parts = stored.dropFirst(Self.sealedPrefix.count).split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let box = Data(base64Encoded: parts[1]) else { throw .corrupt }
        guard let key = keyring?.keys.first(where: { $0.id == parts[0] }) else { throw .keyUnavailable(parts[0]) }
        guard let plaintext = crypto.openAES256GCM(key: key.bytes, sealed: Array(box), associatedData: Array(endpointId.utf8)),
              let secret = String(validating: plaintext, as: UTF8.self) else { throw .corrupt }
        return secret
    }

    /// The start of every value sealed under the ring's first key (nil without a ring): re-encryption
    /// rewrites the values that lack it.
    var sealingPrefix: String? { keyring?.keys.first.map { Self.sealedPrefix + $0.id + ":" } }
}
