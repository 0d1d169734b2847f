import Testing
@testable import Crypto

/// Generating RSA keys costs ~50–500 ms, so the suite shares one.
let sharedRSAKey: RSAPrivateKey = try! RSAPrivateKey.generate(bits: 2048)

@Suite struct RSAKeyTests {
    @Test func generatedKeyRoundTripsThroughPEM() throws {
        let key = sharedRSAKey
        #expect(key.bits == 2048)
        let privatePEM = try key.pkcs8PEM()
        let publicPEM = try key.publicKey.spkiPEM()
        #expect(privatePEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(publicPEM.hasPrefix("-----BEGIN PUBLIC KEY-----"))
        let reloaded = try RSAPrivateKey(pem: privatePEM)
        let publicKey = try RSAPublicKey(pem: publicPEM)
        let message = Array("round trip".utf8)
        let signature = try reloaded.signRS256(message)
        #expect(signature.count == 256)
        #expect(publicKey.isValidRS256Signature(signature, for: message))
        #expect(try publicKey.components().exponent == [0x01, 0x00, 0x01])
        #expect(try publicKey.components().modulus.count == 256)
    }

    @Test func rs256IsDeterministic() throws {
        let message = Array("same input".utf8)
        #expect(try sharedRSAKey.signRS256(message) == sharedRSAKey.signRS256(message))
    }

    @Test func emptyMessageSignsAndVerifies() throws {
        let signature = try sharedRSAKey.signRS256([])
        #expect(sharedRSAKey.publicKey.isValidRS256Signature(signature, for: []))
    }

    @Test func tamperedSignatureAndMessageAreRejected() throws {
        let message = Array("pay 100".utf8)
        let signature = try sharedRSAKey.signRS256(message)
        let publicKey = sharedRSAKey.publicKey
        for index in [0, 100, 255] {
            var tampered = signature
            tampered[index] ^= 0x01
            #expect(!publicKey.isValidRS256Signature(tampered, for: message))
        }
        #expect(!publicKey.isValidRS256Signature(signature, for: Array("pay 900".utf8)))
        #expect(!publicKey.isValidRS256Signature(Array(signature.dropLast()), for: message))
        #expect(!publicKey.isValidRS256Signature(signature + [0], for: message))
        #expect(!publicKey.isValidRS256Signature([], for: message))
    }

    @Test func wrongKeyIsRejected() throws {
        let message = Array("hello".utf8)
        let signature = try sharedRSAKey.signRS256(message)
        let other = try RSAPublicKey(pem: Fixtures.rfc7515RSAPublicSPKI)
        #expect(!other.isValidRS256Signature(signature, for: message))
    }

    @Test func generationRejectsSmallAndHugeSizes() {
        #expect(throws: CryptoError.unsupportedKeySize(bits: 1024)) { try RSAPrivateKey.generate(bits: 1024) }
        #expect(throws: CryptoError.unsupportedKeySize(bits: 16384)) { try RSAPrivateKey.generate(bits: 16384) }
    }

    @Test func loadingRejectsSmallKeys() {
        #expect(throws: CryptoError.unsupportedKeySize(bits: 1024)) { try RSAPrivateKey(pem: Fixtures.rsa1024PrivatePKCS8) }
    }
}

@Suite struct P256KeyTests {
    @Test func generatedKeyRoundTripsThroughPEM() throws {
        let key = try P256PrivateKey.generate()
        let reloaded = try P256PrivateKey(pem: try key.pkcs8PEM())
        let publicKey = try P256PublicKey(pem: try key.publicKey.spkiPEM())
        let message = Array("es256".utf8)
        let signature = try reloaded.signES256(message)
        #expect(signature.count == 64)
        #expect(publicKey.isValidES256Signature(signature, for: message))
        let coordinates = try publicKey.coordinates()
        #expect(coordinates.x.count == 32 && coordinates.y.count == 32)
        #expect(try key.publicKey.coordinates().x == coordinates.x)
    }

    @Test func es256IsRandomizedButBothVerify() throws {
        let key = try P256PrivateKey.generate()
        let message = Array("m".utf8)
        let first = try key.signES256(message)
        let second = try key.signES256(message)
        #expect(first != second)
        #expect(key.publicKey.isValidES256Signature(first, for: message))
        #expect(key.publicKey.isValidES256Signature(second, for: message))
    }

    @Test func tamperedWrongKeyAndMalformedSignaturesAreRejected() throws {
        let key = try P256PrivateKey.generate()
        let message = Array("transfer".utf8)
        let signature = try key.signES256(message)
        for index in [0, 31, 32, 63] {
            var tampered = signature
            tampered[index] ^= 0x80
            #expect(!key.publicKey.isValidES256Signature(tampered, for: message))
        }
        #expect(!key.publicKey.isValidES256Signature(signature, for: Array("transfex".utf8)))
        #expect(!key.publicKey.isValidES256Signature(Array(signature.prefix(63)), for: message))
        #expect(!key.publicKey.isValidES256Signature([UInt8](repeating: 0, count: 64), for: message))
        let der = try ECDSASignature.der(fromRaw: signature)
        #expect(!key.publicKey.isValidES256Signature(der, for: message), "DER form must not be accepted for JWS")
        let other = try P256PrivateKey.generate()
        #expect(!other.publicKey.isValidES256Signature(signature, for: message))
    }

