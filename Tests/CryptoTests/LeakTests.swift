import Foundation
import Testing
@testable import Crypto

/// Repeats every OpenSSL-backed path, including error paths, and checks resident memory stays
/// flat. A leaked EVP_PKEY/EVP_MD_CTX/BIO/BIGNUM per iteration would add megabytes.
@Suite(.serialized) struct LeakTests {
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let pages = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func exerciseOnce() throws {
        let message = Array("leak check".utf8)
        let rsa = try RSAPrivateKey(pem: Fixtures.rfc7515RSAPrivatePKCS1)
        let rsaSignature = try rsa.signRS256(message)
        let rsaPublic = try RSAPublicKey(pem: Fixtures.rfc7515RSAPublicSPKI)
        _ = rsaPublic.isValidRS256Signature(rsaSignature, for: message)
        _ = rsaPublic.isValidRS256Signature([UInt8](repeating: 1, count: 256), for: message)
        _ = try rsaPublic.components()
        _ = try rsaPublic.spkiPEM()
        _ = try? RSAPrivateKey(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
        _ = try? RSAPrivateKey(pem: Fixtures.rfc7515P256PrivatePKCS8)
        _ = try? RSAPrivateKey(pem: Fixtures.encryptedRSAPrivatePKCS8)
        let ec = try P256PrivateKey(pem: Fixtures.rfc7515P256PrivateSEC1)
        let ecSignature = try ec.signES256(message)
        _ = ec.publicKey.isValidES256Signature(ecSignature, for: message)
        _ = ec.publicKey.isValidES256Signature([UInt8](repeating: 0, count: 64), for: message)
        _ = try ec.publicKey.coordinates()
        _ = try? ECDSASignature.raw(fromDER: [0x30, 0x03, 0x02, 0x01])
        _ = try? P256PrivateKey(pem: Fixtures.p384PrivatePKCS8)
        let hasher = SHA256Hasher()
        hasher.update(message)
        _ = hasher.finalize()
        _ = HMACSHA256.authenticationCode(key: message, message: message)
        _ = try PBKDF2.sha256(password: message, salt: message, iterations: 2, derivedKeyBytes: 32)
        _ = try Scrypt.derive(password: message, salt: message,
                              parameters: try ScryptParameters(costFactor: 16, blockSize: 1, parallelism: 1), derivedKeyBytes: 32)
    }

    /// Other suites run in parallel and allocate (scrypt takes 32 MiB), so one late sample could
    /// catch a transient spike: the end value is the lowest of the last three batch samples.
    /// A real leak grows steadily and still shows up in that minimum.
    @Test func openSSLPathsDoNotLeak() throws {
        for _ in 0..<100 { try Self.exerciseOnce() }
        let before = Self.residentBytes()
        var samples: [Int] = []
        for _ in 0..<8 {
            for _ in 0..<100 { try Self.exerciseOnce() }
            samples.append(Self.residentBytes())
        }
        let growth = samples.suffix(3).min()! - before
        print("resident growth over 800 iterations: \(growth / 1024) KiB")
        #expect(growth < 4 * 1024 * 1024)
    }
}
