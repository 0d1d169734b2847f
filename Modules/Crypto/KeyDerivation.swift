import COpenSSL

/// PBKDF2-HMAC-SHA256 (RFC 8018 §5.2). Provided for interop (e.g. verifying hashes from other
/// systems); new password hashes use scrypt, which is memory-hard.
public enum PBKDF2 {
    public static let iterationsMaximum = 10_000_000
    public static let derivedKeyBytesMaximum = 1024

    public static func sha256(password: [UInt8], salt: [UInt8], iterations: Int, derivedKeyBytes: Int) throws -> [UInt8] {
        guard (1...iterationsMaximum).contains(iterations) else {
            throw CryptoError.invalidParameter(name: "iterations", reason: "must be 1...\(iterationsMaximum)")
        }
        guard (1...derivedKeyBytesMaximum).contains(derivedKeyBytes) else {
            throw CryptoError.invalidParameter(name: "derivedKeyBytes", reason: "must be 1...\(derivedKeyBytesMaximum)")
        }
        var output = [UInt8](repeating: 0, count: derivedKeyBytes)
        let status = Bytes.withNonNull(password) { passwordPointer, passwordCount in
            Bytes.withNonNull(salt) { saltPointer, saltCount in
                passwordPointer.withMemoryRebound(to: CChar.self, capacity: max(passwordCount, 1)) { passwordChars in
                    PKCS5_PBKDF2_HMAC(passwordChars, Int32(passwordCount), saltPointer, Int32(saltCount),
                                      Int32(iterations), EVP_sha256(), Int32(derivedKeyBytes), &output)
                }
            }
        }
        guard status == 1 else { throw OpenSSLErrors.failure("PKCS5_PBKDF2_HMAC") }
        return output
    }
}

/// scrypt cost parameters (RFC 7914 §2): `costFactor` N (a power of two), `blockSize` r,
/// `parallelism` p. Memory is about 128 · r · N bytes; time grows with N · r · p.
public struct ScryptParameters: Sendable, Hashable, CustomStringConvertible {
    public let costFactor: UInt64
    public let blockSize: UInt64
    public let parallelism: UInt64

    /// N=2^15, r=8, p=1: 32 MiB and ~65 ms per hash on the 2-core development VM (measured;
    /// see docs/crypto.md). Strong enough for interactive logins, cheap enough for a login endpoint.
    public static let interactive = ScryptParameters(uncheckedCostFactor: 32768, blockSize: 8, parallelism: 1)

    /// Largest memory one derivation may use. Bounds what a stored (possibly tampered) hash can demand.
    public static let memoryBytesMaximum: UInt64 = 64 * 1024 * 1024
    /// Largest N · r · p accepted: 4x the interactive cost (~0.3 s).
    public static let workMaximum: UInt64 = 32768 * 8 * 4

    public init(costFactor: UInt64, blockSize: UInt64, parallelism: UInt64) throws {
        self.init(uncheckedCostFactor: costFactor, blockSize: blockSize, parallelism: parallelism)
        try validate()
    }

    private init(uncheckedCostFactor: UInt64, blockSize: UInt64, parallelism: UInt64) {
        self.costFactor = uncheckedCostFactor
        self.blockSize = blockSize
        self.parallelism = parallelism
    }

    /// Bytes OpenSSL allocates: B (128 · r · p) plus V and XY (128 · r · (N + 2)).
    public var memoryBytes: UInt64 { 128 * blockSize * (costFactor + 2 + parallelism) }

    public var description: String { "N=\(costFactor),r=\(blockSize),p=\(parallelism)" }

    func validate() throws {
        guard costFactor >= 2, costFactor & (costFactor - 1) == 0, costFactor <= 1 << 24 else {
            throw CryptoError.invalidParameter(name: "N", reason: "must be a power of two, 2...2^24")
        }
        guard (1...64).contains(blockSize) else { throw CryptoError.invalidParameter(name: "r", reason: "must be 1...64") }
        guard (1...64).contains(parallelism) else { throw CryptoError.invalidParameter(name: "p", reason: "must be 1...64") }
        guard memoryBytes <= Self.memoryBytesMaximum else {
            throw CryptoError.invalidParameter(name: "N,r,p", reason: "need more than \(Self.memoryBytesMaximum) bytes")
        }
        guard costFactor * blockSize * parallelism <= Self.workMaximum else {
            throw CryptoError.invalidParameter(name: "N,r,p", reason: "work N*r*p exceeds \(Self.workMaximum)")
        }
    }
}

/// scrypt (RFC 7914) via OpenSSL's `EVP_PBE_scrypt`.
public enum Scrypt {
    public static let derivedKeyBytesMaximum = 1024

    public static func derive(password: [UInt8], salt: [UInt8], parameters: ScryptParameters,
                              derivedKeyBytes: Int) throws -> [UInt8] {
        try parameters.validate()
        guard (1...derivedKeyBytesMaximum).contains(derivedKeyBytes) else {
            throw CryptoError.invalidParameter(name: "derivedKeyBytes", reason: "must be 1...\(derivedKeyBytesMaximum)")
        }
        var output = [UInt8](repeating: 0, count: derivedKeyBytes)
        let status = Bytes.withNonNull(password) { passwordPointer, passwordCount in
            Bytes.withNonNull(salt) { saltPointer, saltCount in
                passwordPointer.withMemoryRebound(to: CChar.self, capacity: max(passwordCount, 1)) { passwordChars in
                    EVP_PBE_scrypt(passwordChars, passwordCount, saltPointer, saltCount,
                                   parameters.costFactor, parameters.blockSize, parameters.parallelism,
                                   ScryptParameters.memoryBytesMaximum + 1024 * 1024, &output, derivedKeyBytes)
                }
            }
        }
        guard status == 1 else { throw OpenSSLErrors.failure("EVP_PBE_scrypt") }
        return output
    }
}
