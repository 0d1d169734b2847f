import Kernel

/// Kernel's `CryptoService` over OpenSSL 3: the app builds one and hands it to feature modules.
///
/// Non-throwing requirements (`sha256`, `hmacSHA256`, `randomBytes`) stop the process if OpenSSL
/// itself is broken, because returning wrong digests or predictable bytes would be worse.
/// Verification methods return false for any malformed input.
public struct OpenSSLCryptoService: CryptoService {
    public let passwordHasher: ScryptPasswordHasher

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
        try RSAPrivateKey(pem: privateKeyPEM).signRS256(message)
    }

    public func verifyRS256(message: [UInt8], signature: [UInt8], publicKeyPEM: String) -> Bool {
        guard let key = try? RSAPublicKey(pem: publicKeyPEM) else { return false }
        return key.isValidRS256Signature(signature, for: message)
    }

    public func generateRSAKeyPair(bits: Int) throws -> (privateKeyPEM: String, publicKeyPEM: String) {
        let key = try RSAPrivateKey.generate(bits: bits)
        return (try key.pkcs8PEM(), try key.publicKey.spkiPEM())
    }

    public func rsaPublicComponents(publicKeyPEM: String) throws -> (modulus: [UInt8], exponent: [UInt8]) {
        try RSAPublicKey(pem: publicKeyPEM).components()
    }
}
