public import Kernel
import Synchronization

/// Kernel's `CryptoService` over OpenSSL 3: the app builds one and hands it to feature modules.
///
/// Non-throwing requirements (`sha256`, `hmacSHA256`, `randomBytes`) stop the process if OpenSSL
/// itself is broken, because returning wrong digests or predictable bytes would be worse.
/// Verification methods return false for any malformed input.
public struct OpenSSLCryptoService: CryptoService {
    public let passwordHasher: ScryptPasswordHasher
    /// Parsed RSA keys by PEM text: parsing a PEM costs more than the signature it is used for, and
    /// the same few signing/verification keys are used again and again (JWT issuance, JWKS checks).
    private let rsaPrivateKeys = ParsedKeyCache<RSAPrivateKey>()
    private let rsaPublicKeys = ParsedKeyCache<RSAPublicKey>()

    public init(passwordHasher: ScryptPasswordHasher = ScryptPasswordHasher()) {
        self.passwordHasher = passwordHasher
    }

    public func sha256(_ data: [UInt8]) -> [UInt8] { SHA256.hash(data) }

    public func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticationCode(key: key, message: message)
    }

    public func randomBytes(count: Int) -> [UInt8] { SecureRandom.bytesOrCrash(count: count) }

    public func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool { ConstantTime.equals(lhs, rhs) }

    public func hashPassword(_ password: String) throws -> String { try passwordHasher.hash(password) }

    public func verifyPassword(_ password: String, hash: String) -> Bool {
        passwordHasher.verify(password, against: hash)
    }

    public func signRS256(message: [UInt8], privateKeyPEM: String) throws -> [UInt8] {
        try rsaPrivateKeys.key(pem: privateKeyPEM, parse: RSAPrivateKey.init(pem:)).signRS256(message)
    }

    public func verifyRS256(message: [UInt8], signature: [UInt8], publicKeyPEM: String) -> Bool {
        guard let key = try? rsaPublicKeys.key(pem: publicKeyPEM, parse: RSAPublicKey.init(pem:)) else { return false }
        return key.isValidRS256Signature(signature, for: message)
    }

    public func generateRSAKeyPair(bits: Int) throws -> (privateKeyPEM: String, publicKeyPEM: String) {
        let key = try RSAPrivateKey.generate(bits: bits)
        return (try key.pkcs8PEM(), try key.publicKey.spkiPEM())
    }

    public func rsaPublicComponents(publicKeyPEM: String) throws -> (modulus: [UInt8], exponent: [UInt8]) {
        try RSAPublicKey(pem: publicKeyPEM).components()
    }

    public func sealAES256GCM(key: [UInt8], plaintext: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        try AES256GCM.seal(key: key, plaintext: plaintext, associatedData: associatedData)
    }

    public func openAES256GCM(key: [UInt8], sealed: [UInt8], associatedData: [UInt8]) -> [UInt8]? {
        AES256GCM.open(key: key, sealed: sealed, associatedData: associatedData)
    }
}

/// A small bounded cache of parsed keys. OpenSSL 3 keys are safe to use from several threads at
/// once for signing and verification (each operation makes its own EVP_PKEY_CTX).
final class ParsedKeyCache<Key: Sendable>: Sendable {
    /// Distinct PEMs kept; the cache is emptied when full (keys rotate rarely).
    static var entriesMax: Int { 32 }

    private let keys = Mutex<[String: Key]>([:])

    func key(pem: String, parse: (String) throws -> Key) throws -> Key {
        if let cached = keys.withLock({ $0[pem] }) { return cached }
        let parsed = try parse(pem)
        keys.withLock { keys in
            if keys.count >= Self.entriesMax { keys.removeAll() }
            keys[pem] = parsed
        }
        return parsed
    }
}
