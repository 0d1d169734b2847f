import Kernel
import Testing
@testable import Crypto

/// AES-256-GCM: the GCM specification's known answers (test cases 13 and 14), round trips through the
/// service, and every alteration refused.
@Suite struct AESGCMTests {
    @Test func knownAnswers() throws {
        let zeroKey = [UInt8](repeating: 0, count: 32)
        let zeroNonce = [UInt8](repeating: 0, count: 12)
        let empty = try AES256GCM.seal(key: zeroKey, plaintext: [], associatedData: [], nonce: zeroNonce)
        #expect(Encoding.hex(Array(empty.dropFirst(12))) == "530f8afbc74536b9a963b4f1c4cb738b")
        let block = try AES256GCM.seal(key: zeroKey, plaintext: [UInt8](repeating: 0, count: 16), associatedData: [],
                                       nonce: zeroNonce)
        #expect(Encoding.hex(Array(block.dropFirst(12)))
                == "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919")
    }

    @Test func roundTripAndTamperingRefused() throws {
        let service = OpenSSLCryptoService()
        let key = service.randomBytes(count: 32)
        let plaintext = Array("whsec_c2VjcmV0".utf8)
        let sealed = try service.sealAES256GCM(key: key, plaintext: plaintext, associatedData: Array("wh_1".utf8))
        #expect(sealed.count == 12 + plaintext.count + 16)
        #expect(service.openAES256GCM(key: key, sealed: sealed, associatedData: Array("wh_1".utf8)) == plaintext)
        let again = try service.sealAES256GCM(key: key, plaintext: plaintext, associatedData: Array("wh_1".utf8))
        #expect(again != sealed, "a fresh nonce per seal")
        #expect(service.openAES256GCM(key: key, sealed: sealed, associatedData: Array("wh_2".utf8)) == nil)
        #expect(service.openAES256GCM(key: service.randomBytes(count: 32), sealed: sealed, associatedData: Array("wh_1".utf8)) == nil)
        for index in [0, 12, sealed.count - 1] {
            var altered = sealed
            altered[index] ^= 1
            #expect(service.openAES256GCM(key: key, sealed: altered, associatedData: Array("wh_1".utf8)) == nil)
        }
        #expect(service.openAES256GCM(key: key, sealed: Array(sealed.prefix(20)), associatedData: []) == nil)
        #expect(throws: CryptoError.self) { try service.sealAES256GCM(key: [1, 2, 3], plaintext: plaintext, associatedData: []) }
    }
}
