import Kernel
import Testing
@testable import Crypto

@Suite struct OpenSSLCryptoServiceTests {
    let service: any CryptoService = OpenSSLCryptoService(
        passwordHasher: ScryptPasswordHasher(parameters: try! ScryptParameters(costFactor: 1024, blockSize: 8, parallelism: 1)))

    @Test func digestsMacsRandomAndCompare() {
        #expect(Encoding.hex(service.sha256(Array("abc".utf8)))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Encoding.hex(service.hmacSHA256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(service.randomBytes(count: 24).count == 24)
        #expect(service.constantTimeEquals([1, 2], [1, 2]))
        #expect(!service.constantTimeEquals([1, 2], [1, 3]))
    }

    @Test func passwords() throws {
        let stored = try service.hashPassword("s3cret")
        #expect(service.verifyPassword("s3cret", hash: stored))
        #expect(!service.verifyPassword("s3cre", hash: stored))
        #expect(!service.verifyPassword("s3cret", hash: "garbage"))
    }

    @Test func defaultServiceUsesInteractiveParameters() {
        #expect(OpenSSLCryptoService().passwordHasher.parameters == .interactive)
    }

    @Test func rsaThroughProtocol() throws {
        let pair = try service.generateRSAKeyPair(bits: 2048)
        #expect(pair.privateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(pair.publicKeyPEM.hasPrefix("-----BEGIN PUBLIC KEY-----"))
        let message = Array("header.payload".utf8)
        let signature = try service.signRS256(message: message, privateKeyPEM: pair.privateKeyPEM)
        #expect(service.verifyRS256(message: message, signature: signature, publicKeyPEM: pair.publicKeyPEM))
        #expect(!service.verifyRS256(message: message + [0], signature: signature, publicKeyPEM: pair.publicKeyPEM))
        #expect(!service.verifyRS256(message: message, signature: signature, publicKeyPEM: "garbage"))
        #expect(!service.verifyRS256(message: message, signature: signature, publicKeyPEM: Fixtures.rfc7515RSAPublicSPKI))
        let components = try service.rsaPublicComponents(publicKeyPEM: pair.publicKeyPEM)
        #expect(components.exponent == [1, 0, 1])
        #expect(components.modulus.count == 256)
    }

    @Test func rs256VectorThroughProtocol() throws {
        let signature = try service.signRS256(message: Array(RFC7515VectorTests.rs256SigningInput.utf8),
                                              privateKeyPEM: Fixtures.rfc7515RSAPrivatePKCS1)
        #expect(Encoding.base64URL(signature) == RFC7515VectorTests.rs256Signature)
    }

    @Test func errorsAreTyped() {
        #expect(throws: CryptoError.self) { try service.signRS256(message: [], privateKeyPEM: "nope") }
        #expect(throws: CryptoError.self) { try service.generateRSAKeyPair(bits: 1024) }
        #expect(throws: CryptoError.self) { try service.rsaPublicComponents(publicKeyPEM: Fixtures.rfc7515P256PublicSPKI) }
    }

    @Test func concurrentSigningWithOneKey() async throws {
        let key = try RSAPrivateKey(pem: Fixtures.rfc7515RSAPrivatePKCS8)
        let message = Array(RFC7515VectorTests.rs256SigningInput.utf8)
        let results = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<16 { group.addTask { Base64URL.encode(try key.signRS256(message)) } }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(results.count == 16)
        #expect(results.allSatisfy { $0 == RFC7515VectorTests.rs256Signature })
    }
}
