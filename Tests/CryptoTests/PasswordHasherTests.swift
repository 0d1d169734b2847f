import Foundation
import Testing
@testable import Crypto

@Suite struct PasswordHasherTests {
    /// Cheap parameters for behaviour tests; the real cost is exercised in `interactiveCost`.
    static let cheap = ScryptPasswordHasher(parameters: try! ScryptParameters(costFactor: 1024, blockSize: 8, parallelism: 1))

    @Test func formatIsSelfDescribing() throws {
        let stored = try Self.cheap.hash("correct horse battery staple")
        let fields = stored.split(separator: "$", omittingEmptySubsequences: false)
        #expect(fields.count == 4)
        #expect(fields[0] == "scrypt")
        #expect(fields[1] == "N=1024,r=8,p=1")
        #expect(Base64URL.decode(String(fields[2]))?.count == 16)
        #expect(Base64URL.decode(String(fields[3]))?.count == 32)
    }

    @Test func verifiesCorrectAndRejectsWrongPasswords() throws {
        let stored = try Self.cheap.hash("hunter2")
        #expect(Self.cheap.verify("hunter2", against: stored))
        #expect(!Self.cheap.verify("hunter3", against: stored))
        #expect(!Self.cheap.verify("Hunter2", against: stored))
        #expect(!Self.cheap.verify("", against: stored))
    }

    @Test func saltsAreFresh() throws {
        #expect(try Self.cheap.hash("same") != Self.cheap.hash("same"))
    }

    @Test func unicodeAndEmptyPasswords() throws {
        let stored = try Self.cheap.hash("pässwörd 🔑")
        #expect(Self.cheap.verify("pässwörd 🔑", against: stored))
        let empty = try Self.cheap.hash("")
        #expect(Self.cheap.verify("", against: empty))
        #expect(!Self.cheap.verify(" ", against: empty))
    }

    @Test func overlongPasswordsAreRefused() throws {
        let long = String(repeating: "x", count: ScryptPasswordHasher.passwordBytesMaximum + 1)
        #expect(throws: CryptoError.self) { try Self.cheap.hash(long) }
        let stored = try Self.cheap.hash("x")
        #expect(!Self.cheap.verify(long, against: stored))
    }

    /// A hash made with other (valid) parameters verifies: parameters come from the string.
    @Test func verifyUsesStoredParameters() throws {
        let other = ScryptPasswordHasher(parameters: try ScryptParameters(costFactor: 2048, blockSize: 4, parallelism: 2))
        let stored = try other.hash("pw")
        #expect(Self.cheap.verify("pw", against: stored))
        #expect(Self.cheap.needsRehash(stored))
        #expect(!Self.cheap.needsRehash(try Self.cheap.hash("pw")))
    }

    @Test func malformedStringsAreRejectedWithoutCrashing() throws {
        let good = try Self.cheap.hash("pw")
        let fields = good.split(separator: "$").map(String.init)
        let salt = fields[2], hash = fields[3]
        let malformed = [
            "", "$", "$$$", "scrypt", "scrypt$", "scrypt$$$", good + "$", "$" + good, good + "=",
            "bcrypt$N=1024,r=8,p=1$\(salt)$\(hash)",
            "SCRYPT$N=1024,r=8,p=1$\(salt)$\(hash)",
            "scrypt$N=1024,r=8$\(salt)$\(hash)",
            "scrypt$N=1024,r=8,p=1,x=1$\(salt)$\(hash)",
            "scrypt$r=8,N=1024,p=1$\(salt)$\(hash)",
            "scrypt$N=01024,r=8,p=1$\(salt)$\(hash)",
            "scrypt$N=+1024,r=8,p=1$\(salt)$\(hash)",
            "scrypt$N=1000,r=8,p=1$\(salt)$\(hash)",
            "scrypt$N=0,r=8,p=1$\(salt)$\(hash)",
            "scrypt$N=1024,r=0,p=1$\(salt)$\(hash)",
            "scrypt$N=99999999999999999999,r=8,p=1$\(salt)$\(hash)",
            "scrypt$N=1048576,r=8,p=1$\(salt)$\(hash)",
            "scrypt$N=1024,r=8,p=1$$\(hash)",
            "scrypt$N=1024,r=8,p=1$\(salt)$",
            "scrypt$N=1024,r=8,p=1$\(salt)!$\(hash)",
            "scrypt$N=1024,r=8,p=1$\(salt)$\(hash)==",
            "scrypt$N=1024,r=8,p=1$AAAA$\(hash)",
            "scrypt$N=1024,r=8,p=1$\(salt)$AAAA",
            "scrypt$N=1024,r=8,p=1$\(salt)$\(String(repeating: "A", count: 600))",
            "scrypt$N=１０２４,r=8,p=1$\(salt)$\(hash)",
        ]
        for text in malformed {
            #expect(!Self.cheap.verify("pw", against: text), "accepted \(text)")
            #expect(Self.cheap.needsRehash(text))
        }
        #expect(Self.cheap.verify("pw", against: good))
    }

    @Test func tamperedHashIsRejected() throws {
        let good = try Self.cheap.hash("pw")
        var fields = good.split(separator: "$").map(String.init)
        var hash = Base64URL.decode(fields[3])!
        hash[0] ^= 1
        fields[3] = Base64URL.encode(hash)
        #expect(!Self.cheap.verify("pw", against: fields.joined(separator: "$")))
    }

    /// Measures the production cost (N=32768, r=8, p=1). Printed for docs/crypto.md; the bound
    /// is loose because the CI machine is shared.
    @Test func interactiveCost() throws {
        let hasher = ScryptPasswordHasher()
        #expect(hasher.parameters == .interactive)
        var stored = ""
        var samplesMilliseconds: [Double] = []
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            stored = try hasher.hash("correct horse battery staple")
            samplesMilliseconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000)
        }
        #expect(stored.hasPrefix("scrypt$N=32768,r=8,p=1$"))
        #expect(hasher.verify("correct horse battery staple", against: stored))
        let best = samplesMilliseconds.min()!
        print("scrypt N=32768,r=8,p=1 hash ms: \(samplesMilliseconds.map { Int($0) })")
        #expect(best > 10 && best < 2000)
    }
}
