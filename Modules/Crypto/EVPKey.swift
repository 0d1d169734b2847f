import COpenSSLShims
import COpenSSL

/// Owns one `EVP_PKEY` and frees it exactly once.
///
/// `@unchecked Sendable` because OpenSSL 3 documents `EVP_PKEY` as safe for concurrent
/// read-only use once built: every sign/verify below makes its own `EVP_MD_CTX`, and nothing
/// mutates the key after construction.
final class EVPKey: @unchecked Sendable {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) { self.pointer = pointer }

    deinit { EVP_PKEY_free(pointer) }

    /// PEM inputs larger than this are rejected before parsing (an 8192-bit RSA PKCS#8 PEM is ~6.5 KB).
    static let pemBytesMax = 64 * 1024

    /// Parses a private key: PKCS#8 (`PRIVATE KEY`) or a traditional format (`RSA PRIVATE KEY`,
    /// `EC PRIVATE KEY`). Encrypted PEMs fail: the password callback refuses instead of prompting.
    static func privateKey(pem: String, expected: String) throws -> EVPKey {
        try withMemoryBIO(pem, expected: expected) { bio in
            PEM_read_bio_PrivateKey(bio, nil, atlas_crypto_pem_no_password, nil)
        }
    }

    /// Parses a `PUBLIC KEY` (X.509 SubjectPublicKeyInfo) PEM.
    static func publicKey(pem: String, expected: String) throws -> EVPKey {
        try withMemoryBIO(pem, expected: expected) { bio in
            PEM_read_bio_PUBKEY(bio, nil, atlas_crypto_pem_no_password, nil)
        }
    }

    private static func withMemoryBIO(_ pem: String, expected: String,
                                      _ read: (OpaquePointer) -> OpaquePointer?) throws -> EVPKey {
        let bytes = trimmingASCIIWhitespace(Array(pem.utf8))
        guard !bytes.isEmpty, bytes.count <= pemBytesMax else { throw CryptoError.invalidPEM(expected: expected) }
        return try bytes.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else {
                throw OpenSSLErrors.failure("BIO_new_mem_buf")
            }
            defer { BIO_free(bio) }
            guard let key = read(bio) else {
                OpenSSLErrors.clear()
                throw CryptoError.invalidPEM(expected: expected)
            }
            return EVPKey(taking: key)
        }
    }

    /// Configuration values often arrive with stray spaces or newlines around the PEM, and OpenSSL
    /// only recognizes `-----BEGIN` at the start of a line.
    private static func trimmingASCIIWhitespace(_ bytes: [UInt8]) -> [UInt8] {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }),
              let last = bytes.lastIndex(where: { !isSpace($0) }) else { return [] }
        return Array(bytes[first...last])
    }

    /// Generates a key with an `EVP_PKEY_CTX` configured by `configure` (bits, curve).
    static func generate(algorithm: String, configure: (OpaquePointer) -> Int32) throws -> EVPKey {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, algorithm, nil) else {
            throw OpenSSLErrors.failure("EVP_PKEY_CTX_new_from_name")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else { throw OpenSSLErrors.failure("EVP_PKEY_keygen_init") }
        guard configure(context) > 0 else { throw OpenSSLErrors.failure("key generation parameters") }
        var key: OpaquePointer?
        guard EVP_PKEY_generate(context, &key) == 1, let key else { throw OpenSSLErrors.failure("EVP_PKEY_generate") }
        return EVPKey(taking: key)
    }

    func isA(_ name: String) -> Bool { EVP_PKEY_is_a(pointer, name) == 1 }

    var bits: Int { Int(EVP_PKEY_get_bits(pointer)) }

    /// PKCS#8 `PRIVATE KEY` PEM, unencrypted (callers store it in a secret store, not in logs).
    func privatePKCS8PEM() throws -> String {
        try writePEM("PEM_write_bio_PrivateKey") { bio in
            PEM_write_bio_PrivateKey(bio, pointer, nil, nil, 0, nil, nil)
        }
    }

    /// SubjectPublicKeyInfo `PUBLIC KEY` PEM (works on a private key too: writes its public half).
    func publicSPKIPEM() throws -> String {
        try writePEM("PEM_write_bio_PUBKEY") { bio in PEM_write_bio_PUBKEY(bio, pointer) }
    }

    private func writePEM(_ operation: String, _ write: (OpaquePointer) -> Int32) throws -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw OpenSSLErrors.failure("BIO_new") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw OpenSSLErrors.failure(operation) }
        var data: UnsafePointer<CChar>?
        let length = atlas_crypto_bio_mem_data(bio, &data)
        guard length > 0, let data else { throw OpenSSLErrors.failure(operation) }
        let buffer = UnsafeRawBufferPointer(start: data, count: length)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// A big-number parameter (`"n"`, `"e"`, `"qx"`, `"qy"`) as big-endian bytes, left-padded
    /// with zeros to `paddedBytes` when given (JWK EC coordinates are fixed-length).
    func bigNumberParameter(_ name: String, paddedBytes: Int? = nil) throws -> [UInt8] {
        var number: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pointer, name, &number) == 1, let number else {
            throw OpenSSLErrors.failure("EVP_PKEY_get_bn_param")
        }
        defer { BN_free(number) }
        let naturalBytes = Int(atlas_crypto_bn_num_bytes(number))
        let outputBytes = paddedBytes ?? max(naturalBytes, 1)
        guard naturalBytes <= outputBytes else { throw OpenSSLErrors.failure("big number too large") }
        var output = [UInt8](repeating: 0, count: outputBytes)
        guard BN_bn2binpad(number, &output, Int32(outputBytes)) == Int32(outputBytes) else {
            throw OpenSSLErrors.failure("BN_bn2binpad")
        }
        return output
    }

    /// A UTF-8 string parameter such as the EC group name.
    func stringParameter(_ name: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 80)
        var length = 0
        guard EVP_PKEY_get_utf8_string_param(pointer, name, &buffer, buffer.count, &length) == 1 else {
            OpenSSLErrors.clear()
            return nil
        }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// SHA-256 digest-sign and digest-verify; the key type decides the scheme (RSA: PKCS#1 v1.5,
/// the OpenSSL default; EC: ECDSA with a DER signature).
enum DigestSignature {
    static func sign(_ message: [UInt8], with key: EVPKey) throws -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw OpenSSLErrors.failure("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, key.pointer) == 1 else {
            throw OpenSSLErrors.failure("EVP_DigestSignInit")
        }
        return try Bytes.withNonNull(message) { messagePointer, messageCount in
            var length = 0
            guard EVP_DigestSign(context, nil, &length, messagePointer, messageCount) == 1 else {
                throw OpenSSLErrors.failure("EVP_DigestSign (size)")
            }
            var signature = [UInt8](repeating: 0, count: length)
            guard EVP_DigestSign(context, &signature, &length, messagePointer, messageCount) == 1 else {
                throw OpenSSLErrors.failure("EVP_DigestSign")
            }
            return Array(signature.prefix(length))
        }
    }

    /// False for any failure, including malformed signatures; the error queue is cleared so a
    /// rejected signature leaves no residue for the next OpenSSL call on this thread.
    static func verify(_ signature: [UInt8], for message: [UInt8], with key: EVPKey) -> Bool {
        defer { OpenSSLErrors.clear() }
        guard !signature.isEmpty, let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, key.pointer) == 1 else { return false }
        return Bytes.withNonNull(message) { messagePointer, messageCount in
            EVP_DigestVerify(context, signature, signature.count, messagePointer, messageCount) == 1
        }
    }
}