    @Test func derConversionRoundTrips() throws {
        // r has a high bit set (DER adds a 0x00) and s has leading zero bytes (DER drops them).
        let raw: [UInt8] = [0xff] + [UInt8](repeating: 0x11, count: 31) + [0x00, 0x00] + [UInt8](repeating: 0x22, count: 30)
        let der = try ECDSASignature.der(fromRaw: raw)
        #expect(der[0] == 0x30)
        #expect(try ECDSASignature.raw(fromDER: der) == raw)
    }

    @Test func derConversionRejectsMalformedInput() throws {
        #expect(throws: CryptoError.invalidSignatureEncoding) { try ECDSASignature.raw(fromDER: []) }
        #expect(throws: CryptoError.invalidSignatureEncoding) { try ECDSASignature.raw(fromDER: [0x30, 0x03, 0x02, 0x01]) }
        #expect(throws: CryptoError.invalidSignatureEncoding) { try ECDSASignature.der(fromRaw: [UInt8](repeating: 1, count: 65)) }
        let der = try ECDSASignature.der(fromRaw: [UInt8](repeating: 1, count: 64))
        #expect(throws: CryptoError.invalidSignatureEncoding) { try ECDSASignature.raw(fromDER: der + [0]) }
        // r of 33 significant bytes does not fit P-256.
        let wide: [UInt8] = [0x30, 0x26, 0x02, 0x21, 0x01] + [UInt8](repeating: 0x55, count: 32) + [0x02, 0x01, 0x01]
        #expect(throws: CryptoError.invalidSignatureEncoding) { try ECDSASignature.raw(fromDER: wide) }
    }

    @Test func otherCurvesAreRejected() {
        #expect(throws: CryptoError.unsupportedCurve) { try P256PrivateKey(pem: Fixtures.p384PrivatePKCS8) }
    }
}

@Suite struct MalformedPEMTests {
    @Test(arguments: ["", "not a pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                      "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
                      String(repeating: "A", count: 70_000)])
    func garbageIsInvalidPEM(pem: String) {
        #expect(throws: CryptoError.invalidPEM(expected: "RSA private key (PKCS#8 or PKCS#1)")) { try RSAPrivateKey(pem: pem) }
        #expect(throws: CryptoError.self) { try RSAPublicKey(pem: pem) }
        #expect(throws: CryptoError.self) { try P256PrivateKey(pem: pem) }
        #expect(throws: CryptoError.self) { try P256PublicKey(pem: pem) }
    }

    @Test func truncatedPEMIsInvalid() {
        let truncated = String(Fixtures.rfc7515RSAPrivatePKCS8.prefix(400)) + "\n-----END PRIVATE KEY-----\n"
        #expect(throws: CryptoError.invalidPEM(expected: "RSA private key (PKCS#8 or PKCS#1)")) { try RSAPrivateKey(pem: truncated) }
    }

    @Test func encryptedPEMIsRejectedWithoutPrompting() {
        #expect(throws: CryptoError.self) { try RSAPrivateKey(pem: Fixtures.encryptedRSAPrivatePKCS8) }
    }

    @Test func publicPEMIsNotAPrivateKeyAndViceVersa() {
        #expect(throws: CryptoError.self) { try RSAPrivateKey(pem: Fixtures.rfc7515RSAPublicSPKI) }
        #expect(throws: CryptoError.self) { try RSAPublicKey(pem: Fixtures.rfc7515RSAPrivatePKCS8) }
    }

    @Test func wrongAlgorithmIsWrongKeyType() {
        #expect(throws: CryptoError.wrongKeyType(expected: "RSA")) { try RSAPrivateKey(pem: Fixtures.rfc7515P256PrivatePKCS8) }
        #expect(throws: CryptoError.wrongKeyType(expected: "RSA")) { try RSAPublicKey(pem: Fixtures.rfc7515P256PublicSPKI) }
        #expect(throws: CryptoError.wrongKeyType(expected: "EC P-256")) { try P256PrivateKey(pem: Fixtures.rfc7515RSAPrivatePKCS1) }
        #expect(throws: CryptoError.wrongKeyType(expected: "EC P-256")) { try P256PublicKey(pem: Fixtures.rfc7515RSAPublicSPKI) }
    }

    @Test func errorDescriptionsCarryNoKeyMaterial() {
        let pem = Fixtures.rfc7515RSAPrivatePKCS8
        let body = pem.split(separator: "\n")[1]
        do {
            _ = try P256PrivateKey(pem: pem)
            Issue.record("expected an error")
        } catch {
            #expect(!"\(error)".contains(body))
            #expect(!String(describing: error).contains("MII"))
        }
    }

    @Test func pemWithSurroundingWhitespaceLoads() throws {
        _ = try RSAPublicKey(pem: "\n\n  " + Fixtures.rfc7515RSAPublicSPKI + "\n\n")
    }
}
