import Testing
@testable import Crypto

/// FIPS 180-2 appendix B / NIST CSRC example values for SHA-256.
@Suite struct SHA256Tests {
    @Test func abc() {
        #expect(Hex.encode(SHA256.hash("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func empty() {
        #expect(Hex.encode(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func message448Bits() {
        let message = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        #expect(message.utf8.count * 8 == 448)
        #expect(Hex.encode(SHA256.hash(message)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func oneMillionA() {
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        #expect(Hex.encode(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))) == expected)
        // Incremental, in uneven pieces that straddle the 64-byte block boundary.
        let hasher = SHA256Hasher()
        var remaining = 1_000_000
        var pieceBytes = 1
        while remaining > 0 {
            let count = min(pieceBytes, remaining)
            hasher.update([UInt8](repeating: UInt8(ascii: "a"), count: count))
            remaining -= count
            pieceBytes = pieceBytes % 997 + 63
        }
        #expect(Hex.encode(hasher.finalize()) == expected)
    }

    @Test func incrementalMatchesOneShotWithEmptyUpdates() {
        let hasher = SHA256Hasher()
        hasher.update([])
        hasher.update(Array("ab".utf8))
        hasher.update([])
        hasher.update(Array("c".utf8))
        #expect(hasher.finalize() == SHA256.hash("abc"))
    }
}

/// RFC 4231 §4.2–4.8, HMAC-SHA-256 results.
@Suite struct HMACSHA256Tests {
    static func mac(_ key: [UInt8], _ message: [UInt8]) -> String {
        Hex.encode(HMACSHA256.authenticationCode(key: key, message: message))
    }

    @Test func case1() {
        #expect(Self.mac([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8))
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    }

    @Test func case2() {
        #expect(Self.mac(Array("Jefe".utf8), Array("what do ya want for nothing?".utf8))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func case3() {
        #expect(Self.mac([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50))
                == "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe")
    }

    @Test func case4() {
        #expect(Self.mac(Array(1...25), [UInt8](repeating: 0xcd, count: 50))
                == "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b")
    }

    @Test func case5TruncatedTo128Bits() {
        let full = HMACSHA256.authenticationCode(key: [UInt8](repeating: 0x0c, count: 20),
                                                 message: Array("Test With Truncation".utf8))
        #expect(Hex.encode(Array(full.prefix(16))) == "a3b6167473100ee06e0c796c2955552b")
    }

    @Test func case6() {
        #expect(Self.mac([UInt8](repeating: 0xaa, count: 131),
                         Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test func case7() {
        let message = "This is a test using a larger than block-size key and a larger than block-size data."
            + " The key needs to be hashed before being used by the HMAC algorithm."
        #expect(Self.mac([UInt8](repeating: 0xaa, count: 131), Array(message.utf8))
                == "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2")
    }

    @Test func emptyKeyAndMessageWork() {
        // Python: hmac.new(b"", b"", "sha256").hexdigest()
        #expect(Self.mac([], []) == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    @Test func isValidChecksMac() {
        let key = Array("k".utf8), message = Array("m".utf8)
        var mac = HMACSHA256.authenticationCode(key: key, message: message)
        #expect(HMACSHA256.isValid(mac, key: key, message: message))
        mac[31] ^= 1
        #expect(!HMACSHA256.isValid(mac, key: key, message: message))
        #expect(!HMACSHA256.isValid(Array(mac.prefix(16)), key: key, message: message))
    }
}

@Suite struct ConstantTimeAndRandomTests {
    @Test func constantTimeEqualsSemantics() {
        #expect(ConstantTime.equals([], []))
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([0, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(!ConstantTime.equals([], [0]))
        let big = [UInt8](repeating: 7, count: 4096)
        var other = big
        #expect(ConstantTime.equals(big, other))
        other[4095] = 8
        #expect(!ConstantTime.equals(big, other))
    }

    @Test func randomBytesHaveRequestedLengthAndDiffer() throws {
        #expect(try SecureRandom.bytes(count: 0) == [])
        let first = try SecureRandom.bytes(count: 32)
        let second = try SecureRandom.bytes(count: 32)
        #expect(first.count == 32 && second.count == 32)
        #expect(first != second)
        #expect(Set(try SecureRandom.bytes(count: 4096)).count > 200)
    }

    @Test func randomBytesRejectsBadCounts() {
        #expect(throws: CryptoError.self) { try SecureRandom.bytes(count: -1) }
        #expect(throws: CryptoError.self) { try SecureRandom.bytes(count: SecureRandom.bytesMax + 1) }
    }
}
