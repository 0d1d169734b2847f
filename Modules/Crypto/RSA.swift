import COpenSSL

/// Accepted RSA sizes. 2048 bits is the floor (NIST SP 800-57: below it is disallowed);
/// 8192 is a ceiling so a hostile PEM or JWKS cannot make us do enormous modular arithmetic.
public enum RSAKeySize {
    public static let bitsMinimum = 2048
    public static let bitsMaximum = 8192

    static func check(_ bits: Int) throws {
        guard (bitsMinimum...bitsMaximum).contains(bits) else { throw CryptoError.unsupportedKeySize(bits: bits) }
    }
}

/// An RSA private key, for RS256 (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3) signatures.
public struct RSAPrivateKey: Sendable {
    let key: EVPKey

    /// Loads PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`) PEM. Encrypted
    /// PEMs are rejected. Throws `CryptoError.invalidPEM`, `.wrongKeyType` or `.unsupportedKeySize`.
    public init(pem: String) throws {
        let key = try EVPKey.privateKey(pem: pem, expected: "RSA private key (PKCS#8 or PKCS#1)")
        try Self.checkRSA(key)
        self.key = key
    }

    init(checked key: EVPKey) { self.key = key }

    /// Generates a new key with public exponent 65537.
    public static func generate(bits: Int = RSAKeySize.bitsMinimum) throws -> RSAPrivateKey {
        try RSAKeySize.check(bits)
        let key = try EVPKey.generate(algorithm: "RSA") { context in
            EVP_PKEY_CTX_set_rsa_keygen_bits(context, Int32(bits))
        }
        return RSAPrivateKey(checked: key)
    }

    static func checkRSA(_ key: EVPKey) throws {
        guard key.isA("RSA") else { throw CryptoError.wrongKeyType(expected: "RSA") }
        try RSAKeySize.check(key.bits)
    }

    public var bits: Int { key.bits }

    /// The matching public key (shares the same underlying OpenSSL object).
    public var publicKey: RSAPublicKey { RSAPublicKey(checked: key) }

    /// Unencrypted PKCS#8 PEM. Treat the result as a secret.
    public func pkcs8PEM() throws -> String { try key.privatePKCS8PEM() }

    /// RS256 signature: deterministic, `bits / 8` bytes long.
    public func signRS256(_ message: [UInt8]) throws -> [UInt8] {
        try DigestSignature.sign(message, with: key)
    }
}

/// An RSA public key, for RS256 verification and JWKS publication.
public struct RSAPublicKey: Sendable {
    let key: EVPKey

    /// Loads a SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`) PEM.
    public init(pem: String) throws {
        let key = try EVPKey.publicKey(pem: pem, expected: "RSA public key (SubjectPublicKeyInfo)")
        try RSAPrivateKey.checkRSA(key)
        self.key = key
    }

    init(checked key: EVPKey) { self.key = key }

    public var bits: Int { key.bits }

    public func spkiPEM() throws -> String { try key.publicSPKIPEM() }

    /// True only for a valid RS256 signature of `message` under this key.
    public func isValidRS256Signature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard signature.count == Int(EVP_PKEY_get_size(key.pointer)) else { return false }
        return DigestSignature.verify(signature, for: message, with: key)
    }

    /// Big-endian modulus and exponent without leading zeros: base64url them for JWK `n` and `e`.
    public func components() throws -> (modulus: [UInt8], exponent: [UInt8]) {
        (try key.bigNumberParameter(OSSL_PKEY_PARAM_RSA_N), try key.bigNumberParameter(OSSL_PKEY_PARAM_RSA_E))
    }
}
