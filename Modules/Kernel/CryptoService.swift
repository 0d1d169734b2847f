/// The cryptography feature modules need, implemented by the `Crypto` module over OpenSSL and
/// handed to modules by the app, so a feature module depends on Kernel only.
public protocol CryptoService: Sendable {
    func sha256(_ data: [UInt8]) -> [UInt8]
    func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8]
    func randomBytes(count: Int) -> [UInt8]
    func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool
    /// A self-describing password hash (algorithm, parameters, salt, hash) for storage.
    func hashPassword(_ password: String) throws -> String
    func verifyPassword(_ password: String, hash: String) -> Bool
    /// Signs with an RSA private key in PEM (RSASSA-PKCS1-v1_5 SHA-256, for JWT RS256).
    func signRS256(message: [UInt8], privateKeyPEM: String) throws -> [UInt8]
    func verifyRS256(message: [UInt8], signature: [UInt8], publicKeyPEM: String) -> Bool
    /// Generates a new RSA key pair as PEM (private PKCS#8, public SPKI).
    func generateRSAKeyPair(bits: Int) throws -> (privateKeyPEM: String, publicKeyPEM: String)
    /// The RSA public key's modulus and exponent (big-endian), for a JWKS `n` and `e`.
    func rsaPublicComponents(publicKeyPEM: String) throws -> (modulus: [UInt8], exponent: [UInt8])
    /// AES-256-GCM with a 32-byte key: `nonce (12) ‖ ciphertext ‖ tag (16)`, a random nonce per call. For
    /// secrets kept at rest; `associatedData` (e.g. the owning row's id) is authenticated, not encrypted.
    func sealAES256GCM(key: [UInt8], plaintext: [UInt8], associatedData: [UInt8]) throws -> [UInt8]
    /// The plaintext, or nil when the key is wrong or the box or its associated data was altered.
    func openAES256GCM(key: [UInt8], sealed: [UInt8], associatedData: [UInt8]) -> [UInt8]?
}

/// Hex and base64url helpers that need no OpenSSL.
public enum Encoding {
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var output = [UInt8]()
        output.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    public static func base64URL(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var output = [UInt8]()
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 2 < bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            for shift in [18, 12, 6, 0] { output.append(table[Int((value >> UInt32(shift)) & 0x3F)]) }
            index += 3
        }
        let remaining = bytes.count - index
        if remaining == 1 {
            let value = UInt32(bytes[index]) << 16
            output.append(table[Int((value >> 18) & 0x3F)])
            output.append(table[Int((value >> 12) & 0x3F)])
        } else if remaining == 2 {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            output.append(table[Int((value >> 18) & 0x3F)])
            output.append(table[Int((value >> 12) & 0x3F)])
            output.append(table[Int((value >> 6) & 0x3F)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes base64url (RFC 4648 §5) without padding, as JWS requires; nil on any other character,
    /// on padding, and on non-canonical trailing bits, so one token has exactly one spelling.
    public static func base64URLDecode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case 65...90: values.append(byte - 65)
            case 97...122: values.append(byte - 71)
            case 48...57: values.append(byte + 4)
            case UInt8(ascii: "-"): values.append(62)
            case UInt8(ascii: "_"): values.append(63)
            default: return nil
            }
        }
        if values.count % 4 == 1 { return nil }
        // The unused low bits of the last character must be zero (canonical encoding).
        if let last = values.last {
            if values.count % 4 == 2, last & 0x0F != 0 { return nil }
            if values.count % 4 == 3, last & 0x03 != 0 { return nil }
        }
        var output: [UInt8] = []
        output.reserveCapacity(values.count * 3 / 4)
        var index = 0
        while index < values.count {
            let chunk = values[index..<min(index + 4, values.count)]
            var accumulator: UInt32 = 0
            for value in chunk { accumulator = accumulator << 6 | UInt32(value) }
            accumulator <<= UInt32(6 * (4 - chunk.count))
            let produced = chunk.count - 1
            for position in 0..<produced { output.append(UInt8((accumulator >> UInt32(16 - 8 * position)) & 0xFF)) }
            index += 4
        }
        return output
    }

    public static func hexDecode(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0, digits.allSatisfy({ $0 < 128 && ($0 as UInt8).isHexDigit }) else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            output.append(byte)
            index += 2
        }
        return output
    }
}


extension UInt8 {
    var isHexDigit: Bool { (48...57).contains(self) || (65...70).contains(self) || (97...102).contains(self) }
}

/// A `CryptoService` without AES-GCM (a test double) refuses to seal and opens nothing; OpenSSLCryptoService
/// implements both. WHY defaults: the seam grew after doubles were written, and a double must not pretend to encrypt.
public struct AES256GCMUnavailable: Error, Sendable, CustomStringConvertible {
    public var description: String { "AES-256-GCM is not provided by this CryptoService" }
}

extension CryptoService {
    public func sealAES256GCM(key: [UInt8], plaintext: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        throw AES256GCMUnavailable()
    }

    public func openAES256GCM(key: [UInt8], sealed: [UInt8], associatedData: [UInt8]) -> [UInt8]? { nil }
}
