import COpenSSL

/// AES-256-GCM (NIST SP 800-38D) over OpenSSL's EVP interface, for secrets kept at rest.
///
/// A sealed box is `nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`. The nonce is random per seal: with
/// 96-bit random nonces one key stays within the 2^-32 collision bound for 2^32 seals, far above the number
/// of secrets a deployment stores. `associatedData` is authenticated, not encrypted (e.g. the row id a
/// secret belongs to, so a ciphertext copied to another row does not open).
public enum AES256GCM {
    public static let keyBytes = 32
    public static let nonceBytes = 12
    public static let tagBytes = 16
    /// Largest plaintext sealed at once: this seam is for secrets, not bulk data.
    public static let plaintextBytesMax = 1 << 16

    public static func seal(key: [UInt8], plaintext: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        try seal(key: key, plaintext: plaintext, associatedData: associatedData, nonce: try SecureRandom.bytes(count: nonceBytes))
    }

    /// With a given nonce: for known-answer tests only (a nonce must never repeat under one key).
    static func seal(key: [UInt8], plaintext: [UInt8], associatedData: [UInt8], nonce: [UInt8]) throws -> [UInt8] {
        guard key.count == keyBytes else { throw CryptoError.invalidParameter(name: "key", reason: "must be 32 bytes") }
        guard nonce.count == nonceBytes else { throw CryptoError.invalidParameter(name: "nonce", reason: "must be 12 bytes") }
        guard plaintext.count <= plaintextBytesMax else {
            throw CryptoError.invalidParameter(name: "plaintext", reason: "must be at most \(plaintextBytesMax) bytes")
        }
        let context = try Context()
        guard EVP_EncryptInit_ex(context.pointer, EVP_aes_256_gcm(), nil, key, nonce) == 1 else {
            throw OpenSSLErrors.failure("EVP_EncryptInit_ex")
        }
        var length: Int32 = 0
        if !associatedData.isEmpty {
            guard EVP_EncryptUpdate(context.pointer, nil, &length, associatedData, Int32(associatedData.count)) == 1 else {
                throw OpenSSLErrors.failure("EVP_EncryptUpdate(aad)")
            }
        }
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        var written: Int32 = 0
        if !plaintext.isEmpty {
            guard EVP_EncryptUpdate(context.pointer, &ciphertext, &written, plaintext, Int32(plaintext.count)) == 1 else {
                throw OpenSSLErrors.failure("EVP_EncryptUpdate")
            }
        }
        var finalLength: Int32 = 0
        let finished = ciphertext.withUnsafeMutableBufferPointer { buffer in
            EVP_EncryptFinal_ex(context.pointer, buffer.baseAddress! + Int(written), &finalLength)
        }
        guard finished == 1 else { throw OpenSSLErrors.failure("EVP_EncryptFinal_ex") }
        var tag = [UInt8](repeating: 0, count: tagBytes)
        guard EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_AEAD_GET_TAG, Int32(tagBytes), &tag) == 1 else {
            throw OpenSSLErrors.failure("EVP_CTRL_AEAD_GET_TAG")
        }
        return nonce + ciphertext.prefix(Int(written + finalLength)) + tag
    }

    /// The plaintext, or nil when the key is wrong or the box or its associated data was altered.
    public static func open(key: [UInt8], sealed: [UInt8], associatedData: [UInt8]) -> [UInt8]? {
        guard key.count == keyBytes, sealed.count >= nonceBytes + tagBytes,
              sealed.count - nonceBytes - tagBytes <= plaintextBytesMax, let context = try? Context() else { return nil }
        defer { OpenSSLErrors.clear() }
        let nonce = Array(sealed.prefix(nonceBytes))
        let ciphertext = Array(sealed.dropFirst(nonceBytes).dropLast(tagBytes))
        var tag = Array(sealed.suffix(tagBytes))
        guard EVP_DecryptInit_ex(context.pointer, EVP_aes_256_gcm(), nil, key, nonce) == 1 else { return nil }
        var length: Int32 = 0
        if !associatedData.isEmpty {
            guard EVP_DecryptUpdate(context.pointer, nil, &length, associatedData, Int32(associatedData.count)) == 1 else {
                return nil
            }
        }
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var written: Int32 = 0
        if !ciphertext.isEmpty {
            guard EVP_DecryptUpdate(context.pointer, &plaintext, &written, ciphertext, Int32(ciphertext.count)) == 1 else {
                return nil
            }
        }
        guard EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_AEAD_SET_TAG, Int32(tagBytes), &tag) == 1 else { return nil }
        var finalLength: Int32 = 0
        let verified = plaintext.withUnsafeMutableBufferPointer { buffer in
            EVP_DecryptFinal_ex(context.pointer, buffer.baseAddress! + Int(written), &finalLength)
        }
        guard verified == 1 else { return nil }
        return Array(plaintext.prefix(Int(written + finalLength)))
    }

    /// One EVP cipher context, freed with its owner.
    private final class Context {
        let pointer: OpaquePointer

        init() throws {
            guard let pointer = EVP_CIPHER_CTX_new() else { throw OpenSSLErrors.failure("EVP_CIPHER_CTX_new") }
            self.pointer = pointer
        }

        deinit { EVP_CIPHER_CTX_free(pointer) }
    }
}
