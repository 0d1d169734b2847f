import Crypto
import Foundation
import Kernel
import Postgres
import Testing
import AtlasTestSupport
@testable import Auth

/// Our tokens and JWKS, checked by an independent implementation: PyJWT (with `cryptography`).
@Suite(.serialized) struct OAuthInteropTests {
    static let script = """
        import json, sys, jwt
        jwks = json.load(open(sys.argv[1]))
        token = open(sys.argv[2]).read().strip()
        kid = jwt.get_unverified_header(token)["kid"]
        key = jwt.PyJWKSet.from_dict(jwks)[kid]
        claims = jwt.decode(token, key.key, algorithms=["RS256"], audience="atlas-commerce",
                            issuer="https://auth.atlas.local", options={"require": ["exp", "iat", "nbf", "jti"]})
        print(json.dumps(claims, sort_keys=True))
        """

    static func pythonHasPyJWT() -> Bool {
        (try? ToolProcess.runBlockingTheCallingThread(["python3", "-c", "import jwt, cryptography"]).status) == 0
    }

    static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let outcome = try await ToolProcess.run(["python3"] + arguments)
        return (outcome.status, outcome.output)
    }

    @Test(.enabled(if: pythonHasPyJWT(), "needs python3 with pyjwt and cryptography (pip install pyjwt cryptography)"))
    func pyJWTVerifiesOurTokensAgainstOurJWKS() async throws {
        let fixture = try await OAuthFixture.make()
        let token = try await fixture.token(scope: "transactions:read terminal:read")
        // A retired key must still verify through the JWKS, so rotate once and use a token of each key.
        _ = try await fixture.auth.rotateOAuthSigningKey()
        let newer = try await fixture.token()
        let jwks = await fixture.client.send(.get, "/.well-known/jwks.json")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atlas-oauth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let jwksPath = directory.appendingPathComponent("jwks.json").path
        let scriptPath = directory.appendingPathComponent("verify.py").path
        try Data(jwks.body).write(to: URL(fileURLWithPath: jwksPath))
        try Data(Self.script.utf8).write(to: URL(fileURLWithPath: scriptPath))
        for (index, candidate) in [token, newer].enumerated() {
            let tokenPath = directory.appendingPathComponent("token\(index).txt").path
            try Data(candidate.utf8).write(to: URL(fileURLWithPath: tokenPath))
            let result = try await Self.run([scriptPath, jwksPath, tokenPath])
            #expect(result.status == 0, "\(result.output)")
            let claims = try? JSONDecoder().decode(JSONValue.self, from: Data(result.output.utf8))
            #expect(claims?["sub"] == .string(fixture.clientId))
            #expect(claims?["terminal_id"] == .string(OAuthFixture.terminalId))
        }
        // And PyJWT refuses a tampered one, so the check above is a real check.
        var tampered = Array(token)
        tampered[tampered.count / 2 + 40] = tampered[tampered.count / 2 + 40] == "A" ? "B" : "A"
        let tamperedPath = directory.appendingPathComponent("tampered.txt").path
        try Data(String(tampered).utf8).write(to: URL(fileURLWithPath: tamperedPath))
        #expect(try await Self.run([scriptPath, jwksPath, tamperedPath]).status != 0)
    }
}
