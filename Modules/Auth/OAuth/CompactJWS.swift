import Foundation
import Kernel

/// A JWS in compact serialization (RFC 7515 §7.1), split and decoded but NOT yet verified.
struct CompactJWS: Sendable {
    /// Longest token text we parse; ours are about 900 bytes, so anything far larger is garbage.
    static let tokenBytesMax = 8 * 1024

    let header: [String: JSONValue]
    let claims: [String: JSONValue]
    /// `base64url(header) "." base64url(payload)`, the bytes the signature covers.
    let signingInput: [UInt8]
    let signature: [UInt8]

    /// nil when the text is not three strict base64url segments whose first two are JSON objects.
    static func parse(_ token: String) -> CompactJWS? {
        guard token.utf8.count <= tokenBytesMax else { return nil }
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 3,
              let headerBytes = Encoding.base64URLDecode(String(segments[0])),
              let payloadBytes = Encoding.base64URLDecode(String(segments[1])),
              let signature = Encoding.base64URLDecode(String(segments[2])),
              case .object(let header)? = decodeJSON(headerBytes),
              case .object(let claims)? = decodeJSON(payloadBytes) else { return nil }
        let signingInput = Array(segments[0].utf8) + [UInt8(ascii: ".")] + Array(segments[1].utf8)
        return CompactJWS(header: header, claims: claims, signingInput: signingInput, signature: signature)
    }

    /// Serializes header and claims (sorted keys, compact) and appends the signature over them.
    static func sign(header: JSONValue, claims: JSONValue, with signer: ([UInt8]) throws -> [UInt8]) rethrows -> String {
        let signingInput = Encoding.base64URL(header.serialized()) + "." + Encoding.base64URL(claims.serialized())
        let signature = try signer(Array(signingInput.utf8))
        return signingInput + "." + Encoding.base64URL(signature)
    }

    private static func decodeJSON(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }
}
