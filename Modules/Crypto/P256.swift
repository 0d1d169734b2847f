import COpenSSL

/// ECDSA over NIST P-256 with SHA-256: JOSE `ES256` (RFC 7518 §3.4).
public enum P256 {
    /// Bytes of one coordinate or one signature half (r or s).
    public static let coordinateBytes = 32
    /// A JWS ES256 signature is r || s, each left-padded to 32 bytes.
    public static let rawSignatureBytes = 64
    /// OpenSSL's name for the curve, as reported by a loaded key.
    static let groupName = "prime256v1"

    static func checkP256(_ key: EVPKey) throws {
        guard key.isA("EC") else { throw CryptoError.wrongKeyType(expected: "EC P-256") }
        guard key.stringParameter(OSSL_PKEY_PARAM_GROUP_NAME) == groupName else { throw CryptoError.unsupportedCurve }
    }
}

public struct P256PrivateKey: Sendable {
    let key: EVPKey

    /// Loads PKCS#8 (`BEGIN PRIVATE KEY`) or SEC 1 (`BEGIN EC PRIVATE KEY`) PEM on P-256.
    public init(pem: String) throws {
        let key = try EVPKey.privateKey(pem: pem, expected: "EC P-256 private key (PKCS#8 or SEC 1)")
        try P256.checkP256(key)
        self.key = key
    }

    init(checked key: EVPKey) { self.key = key }

    public static func generate() throws -> P256PrivateKey {
        let key = try EVPKey.generate(algorithm: "EC") { context in
            EVP_PKEY_CTX_set_group_name(context, "P-256")
        }
        return P256PrivateKey(checked: key)
    }

    public var publicKey: P256PublicKey { P256PublicKey(checked: key) }

    /// Unencrypted PKCS#8 PEM. Treat the result as a secret.
    public func pkcs8PEM() throws -> String { try key.privatePKCS8PEM() }

    /// ES256 signature in JWS form: 64 bytes, r || s. (Randomized: two calls differ.)
    public func signES256(_ message: [UInt8]) throws -> [UInt8] {
        let der = try DigestSignature.sign(message, with: key)
        return try ECDSASignature.raw(fromDER: der)
    }
}

public struct P256PublicKey: Sendable {
    let key: EVPKey

    /// Loads a SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`) PEM on P-256.
    public init(pem: String) throws {
        let key = try EVPKey.publicKey(pem: pem, expected: "EC P-256 public key (SubjectPublicKeyInfo)")
        try P256.checkP256(key)
        self.key = key
    }

    init(checked key: EVPKey) { self.key = key }

    public func spkiPEM() throws -> String { try key.publicSPKIPEM() }

    /// True only for a valid 64-byte r || s ES256 signature of `message` under this key.
    public func isValidES256Signature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard let der = try? ECDSASignature.der(fromRaw: signature) else { return false }
        return DigestSignature.verify(der, for: message, with: key)
    }

    /// The affine coordinates, each exactly 32 big-endian bytes: base64url them for JWK `x` and `y`.
    public func coordinates() throws -> (x: [UInt8], y: [UInt8]) {
        (try key.bigNumberParameter(OSSL_PKEY_PARAM_EC_PUB_X, paddedBytes: P256.coordinateBytes),
         try key.bigNumberParameter(OSSL_PKEY_PARAM_EC_PUB_Y, paddedBytes: P256.coordinateBytes))
    }
}

/// Converts between OpenSSL's DER `ECDSA-Sig-Value` (SEQUENCE { r INTEGER, s INTEGER }) and the
/// fixed-width r || s form JWS uses (RFC 7518 §3.4), for P-256.
public enum ECDSASignature {
    /// Throws `.invalidSignatureEncoding` for malformed DER, trailing bytes, or r/s wider than 32 bytes.
    public static func raw(fromDER der: [UInt8]) throws -> [UInt8] {
        let signature = try der.withUnsafeBufferPointer { buffer -> OpaquePointer in
            guard let base = buffer.baseAddress, !buffer.isEmpty else { throw CryptoError.invalidSignatureEncoding }
            var cursor: UnsafePointer<UInt8>? = base
            guard let parsed = d2i_ECDSA_SIG(nil, &cursor, buffer.count) else {
                OpenSSLErrors.clear()
                throw CryptoError.invalidSignatureEncoding
            }
            guard cursor == base + buffer.count else {
                ECDSA_SIG_free(parsed)
                throw CryptoError.invalidSignatureEncoding
            }
            return parsed
        }
        defer { ECDSA_SIG_free(signature) }
        var r: OpaquePointer?
        var s: OpaquePointer?
        ECDSA_SIG_get0(signature, &r, &s)
        guard let r, let s else { throw CryptoError.invalidSignatureEncoding }
        return try fixedWidth(r) + fixedWidth(s)
    }

    private static func fixedWidth(_ number: OpaquePointer) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: P256.coordinateBytes)
        guard BN_bn2binpad(number, &output, Int32(P256.coordinateBytes)) == Int32(P256.coordinateBytes) else {
            OpenSSLErrors.clear()
            throw CryptoError.invalidSignatureEncoding
        }
        return output
    }

    /// Throws `.invalidSignatureEncoding` unless `raw` is exactly 64 bytes.
    public static func der(fromRaw raw: [UInt8]) throws -> [UInt8] {
        guard raw.count == P256.rawSignatureBytes else { throw CryptoError.invalidSignatureEncoding }
        guard let signature = ECDSA_SIG_new() else { throw OpenSSLErrors.failure("ECDSA_SIG_new") }
        defer { ECDSA_SIG_free(signature) }
        try raw.withUnsafeBufferPointer { buffer in
            let half = Int32(P256.coordinateBytes)
            let r = BN_bin2bn(buffer.baseAddress, half, nil)
            let s = BN_bin2bn(buffer.baseAddress! + P256.coordinateBytes, half, nil)
            // ECDSA_SIG_set0 takes ownership of r and s only when it succeeds.
            guard let r, let s, ECDSA_SIG_set0(signature, r, s) == 1 else {
                BN_free(r)
                BN_free(s)
                throw OpenSSLErrors.failure("ECDSA_SIG_set0")
            }
        }
        let length = i2d_ECDSA_SIG(signature, nil)
        guard length > 0 else { throw OpenSSLErrors.failure("i2d_ECDSA_SIG") }
        var output = [UInt8](repeating: 0, count: Int(length))
        let written = output.withUnsafeMutableBufferPointer { buffer in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return i2d_ECDSA_SIG(signature, &cursor)
        }
        guard written == length else { throw OpenSSLErrors.failure("i2d_ECDSA_SIG") }
        return output
    }
}
