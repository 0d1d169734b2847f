import Foundation
import Testing
@testable import Crypto

/// Cross-checks against independent implementations: the `openssl` CLI and Python
/// `cryptography`. Skipped when the tool is not installed.
@Suite struct InteropTests {
    static func executable(_ name: String) -> String? {
        for directory in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
            return "\(directory)/\(name)"
        }
        return nil
    }

    static let hasOpenSSL = executable("openssl") != nil
    static let hasPythonCryptography: Bool = {
        guard executable("python3") != nil else { return false }
        return (try? run("python3", ["-c", "import cryptography"]).status) == 0
    }()

    struct Outcome { let status: Int32; let output: String }

    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable(tool) ?? "/usr/bin/\(tool)")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// A fresh temporary directory, removed by the caller's defer.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("atlas-crypto-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func write(_ bytes: [UInt8], _ url: URL) throws { try Data(bytes).write(to: url) }

    @Test(.enabled(if: hasOpenSSL)) func opensslVerifiesOurRS256() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let message = Array("interop message for RS256".utf8)
        try Self.write(Array(try sharedRSAKey.publicKey.spkiPEM().utf8), directory.appendingPathComponent("pub.pem"))
        try Self.write(message, directory.appendingPathComponent("msg"))
        try Self.write(try sharedRSAKey.signRS256(message), directory.appendingPathComponent("sig"))
        let outcome = try Self.run("openssl", ["dgst", "-sha256", "-verify", directory.appendingPathComponent("pub.pem").path,
                                               "-signature", directory.appendingPathComponent("sig").path,
                                               directory.appendingPathComponent("msg").path])
        #expect(outcome.status == 0, "\(outcome.output)")
        #expect(outcome.output.contains("Verified OK"))
    }

    @Test(.enabled(if: hasOpenSSL)) func weVerifyOpensslRS256AndES256() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let message = Array("signed by the openssl CLI".utf8)
        try Self.write(message, directory.appendingPathComponent("msg"))
        for (name, pem) in [("rsa", Fixtures.rfc7515RSAPrivatePKCS8), ("ec", Fixtures.rfc7515P256PrivatePKCS8)] {
            try Self.write(Array(pem.utf8), directory.appendingPathComponent("\(name).pem"))
            let outcome = try Self.run("openssl", ["dgst", "-sha256", "-sign", directory.appendingPathComponent("\(name).pem").path,
                                                   "-out", directory.appendingPathComponent("\(name).sig").path,
                                                   directory.appendingPathComponent("msg").path])
            #expect(outcome.status == 0, "\(outcome.output)")
        }
        let rsaSignature = [UInt8](try Data(contentsOf: directory.appendingPathComponent("rsa.sig")))
        #expect(try RSAPublicKey(pem: Fixtures.rfc7515RSAPublicSPKI).isValidRS256Signature(rsaSignature, for: message))
        #expect(rsaSignature == (try RSAPrivateKey(pem: Fixtures.rfc7515RSAPrivatePKCS8).signRS256(message)))
        let derSignature = [UInt8](try Data(contentsOf: directory.appendingPathComponent("ec.sig")))
        let raw = try ECDSASignature.raw(fromDER: derSignature)
        #expect(try P256PublicKey(pem: Fixtures.rfc7515P256PublicSPKI).isValidES256Signature(raw, for: message))
    }

    @Test(.enabled(if: hasOpenSSL)) func opensslVerifiesOurES256AfterDERConversion() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = try P256PrivateKey.generate()
        let message = Array("interop message for ES256".utf8)
        try Self.write(Array(try key.publicKey.spkiPEM().utf8), directory.appendingPathComponent("pub.pem"))
        try Self.write(message, directory.appendingPathComponent("msg"))
        try Self.write(try ECDSASignature.der(fromRaw: try key.signES256(message)), directory.appendingPathComponent("sig"))
        let outcome = try Self.run("openssl", ["dgst", "-sha256", "-verify", directory.appendingPathComponent("pub.pem").path,
                                               "-signature", directory.appendingPathComponent("sig").path,
                                               directory.appendingPathComponent("msg").path])
        #expect(outcome.status == 0, "\(outcome.output)")
    }

    /// Python `cryptography` verifies our RS256 and raw ES256 signatures and reads our PEMs.
    @Test(.enabled(if: hasPythonCryptography)) func pythonCryptographyVerifiesOurSignatures() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ecKey = try P256PrivateKey.generate()
        let message = Array("python interop ✓".utf8)
        try Self.write(message, directory.appendingPathComponent("msg"))
        try Self.write(Array(try sharedRSAKey.publicKey.spkiPEM().utf8), directory.appendingPathComponent("rsa.pem"))
        try Self.write(try sharedRSAKey.signRS256(message), directory.appendingPathComponent("rsa.sig"))
        try Self.write(Array(try ecKey.publicKey.spkiPEM().utf8), directory.appendingPathComponent("ec.pem"))
        try Self.write(try ecKey.signES256(message), directory.appendingPathComponent("ec.sig"))
        let script = """
        import sys, pathlib
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, ec, utils
        d = pathlib.Path(sys.argv[1]); msg = (d / "msg").read_bytes()
        rsa = serialization.load_pem_public_key((d / "rsa.pem").read_bytes())
        rsa.verify((d / "rsa.sig").read_bytes(), msg, padding.PKCS1v15(), hashes.SHA256())
        raw = (d / "ec.sig").read_bytes(); assert len(raw) == 64
        der = utils.encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        serialization.load_pem_public_key((d / "ec.pem").read_bytes()).verify(der, msg, ec.ECDSA(hashes.SHA256()))
        print("python verified")
        """
        let outcome = try Self.run("python3", ["-c", script, directory.path])
        #expect(outcome.status == 0, "\(outcome.output)")
        #expect(outcome.output.contains("python verified"))
    }

    /// Python's hashlib.scrypt (an independent OpenSSL binding) derives the same password hash.
    @Test(.enabled(if: hasPythonCryptography)) func pythonReproducesStoredPasswordHash() throws {
        let stored = try PasswordHasherTests.cheap.hash("interop pw")
        let script = """
        import sys, base64, hashlib
        _, params, salt, digest = sys.argv[1].split("$")
        p = dict(kv.split("=") for kv in params.split(","))
        b = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
        out = hashlib.scrypt(b"interop pw", salt=b(salt), n=int(p["N"]), r=int(p["r"]), p=int(p["p"]), dklen=len(b(digest)))
        print("match" if out == b(digest) else "mismatch")
        """
        let outcome = try Self.run("python3", ["-c", script, stored])
        #expect(outcome.output.contains("match") && !outcome.output.contains("mismatch"), "\(outcome.output)")
    }
}
