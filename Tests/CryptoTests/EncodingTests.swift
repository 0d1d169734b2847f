import Kernel
import Testing
@testable import Crypto

@Suite struct Base64URLTests {
    /// RFC 4648 §10 vectors, translated to the url-safe alphabet without padding.
    @Test func rfc4648Vectors() {
        let vectors = ["": "", "f": "Zg", "fo": "Zm8", "foo": "Zm9v", "foob": "Zm9vYg", "fooba": "Zm9vYmE", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
            #expect(Base64URL.decode(encoded) == Array(plain.utf8))
        }
    }

    /// Every length 0...10, with bytes that exercise `-` and `_` (0xfb, 0xff).
    @Test(arguments: 0...10) func roundTripAllLengths(length: Int) {
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: 0xfb &+ $0 &* 37) }
        let encoded = Base64URL.encode(bytes)
        #expect(encoded.utf8.count == (length * 4 + 2) / 3)
        #expect(!encoded.contains("=") && !encoded.contains("+") && !encoded.contains("/"))
        #expect(Base64URL.decode(encoded) == bytes)
        #expect(Encoding.base64URLDecode(encoded) == bytes)
    }

    @Test func urlSafeAlphabet() {
        #expect(Base64URL.encode([0xfb, 0xff]) == "-_8")
        #expect(Base64URL.decode("-_8") == [0xfb, 0xff])
    }

    @Test func rejectsInvalidCharactersPaddingAndLengths() {
        for bad in ["Zm9v!", "Zm 9v", "Zm9v\n", "+/8", "Zg==", "Zm8=", "Z", "Zm9vY", "é", "Zm9v.Zg"] {
            #expect(Base64URL.decode(bad) == nil, "accepted \(bad)")
        }
    }

    @Test func rejectsNonCanonicalTrailingBits() {
        #expect(Base64URL.decode("Zg") == [0x66])
        #expect(Base64URL.decode("Zh") == nil)
        #expect(Base64URL.decode("Zm8") == [0x66, 0x6f])
        #expect(Base64URL.decode("Zm9") == nil)
    }

    /// Kernel's decoder (used by feature modules for JWTs) is as strict as `Base64URL.decode`.
    @Test func kernelDecoderIsStrictLikeCrypto() {
        for text in ["+/8=", "_-8", "Zm9v!", "Z", "Zh", "Zm8", "Zm9", "Zm9v", "", "AA==", "AB"] {
            #expect(Encoding.base64URLDecode(text) == Base64URL.decode(text), "\(text)")
        }
        #expect(Encoding.hexDecode("+1") == nil)
        #expect(Encoding.hexDecode("0A") == Hex.decode("0A"))
    }
}

@Suite struct HexTests {
    @Test func roundTrip() {
        let bytes: [UInt8] = [0x00, 0x01, 0x7f, 0x80, 0xab, 0xff]
        #expect(Hex.encode(bytes) == "00017f80abff")
        #expect(Hex.decode("00017f80abff") == bytes)
        #expect(Hex.decode("00017F80ABFF") == bytes)
        #expect(Hex.decode("") == [])
    }

    @Test func rejectsMalformed() {
        for bad in ["0", "0g", "+f", "-0", " 0", "0x00", "é0"] {
            #expect(Hex.decode(bad) == nil, "accepted \(bad)")
        }
    }
}
