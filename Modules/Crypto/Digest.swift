import COpenSSL

/// SHA-256 (FIPS 180-4) over OpenSSL's EVP interface.
public enum SHA256 {
    public static let digestBytes = 32

    /// One-shot digest. Crashes only if OpenSSL cannot run SHA-256 at all (a broken install),
    /// because a silently wrong digest would be far worse than a loud stop.
    public static func hash(_ data: [UInt8]) -> [UInt8] {
        let hasher = SHA256Hasher()
        hasher.update(data)
        return hasher.finalize()
    }

    public static func hash(_ text: String) -> [UInt8] { hash(Array(text.utf8)) }
}

/// Incremental SHA-256 for inputs that arrive in pieces (request bodies, files).
/// Not thread-safe: one hasher belongs to one task. `finalize()` may be called once.
public final class SHA256Hasher {
    private let context: OpaquePointer
    private var finalized = false

    public init() {
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed (out of memory)") }
        guard EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            EVP_MD_CTX_free(context)
            fatalError("SHA-256 is unavailable in this OpenSSL build")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public func update(_ buffer: UnsafeRawBufferPointer) {
        precondition(!finalized, "SHA256Hasher.update after finalize")
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        guard EVP_DigestUpdate(context, base, buffer.count) == 1 else { fatalError("EVP_DigestUpdate failed") }
    }

    public func finalize() -> [UInt8] {
        precondition(!finalized, "SHA256Hasher.finalize called twice")
        finalized = true
        var digest = [UInt8](repeating: 0, count: SHA256.digestBytes)
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &digest, &length) == 1, Int(length) == SHA256.digestBytes else {
            fatalError("EVP_DigestFinal_ex failed")
        }
        return digest
    }
}

/// HMAC-SHA256 (RFC 2104 / RFC 4231), e.g. for webhook signatures and opaque-token MACs.
public enum HMACSHA256 {
    public static let macBytes = 32

    public static func authenticationCode(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var mac = [UInt8](repeating: 0, count: macBytes)
        var length: UInt32 = 0
        let result = Bytes.withNonNull(key) { keyPointer, keyCount in
            Bytes.withNonNull(message) { messagePointer, messageCount in
                HMAC(EVP_sha256(), keyPointer, Int32(keyCount), messagePointer, messageCount, &mac, &length)
            }
        }
        guard result != nil, Int(length) == macBytes else { fatalError("HMAC-SHA256 failed: \(OpenSSLErrors.drainReason())") }
        return mac
    }

    /// Recomputes the MAC and compares in constant time.
    public static func isValid(_ mac: [UInt8], key: [UInt8], message: [UInt8]) -> Bool {
        ConstantTime.equals(authenticationCode(key: key, message: message), mac)
    }
}

/// Cryptographically secure random bytes from OpenSSL's DRBG (seeded by the OS).
public enum SecureRandom {
    /// Largest single request; callers needing more are doing something unusual.
    public static let bytesMax = 1 << 20

    public static func bytes(count: Int) throws -> [UInt8] {
        guard count >= 0, count <= bytesMax else {
            throw CryptoError.invalidParameter(name: "count", reason: "must be 0...\(bytesMax)")
        }
        var output = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return output }
        guard RAND_bytes(&output, Int32(count)) == 1 else {
            OpenSSLErrors.clear()
            throw CryptoError.randomGenerationFailed
        }
        return output
    }

    /// For callers that cannot handle failure: stops the process rather than return weak bytes.
    public static func bytesOrCrash(count: Int) -> [UInt8] {
        do { return try bytes(count: count) } catch { fatalError("secure random generation failed: \(error)") }
    }
}

/// Comparison whose running time does not depend on where the inputs differ (CRYPTO_memcmp),
/// so MACs, tokens and password hashes cannot be guessed byte by byte from response timing.
public enum ConstantTime {
    /// Different lengths return false immediately: lengths are public (fixed MAC/hash sizes).
    public static func equals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        guard !lhs.isEmpty else { return true }
        return lhs.withUnsafeBytes { left in
            rhs.withUnsafeBytes { right in CRYPTO_memcmp(left.baseAddress, right.baseAddress, left.count) == 0 }
        }
    }
}
