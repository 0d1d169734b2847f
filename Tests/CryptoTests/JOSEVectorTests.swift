import Testing
@testable import Crypto

/// RFC 7515 appendix A.2 (RS256) and A.3 (ES256).
@Suite struct RFC7515VectorTests {
    /// ASCII(BASE64URL(UTF8(JWS Protected Header)) || '.' || BASE64URL(JWS Payload)) for A.2.
    static let rs256SigningInput = "eyJhbGciOiJSUzI1NiJ9"
        + ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    static let rs256Signature = "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7"
        + "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4"
        + "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K"
        + "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv"
        + "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB"
        + "p0igcN_IoypGlUPQGe77Rw"
    static let rsaModulus = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx"
        + "HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs"
        + "D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH"
        + "SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV"
        + "MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8"
        + "NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"

    /// A.3 uses the same payload with header {"alg":"ES256"}.
    static let es256SigningInput = "eyJhbGciOiJFUzI1NiJ9"
        + ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    static let es256Signature = "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
    static let p256X = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
    static let p256Y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"

    @Test(arguments: [Fixtures.rfc7515RSAPrivatePKCS8, Fixtures.rfc7515RSAPrivatePKCS1])
    func rs256SignatureMatchesPublishedBytes(privatePEM: String) throws {
        let key = try RSAPrivateKey(pem: privatePEM)
        let signature = try key.signRS256(Array(Self.rs256SigningInput.utf8))
        #expect(Base64URL.encode(signature) == Self.rs256Signature)
    }

    @Test func rs256PublishedSignatureVerifies() throws {
        let key = try RSAPublicKey(pem: Fixtures.rfc7515RSAPublicSPKI)
        let signature = try #require(Base64URL.decode(Self.rs256Signature))
        #expect(key.isValidRS256Signature(signature, for: Array(Self.rs256SigningInput.utf8)))
        #expect(!key.isValidRS256Signature(signature, for: Array((Self.rs256SigningInput + "x").utf8)))
    }

    @Test func rsaComponentsMatchPublishedJWK() throws {
        let components = try RSAPublicKey(pem: Fixtures.rfc7515RSAPublicSPKI).components()
        #expect(Base64URL.encode(components.modulus) == Self.rsaModulus)
        #expect(Base64URL.encode(components.exponent) == "AQAB")
        let fromPrivate = try RSAPrivateKey(pem: Fixtures.rfc7515RSAPrivatePKCS1).publicKey.components()
        #expect(fromPrivate.modulus == components.modulus)
    }

    @Test func es256PublishedSignatureVerifies() throws {
        let key = try P256PublicKey(pem: Fixtures.rfc7515P256PublicSPKI)
        let signature = try #require(Base64URL.decode(Self.es256Signature))
        #expect(signature.count == 64)
        #expect(key.isValidES256Signature(signature, for: Array(Self.es256SigningInput.utf8)))
        #expect(!key.isValidES256Signature(signature, for: Array(Self.rs256SigningInput.utf8)))
    }

    @Test(arguments: [Fixtures.rfc7515P256PrivatePKCS8, Fixtures.rfc7515P256PrivateSEC1])
    func p256CoordinatesMatchPublishedJWK(privatePEM: String) throws {
        let coordinates = try P256PrivateKey(pem: privatePEM).publicKey.coordinates()
        #expect(Base64URL.encode(coordinates.x) == Self.p256X)
        #expect(Base64URL.encode(coordinates.y) == Self.p256Y)
    }

    @Test func es256SignWithPublishedKeyVerifies() throws {
        let key = try P256PrivateKey(pem: Fixtures.rfc7515P256PrivatePKCS8)
        let message = Array(Self.es256SigningInput.utf8)
        let signature = try key.signES256(message)
        #expect(signature.count == 64)
        #expect(try P256PublicKey(pem: Fixtures.rfc7515P256PublicSPKI).isValidES256Signature(signature, for: message))
    }
}
