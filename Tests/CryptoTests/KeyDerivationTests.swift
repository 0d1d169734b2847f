import Testing
@testable import Crypto

/// RFC 7914 §11 (PBKDF2-HMAC-SHA256) and §12 (scrypt) test vectors.
@Suite struct KeyDerivationTests {
    static func hex(_ spaced: String) -> [UInt8] { Hex.decode(spaced.split(separator: " ").joined())! }

    @Test func pbkdf2OneIteration() throws {
        let derived = try PBKDF2.sha256(password: Array("passwd".utf8), salt: Array("salt".utf8),
                                        iterations: 1, derivedKeyBytes: 64)
        #expect(derived == Self.hex("55 ac 04 6e 56 e3 08 9f ec 16 91 c2 25 44 b6 05 f9 41 85 21 6d de 04 65 e6 8b 9d 57 c2 0d ac bc"
            + " 49 ca 9c cc f1 79 b6 45 99 16 64 b3 9d 77 ef 31 7c 71 b8 45 b1 e3 0b d5 09 11 20 41 d3 a1 97 83"))
    }

    @Test func pbkdf2EightyThousandIterations() throws {
        let derived = try PBKDF2.sha256(password: Array("Password".utf8), salt: Array("NaCl".utf8),
                                        iterations: 80000, derivedKeyBytes: 64)
        #expect(derived == Self.hex("4d dc d8 f6 0b 98 be 21 83 0c ee 5e f2 27 01 f9 64 1a 44 18 d0 4c 04 14 ae ff 08 87 6b 34 ab 56"
            + " a1 d4 25 a1 22 58 33 54 9a db 84 1b 51 c9 b3 17 6a 27 2b de bb a1 d0 78 47 8f 62 b3 97 f3 3c 8d"))
    }

    @Test func pbkdf2RejectsBadParameters() {
        #expect(throws: CryptoError.self) { try PBKDF2.sha256(password: [], salt: [], iterations: 0, derivedKeyBytes: 32) }
        #expect(throws: CryptoError.self) { try PBKDF2.sha256(password: [], salt: [], iterations: 1, derivedKeyBytes: 0) }
    }

    @Test func scryptEmptyPasswordAndSalt() throws {
        let derived = try Scrypt.derive(password: [], salt: [],
                                        parameters: try ScryptParameters(costFactor: 16, blockSize: 1, parallelism: 1),
                                        derivedKeyBytes: 64)
        #expect(derived == Self.hex("77 d6 57 62 38 65 7b 20 3b 19 ca 42 c1 8a 04 97 f1 6b 48 44 e3 07 4a e8 df df fa 3f ed e2 14 42"
            + " fc d0 06 9d ed 09 48 f8 32 6a 75 3a 0f c8 1f 17 e8 d3 e0 fb 2e 0d 36 28 cf 35 e2 0c 38 d1 89 06"))
    }

    @Test func scryptPasswordNaCl() throws {
        let derived = try Scrypt.derive(password: Array("password".utf8), salt: Array("NaCl".utf8),
                                        parameters: try ScryptParameters(costFactor: 1024, blockSize: 8, parallelism: 16),
                                        derivedKeyBytes: 64)
        #expect(derived == Self.hex("fd ba be 1c 9d 34 72 00 78 56 e7 19 0d 01 e9 fe 7c 6a d7 cb c8 23 78 30 e7 73 76 63 4b 37 31 62"
            + " 2e af 30 d9 2e 22 a3 88 6f f1 09 27 9d 98 30 da c7 27 af b9 4a 83 ee 6d 83 60 cb df a2 cc 06 40"))
    }

    @Test func scryptPleaseLetMeIn() throws {
        let derived = try Scrypt.derive(password: Array("pleaseletmein".utf8), salt: Array("SodiumChloride".utf8),
                                        parameters: try ScryptParameters(costFactor: 16384, blockSize: 8, parallelism: 1),
                                        derivedKeyBytes: 64)
        #expect(derived == Self.hex("70 23 bd cb 3a fd 73 48 46 1c 06 cd 81 fd 38 eb fd a8 fb ba 90 4f 8e 3e a9 b5 43 f6 54 5d a1 f2"
            + " d5 43 29 55 61 3f 0f cf 62 d4 97 05 24 2a 9a f9 e6 1e 85 dc 0d 65 1e 40 df cf 01 7b 45 57 58 87"))
    }

    /// The fourth RFC 7914 vector (N=1048576, r=8: 1 GiB, seconds of CPU) is deliberately not
    /// run; it is also above `ScryptParameters.memoryBytesMaximum`, which this checks.
    @Test func scryptFourthVectorIsOutsideAcceptedLimits() {
        #expect(throws: CryptoError.self) { try ScryptParameters(costFactor: 1_048_576, blockSize: 8, parallelism: 1) }
    }

    @Test func scryptParameterValidation() throws {
        #expect(throws: CryptoError.self) { try ScryptParameters(costFactor: 1000, blockSize: 8, parallelism: 1) }
        #expect(throws: CryptoError.self) { try ScryptParameters(costFactor: 1, blockSize: 8, parallelism: 1) }
        #expect(throws: CryptoError.self) { try ScryptParameters(costFactor: 1024, blockSize: 0, parallelism: 1) }
        #expect(throws: CryptoError.self) { try ScryptParameters(costFactor: 1024, blockSize: 8, parallelism: 0) }
        #expect(throws: CryptoError.self) { try ScryptParameters(costFactor: 32768, blockSize: 8, parallelism: 64) }
        _ = try ScryptParameters(costFactor: 32768, blockSize: 8, parallelism: 1)
        #expect(ScryptParameters.interactive.memoryBytes == 128 * 8 * (32768 + 3))
    }
}
