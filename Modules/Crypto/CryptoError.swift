import COpenSSL

/// Every failure the Crypto module reports. Cases carry only non-secret context (what kind of
/// input was expected, sizes, OpenSSL's library reason text) and never key material, passwords,
/// signatures or message bytes, so they are safe to log and to wrap in an `AtlasError`.
public enum CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The PEM text could not be parsed as the expected kind of key (or is encrypted, or too large).
    case invalidPEM(expected: String)
    /// The key parsed but is of a different algorithm (e.g. an EC key where RSA was required).
    case wrongKeyType(expected: String)
    /// An RSA key outside the accepted size range.
    case unsupportedKeySize(bits: Int)
    /// An EC key on a curve other than P-256.
    case unsupportedCurve
    /// A signature that is not well-formed for its algorithm (e.g. not 64 bytes for ES256).
    case invalidSignatureEncoding
    /// A caller-supplied parameter is out of its documented range.
    case invalidParameter(name: String, reason: String)
    /// The operating-system random generator failed; nothing random may be produced.
    case randomGenerationFailed
    /// An OpenSSL call failed; `reason` is OpenSSL's library text for the first queued error.
    case openSSLFailure(operation: String, reason: String)

    public var description: String {
        switch self {
        case .invalidPEM(let expected): return "invalid PEM: expected \(expected)"
        case .wrongKeyType(let expected): return "wrong key type: expected \(expected)"
        case .unsupportedKeySize(let bits): return "unsupported RSA key size: \(bits) bits"
        case .unsupportedCurve: return "unsupported elliptic curve: only P-256 is accepted"
        case .invalidSignatureEncoding: return "invalid signature encoding"
        case .invalidParameter(let name, let reason): return "invalid parameter \(name): \(reason)"
        case .randomGenerationFailed: return "secure random generation failed"
        case .openSSLFailure(let operation, let reason): return "OpenSSL \(operation) failed: \(reason)"
        }
    }
}

enum OpenSSLErrors {
    /// Drains this thread's OpenSSL error queue and returns the first entry's reason text.
    /// Draining matters: a stale queued error would otherwise be blamed on a later, unrelated call.
    static func drainReason() -> String {
        let first = ERR_get_error()
        ERR_clear_error()
        guard first != 0 else { return "unknown error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(first, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func failure(_ operation: String) -> CryptoError {
        .openSSLFailure(operation: operation, reason: drainReason())
    }

    /// Forgets queued errors after an expected failure (a signature that does not verify).
    static func clear() { ERR_clear_error() }
}
